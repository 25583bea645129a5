// Stepping through a video by key: each step link names its key in data-key.
(function () {
  "use strict";
  var links = document.querySelectorAll(".stepper a[data-key]");
  if (!links.length) return;
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var name = (event.shiftKey ? "Shift+" : "") + event.key;
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("data-key") === name) {
        event.preventDefault();
        window.location.assign(links[i].href);
        return;
      }
    }
  });
})();
