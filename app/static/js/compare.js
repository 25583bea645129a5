// The comparison workstation: probe and candidate in synced panes (locked, the default) or each
// zoomed and panned alone (unlocked: U), side by side, overlay,
// curtain, flicker), wheel zoom to the cursor, drag-pan with mouse, touch or pen (pinch to
// zoom), keyboard pan and zoom, landmarks, and shortcuts. The view (zoom, pan, mode) is kept
// per search in sessionStorage, so the probe stays as it is from candidate to candidate.
// Served by the app; no inline script (CSP).
(function () {
  "use strict";
  var root = document.getElementById("compare");
  if (!root) { return; }
  var MIN_SCALE = 1, MAX_SCALE = 10, KEY_PAN = 0.05, BEYOND_ONE_TO_ONE = 4;
  var chipSize = Number(root.getAttribute("data-chip-size")) || 512;
  // The evidence's own pixels: each pane draws its full-resolution source through the chip's
  // transform (eyes level, the same distance apart), from the first zoom step to 1:1 of the
  // source and beyond, pixelated past 1:1 so the pixels stay visible. The chip shows until the
  // source has arrived.
  var sources = Array.prototype.map.call(root.querySelectorAll("img.source"), function (img) {
    var matrix = (img.getAttribute("data-matrix") || "1,0,0,1,0,0").split(",").map(Number);
    img.addEventListener("load", function () { img.closest(".pane").classList.add("has-source"); render(); });
    img.setAttribute("src", img.getAttribute("data-src"));
    return { img: img, matrix: matrix, k: Number(img.getAttribute("data-k")) || 1 };
  });
  var MODES = { side: "Side by side", overlay: "Overlay", curtain: "Curtain", flicker: "Flicker" };
  var storageKey = "leaddesk.compare." + root.getAttribute("data-search");
  var viewports = root.querySelectorAll(".viewport");
  var stages = root.querySelectorAll(".stage");
  var candidateViewport = root.querySelector(".pane-candidate .viewport");
  var mix = document.getElementById("mix");
  var indicator = document.getElementById("mode-indicator");
  var landmarksButton = document.getElementById("show-landmarks");
  // Pan is kept as a fraction of the pane's width so that it survives a resize or a new page.
  // ``view`` holds the probe's zoom and pan (and both panes' while locked); ``view.alone`` the
  // candidate's while unlocked.
  var view = { scale: 1, x: 0, y: 0, mode: "side", mix: 50, landmarks: false, locked: true, alone: null };
  var lockButton = document.getElementById("lock-panes");
  var flickerTimer = null;

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(storageKey) || "null");
      if (saved && typeof saved.scale === "number") { view = Object.assign(view, saved); }
      if (!view.locked && !(view.alone && typeof view.alone.scale === "number")) { view.locked = true; view.alone = null; }
    } catch (e) { /* storage unavailable: start fresh */ }
  }
  function save() {
    try { window.sessionStorage.setItem(storageKey, JSON.stringify(view)); } catch (e) { /* ignore */ }
  }
  function width() { return viewports[0].clientWidth || 1; }
  // Deep enough to see each source pixel as BEYOND_ONE_TO_ONE screen pixels, in the finer pane.
  function maxScale() {
    var finest = Math.min.apply(null, sources.map(function (s) { return s.k; }).concat([Infinity]));
    if (!isFinite(finest)) { return MAX_SCALE; }
    return Math.max(MAX_SCALE, BEYOND_ONE_TO_ONE * chipSize / (width() * finest));
  }
  function clamp(st) {
    st.scale = Math.min(maxScale(), Math.max(MIN_SCALE, st.scale));
    var least = 1 - st.scale;  // the image always covers the pane
    st.x = Math.min(0, Math.max(least, st.x));
    st.y = Math.min(0, Math.max(least, st.y));
  }
  // The zoom and pan a pane follows: the shared one, or the candidate's own while unlocked.
  function stateOf(viewport) {
    return !view.locked && view.alone && viewport === candidateViewport ? view.alone : view;
  }
  function states() { return !view.locked && view.alone ? [view, view.alone] : [view]; }
  function setLocked(locked) {
    view.locked = locked;
    view.alone = locked ? null : { scale: view.scale, x: view.x, y: view.y };
    render();
  }

  function render() {
    states().forEach(clamp);
    // the mode first: it sets the panes' size, which the pan (a fraction of it) is scaled by
    root.className = "compare mode-" + view.mode + (view.landmarks ? " with-landmarks" : "");
    var w = width();
    stages.forEach(function (s, i) {
      var st = stateOf(viewports[i]);
      s.style.transform = "translate(" + (st.x * w) + "px," + (st.y * w) + "px) scale(" + st.scale + ")";
    });
    var fit = w / chipSize;
    sources.forEach(function (source, i) {
      var m = source.matrix;
      source.img.style.transform = "matrix(" + m.map(function (v) { return v * fit; }).join(",") + ")";
      var onScreen = stateOf(viewports[i]).scale * fit * source.k;  // screen pixels per source pixel
      source.img.classList.toggle("pixels", onScreen > 1);
      var shown = source.img.closest(".pane").querySelector(".pixel-scale");
      if (shown) { shown.textContent = "· " + (onScreen >= 1 ? onScreen.toFixed(1) + ":1" : "1:" + (1 / onScreen).toFixed(1)); }
    });
    var amount = view.mix / 100;
    candidateViewport.style.opacity = view.mode === "overlay" ? String(amount) : "";
    candidateViewport.style.clipPath = view.mode === "curtain" ? "inset(0 0 0 " + (amount * 100) + "%)" : "";
    mix.value = String(view.mix);
    mix.disabled = view.mode !== "overlay" && view.mode !== "curtain";
    document.querySelectorAll("[data-mode]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-mode") === view.mode));
    });
    landmarksButton.setAttribute("aria-pressed", String(view.landmarks));
    if (lockButton) { lockButton.setAttribute("aria-pressed", String(view.locked)); }
    indicator.textContent = MODES[view.mode] + " · " + view.scale.toFixed(1) + "×" +
      (view.locked ? "" : " / " + view.alone.scale.toFixed(1) + "× · unlocked") + (view.landmarks ? " · landmarks" : "");
    save();
  }

  function setMode(mode) {
    if (!MODES[mode]) { return; }
    view.mode = mode;
    if (flickerTimer) { clearInterval(flickerTimer); flickerTimer = null; }
    candidateViewport.style.visibility = "";
    if (mode === "flicker") {
      flickerTimer = setInterval(function () {
        candidateViewport.style.visibility = candidateViewport.style.visibility === "hidden" ? "" : "hidden";
      }, 600);
    }
    render();
  }

  // Zoom keeping the image point under (px, py) — pane pixels — where it is.
  function zoomAt(factor, px, py, st) {
    st = st || view;
    var w = width();
    var before = st.scale;
    st.scale = Math.min(maxScale(), Math.max(MIN_SCALE, before * factor));
    var ratio = st.scale / before;
    st.x = px / w - (px / w - st.x) * ratio;
    st.y = py / w - (py / w - st.y) * ratio;
    render();
  }
  function zoomCentre(factor) {
    states().forEach(function (st) { zoomAt(factor, width() / 2, width() / 2, st); });
  }
  function panBy(dx, dy, st) { st = st || view; st.x += dx; st.y += dy; render(); }
  function reset() {
    states().forEach(function (st) { st.scale = 1; st.x = 0; st.y = 0; });
    render();
  }

  viewports.forEach(function (viewport) {
    viewport.addEventListener("wheel", function (event) {
      event.preventDefault();
      var box = viewport.getBoundingClientRect();
      zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top, stateOf(viewport));
    }, { passive: false });

    // Pointer events cover mouse, touch and pen; two pointers pinch.
    var pointers = new Map();
    var pinch = null;
    viewport.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) { return; }
      event.preventDefault();
      viewport.focus({ preventScroll: true });
      viewport.setPointerCapture(event.pointerId);
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      viewport.classList.add("dragging");
      pinch = null;
    });
    viewport.addEventListener("pointermove", function (event) {
      var last = pointers.get(event.pointerId);
      if (!last) { return; }
      if (event.pointerType === "mouse" && !(event.buttons & 1)) { end(event); return; }
      var w = width();
      if (pointers.size === 1) {
        panBy((event.clientX - last.x) / w, (event.clientY - last.y) / w, stateOf(viewport));
      } else if (pointers.size === 2) {
        var other = Array.from(pointers.entries()).find(function (p) { return p[0] !== event.pointerId; })[1];
        var distance = Math.hypot(event.clientX - other.x, event.clientY - other.y);
        if (pinch) {
          var box = viewport.getBoundingClientRect();
          zoomAt(distance / pinch, (event.clientX + other.x) / 2 - box.left, (event.clientY + other.y) / 2 - box.top,
            stateOf(viewport));
        }
        pinch = distance;
      }
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    });
    function end(event) {
      pointers.delete(event.pointerId);
      pinch = null;
      if (!pointers.size) { viewport.classList.remove("dragging"); }
    }
    ["pointerup", "pointercancel", "lostpointercapture"].forEach(function (type) {
      viewport.addEventListener(type, end);
    });
    viewport.addEventListener("dragstart", function (event) { event.preventDefault(); });
  });

  document.querySelectorAll("[data-mode]").forEach(function (button) {
    button.addEventListener("click", function () { setMode(button.getAttribute("data-mode")); });
  });
  mix.addEventListener("input", function () { view.mix = Number(mix.value); render(); });
  landmarksButton.addEventListener("click", function () { view.landmarks = !view.landmarks; render(); });
  if (lockButton) { lockButton.addEventListener("click", function () { setLocked(!view.locked); }); }
  document.getElementById("zoom-in").addEventListener("click", function () { zoomCentre(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomCentre(1 / 1.25); });
  document.getElementById("zoom-reset").addEventListener("click", reset);
  window.addEventListener("resize", render);

  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.assign(link.href); }
  }
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  var KEYS = {
    "1": function () { setMode("side"); },
    "2": function () { setMode("overlay"); },
    "3": function () { setMode("curtain"); },
    "4": function () { setMode("flicker"); },
    "l": function () { view.landmarks = !view.landmarks; render(); },
    "u": function () { setLocked(!view.locked); },
    "+": function () { zoomCentre(1.25); },
    "=": function () { zoomCentre(1.25); },
    "-": function () { zoomCentre(1 / 1.25); },
    "0": reset,
    "[": function () { view.mix = Math.max(0, view.mix - 10); render(); },
    "]": function () { view.mix = Math.min(100, view.mix + 10); render(); },
    "n": function () { follow("next-candidate"); },
    "p": function () { follow("previous-candidate"); },
    "x": function () { var f = document.getElementById("feature"); if (f) { f.focus(); } },
    "c": function () { var r = document.querySelector("#checklist-form input[type=radio]"); if (r) { r.focus(); } }
  };
  var ARROWS = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var arrow = ARROWS[event.key];
    if (arrow && event.target && event.target.classList && event.target.classList.contains("viewport")) {
      event.preventDefault();
      var step = event.shiftKey ? KEY_PAN * 4 : KEY_PAN;
      panBy(arrow[0] * step, arrow[1] * step, stateOf(event.target));
      return;
    }
    var action = KEYS[event.key.toLowerCase()];
    if (action) { event.preventDefault(); action(); }
  });

  var landmarks = JSON.parse(root.getAttribute("data-landmarks") || "{}");
  var ns = "http://www.w3.org/2000/svg";
  ["probe", "candidate"].forEach(function (which) {
    var svg = root.querySelector(".pane-" + which + " svg.marks");
    (landmarks[which] || []).forEach(function (point) {
      var dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", point[0]);
      dot.setAttribute("cy", point[1]);
      dot.setAttribute("r", 4);
      svg.appendChild(dot);
    });
  });

  load();
  setMode(view.mode);
})();
