// The examiner's own view of each image and marks on it, beside compare.js (zoom, pan, modes).
// View adjustments per pane (brightness, contrast, gamma, invert, mirror, rotate) are live and
// never change an image; R resets both. Annotations (a point, a line or an outline with a note,
// tied to a FISWG feature where chosen) are drawn on the images. Both are written as JSON into
// the checklist's and the quick exclusion's hidden fields, so what was applied and marked is
// stored with the examination when it is saved or concluded (the server checks every value).
// Served by the app; no inline script (CSP).
(function () {
  "use strict";
  var root = document.getElementById("compare");
  if (!root) { return; }
  var PANES = ["probe", "candidate"];
  var NEUTRAL = { brightness: 1, contrast: 1, gamma: 1, rotate: 0, invert: false, mirror: false };
  var KIND_POINTS = { point: 1, line: 2, outline: 40 };
  var ns = "http://www.w3.org/2000/svg";
  var editable = !!document.getElementById("checklist-form");

  function parsed(name) {
    var field = document.querySelector("#checklist-form input[name=" + name + "]");
    var raw = (field && field.value) || root.getAttribute("data-" + name.replace("_", "-")) || "";
    try { return raw ? JSON.parse(raw) : null; } catch (e) { return null; }
  }
  var adjust = {};
  var saved = parsed("view_adjustments") || {};
  PANES.forEach(function (p) { adjust[p] = Object.assign({}, NEUTRAL, saved[p] || {}); });
  var notes = parsed("annotations") || [];
  var drawing = null;  // {pane, kind, points}
  var marking = false;

  function write() {
    var views = JSON.stringify(adjust), marks = JSON.stringify(notes);
    document.querySelectorAll("input[name=view_adjustments]").forEach(function (f) { f.value = views; });
    document.querySelectorAll("input[name=annotations]").forEach(function (f) { f.value = marks; });
  }

  // --- view adjustments -----------------------------------------------------------------
  function applyAdjustments() {
    PANES.forEach(function (pane) {
      var a = adjust[pane];
      var frame = root.querySelector(".pane-" + pane + " .frame");
      var imgs = frame.querySelectorAll("img");
      var exponent = String(1 / a.gamma);
      document.querySelectorAll("#gamma-" + pane + " feFuncR, #gamma-" + pane + " feFuncG, #gamma-" + pane + " feFuncB")
        .forEach(function (f) { f.setAttribute("exponent", exponent); });
      var filter = "url(#gamma-" + pane + ") brightness(" + a.brightness + ") contrast(" + a.contrast + ")" +
        (a.invert ? " invert(1)" : "");
      imgs.forEach(function (img) { img.style.filter = filter; });
      frame.style.transform = "rotate(" + a.rotate + "deg)" + (a.mirror ? " scaleX(-1)" : "");
      document.querySelectorAll("[data-adjust-pane=" + pane + "]").forEach(function (input) {
        var name = input.getAttribute("data-adjust");
        if (input.type === "checkbox") { input.checked = !!a[name]; } else { input.value = String(a[name]); }
        var shown = document.getElementById(input.id + "-value");
        if (shown) { shown.textContent = Number(a[name]).toFixed(name === "rotate" ? 1 : 2) + (name === "rotate" ? "°" : ""); }
      });
    });
    write();
  }
  document.querySelectorAll("[data-adjust]").forEach(function (input) {
    input.addEventListener("input", function () {
      var pane = input.getAttribute("data-adjust-pane"), name = input.getAttribute("data-adjust");
      adjust[pane][name] = input.type === "checkbox" ? input.checked : Number(input.value);
      applyAdjustments();
    });
  });
  function resetAdjustments() {
    PANES.forEach(function (p) { adjust[p] = Object.assign({}, NEUTRAL); });
    applyAdjustments();
  }
  var resetButton = document.getElementById("reset-adjustments");
  if (resetButton) { resetButton.addEventListener("click", resetAdjustments); }

  // --- annotations ----------------------------------------------------------------------
  var kindField = document.getElementById("annotation-kind");
  var featureField = document.getElementById("annotation-feature");
  var noteField = document.getElementById("annotation-note");
  var markButton = document.getElementById("annotate");
  var finishButton = document.getElementById("finish-annotation");
  var list = document.getElementById("annotation-list");

  function svgOf(pane) { return root.querySelector(".pane-" + pane + " svg.notes"); }
  function shape(item, number, pending) {
    var group = document.createElementNS(ns, "g");
    group.setAttribute("class", "note-" + item.pane + (pending ? " pending" : ""));
    var pts = item.points.map(function (p) { return (p[0] * 1000) + "," + (p[1] * 1000); }).join(" ");
    var el;
    if (item.kind === "point" || item.points.length === 1) {
      el = document.createElementNS(ns, "circle");
      el.setAttribute("cx", item.points[0][0] * 1000);
      el.setAttribute("cy", item.points[0][1] * 1000);
      el.setAttribute("r", 14);
    } else {
      el = document.createElementNS(ns, item.kind === "outline" && !pending ? "polygon" : "polyline");
      el.setAttribute("points", pts);
    }
    group.appendChild(el);
    if (number) {
      var label = document.createElementNS(ns, "text");
      label.setAttribute("x", item.points[0][0] * 1000 + 18);
      label.setAttribute("y", item.points[0][1] * 1000 - 12);
      label.textContent = String(number);
      group.appendChild(label);
    }
    return group;
  }
  function draw() {
    PANES.forEach(function (pane) { svgOf(pane).replaceChildren(); });
    notes.forEach(function (item, i) { svgOf(item.pane).appendChild(shape(item, i + 1, false)); });
    if (drawing && drawing.points.length) { svgOf(drawing.pane).appendChild(shape(drawing, 0, true)); }
    if (list) {
      list.replaceChildren();
      notes.forEach(function (item, i) {
        var li = document.createElement("li");
        li.textContent = (i + 1) + ". " + item.pane + ", " + item.kind + (item.feature ? " · " + item.feature : "") +
          (item.note ? ": " + item.note : "");
        if (editable) {
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "link-button";
          remove.textContent = "Remove";
          remove.setAttribute("aria-label", "Remove annotation " + (i + 1));
          remove.addEventListener("click", function () { notes.splice(i, 1); draw(); write(); });
          li.appendChild(document.createTextNode(" "));
          li.appendChild(remove);
        }
        list.appendChild(li);
      });
    }
    write();
  }
  function finish() {
    if (!drawing) { return; }
    var least = drawing.kind === "outline" ? 3 : KIND_POINTS[drawing.kind];
    if (drawing.points.length >= least) {
      notes.push({ pane: drawing.pane, kind: drawing.kind, points: drawing.points,
        feature: featureField.value, note: noteField.value.trim() });
      noteField.value = "";
    }
    drawing = null;
    draw();
  }
  function setMarking(on) {
    marking = on;
    if (!on) { finish(); }
    root.classList.toggle("marking", on);
    if (markButton) { markButton.setAttribute("aria-pressed", String(on)); }
  }
  if (markButton) { markButton.addEventListener("click", function () { setMarking(!marking); }); }
  if (finishButton) { finishButton.addEventListener("click", finish); }

  // A click (not a drag) on an image while marking adds a point where it landed on the image,
  // whatever the zoom, pan, rotation or mirroring.
  PANES.forEach(function (pane) {
    var viewport = root.querySelector(".pane-" + pane + " .viewport");
    var down = null;
    viewport.addEventListener("pointerdown", function (event) { down = { x: event.clientX, y: event.clientY }; });
    viewport.addEventListener("click", function (event) {
      if (!marking || !down || Math.hypot(event.clientX - down.x, event.clientY - down.y) > 4) { return; }
      var svg = svgOf(pane);
      var point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
      var x = point.x / 1000, y = point.y / 1000;
      if (x < 0 || x > 1 || y < 0 || y > 1) { return; }
      if (drawing && drawing.pane !== pane) { finish(); }
      if (!drawing) { drawing = { pane: pane, kind: kindField.value, points: [] }; }
      drawing.points.push([Math.round(x * 10000) / 10000, Math.round(y * 10000) / 10000]);
      if (drawing.points.length >= KIND_POINTS[drawing.kind]) { finish(); } else { draw(); }
    });
  });

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    if (key === "r") { event.preventDefault(); resetAdjustments(); }
    else if (key === "o" && original) { event.preventDefault(); original.open = !original.open; }
    else if (key === "m" && markButton) { event.preventDefault(); setMarking(!marking); }
    else if (event.key === "Enter" && marking) { event.preventDefault(); finish(); }
    else if (event.key === "Escape" && drawing) { drawing = null; draw(); }
  });

  // The untouched original, fetched (an audited read) only when it is opened.
  var original = document.getElementById("original-beside");
  if (original) {
    original.addEventListener("toggle", function () {
      var img = original.querySelector("img");
      if (original.open && !img.getAttribute("src")) { img.setAttribute("src", img.getAttribute("data-src")); }
    });
  }

  // The checklist by keyboard, one key per mark: on a feature's row, S, D or V marks it
  // similar, dissimilar or not visible and moves to the next feature (C goes to the first).
  var MARK_KEYS = { s: "similar", d: "dissimilar", v: "not_visible" };
  var checklist = document.querySelector("#checklist-form table.checklist");
  if (checklist) {
    checklist.addEventListener("keydown", function (event) {
      var target = event.target;
      var value = MARK_KEYS[event.key.toLowerCase()];
      if (!value || event.ctrlKey || event.metaKey || event.altKey || target.type !== "radio") { return; }
      var row = target.closest("tr");
      var choice = row.querySelector("input[type=radio][value=" + value + "]");
      if (!choice) { return; }
      event.preventDefault();
      choice.checked = true;
      var next = row.nextElementSibling;
      var following = next ? next.querySelector("input[type=radio]") : document.querySelector("#checklist-form input[name=conclusion]");
      if (following) { following.focus(); }
    });
  }

  applyAdjustments();
  draw();
})();
