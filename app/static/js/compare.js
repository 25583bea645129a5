// One-to-one comparison: side by side with synced zoom and pan, overlay with opacity,
// curtain (wipe), flicker, landmarks. Served by the app; no inline script (CSP).
(function () {
  "use strict";
  var root = document.getElementById("compare");
  if (!root) { return; }
  var stages = root.querySelectorAll(".stage");
  var mix = document.getElementById("mix");
  var state = { scale: 1, x: 0, y: 0, mode: "side", flicker: null };

  function apply() {
    var t = "translate(" + state.x + "px," + state.y + "px) scale(" + state.scale + ")";
    stages.forEach(function (s) { s.style.transform = t; });
    var value = Number(mix.value) / 100;
    var candidate = root.querySelector(".pane-candidate .stage");
    candidate.style.opacity = state.mode === "overlay" ? String(value) : "";
    candidate.style.clipPath = state.mode === "curtain" ? "inset(0 0 0 " + (value * 100) + "%)" : "";
  }

  function setMode(mode) {
    state.mode = mode;
    root.className = "compare mode-" + mode;
    if (state.flicker) { clearInterval(state.flicker); state.flicker = null; }
    if (mode === "flicker") {
      var shown = false;
      state.flicker = setInterval(function () {
        shown = !shown;
        root.querySelector(".pane-candidate .stage").style.visibility = shown ? "visible" : "hidden";
      }, 600);
    } else {
      root.querySelector(".pane-candidate .stage").style.visibility = "";
    }
    apply();
  }

  document.querySelectorAll("[data-mode]").forEach(function (button) {
    button.addEventListener("click", function () { setMode(button.getAttribute("data-mode")); });
  });
  mix.addEventListener("input", apply);
  document.getElementById("zoom-in").addEventListener("click", function () { state.scale = Math.min(8, state.scale * 1.25); apply(); });
  document.getElementById("zoom-out").addEventListener("click", function () { state.scale = Math.max(1, state.scale / 1.25); apply(); });
  document.getElementById("zoom-reset").addEventListener("click", function () { state.scale = 1; state.x = 0; state.y = 0; apply(); });

  root.querySelectorAll(".viewport").forEach(function (viewport) {
    viewport.addEventListener("wheel", function (event) {
      event.preventDefault();
      state.scale = Math.min(8, Math.max(1, state.scale * (event.deltaY < 0 ? 1.1 : 1 / 1.1)));
      apply();
    }, { passive: false });
    var dragging = null;
    viewport.addEventListener("pointerdown", function (event) {
      dragging = { x: event.clientX - state.x, y: event.clientY - state.y };
      viewport.setPointerCapture(event.pointerId);
    });
    viewport.addEventListener("pointermove", function (event) {
      if (!dragging) { return; }
      state.x = event.clientX - dragging.x;
      state.y = event.clientY - dragging.y;
      apply();
    });
    viewport.addEventListener("pointerup", function () { dragging = null; });
  });

  var landmarks = JSON.parse(root.getAttribute("data-landmarks") || "{}");
  var ns = "http://www.w3.org/2000/svg";
  ["probe", "candidate"].forEach(function (which) {
    var svg = root.querySelector(".pane-" + which + " svg.marks");
    (landmarks[which] || []).forEach(function (point) {
      var dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", point[0]);
      dot.setAttribute("cy", point[1]);
      dot.setAttribute("r", 3);
      svg.appendChild(dot);
    });
  });
  document.getElementById("show-landmarks").addEventListener("change", function (event) {
    root.classList.toggle("with-landmarks", event.target.checked);
  });
  apply();
})();
