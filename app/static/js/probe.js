// Probe page: click the left eye then the right eye on the processed image to fill in
// the hand-placed eye centres (in the image's own pixels).
(function () {
  "use strict";
  var image = document.getElementById("processed");
  var form = document.getElementById("eyes-form");
  if (!image || !form) { return; }
  var next = "left";
  image.style.cursor = "crosshair";
  image.addEventListener("click", function (event) {
    var box = image.getBoundingClientRect();
    var x = Math.round((event.clientX - box.left) * image.naturalWidth / box.width);
    var y = Math.round((event.clientY - box.top) * image.naturalHeight / box.height);
    form.querySelector("[name=" + next + "_x]").value = x;
    form.querySelector("[name=" + next + "_y]").value = y;
    next = next === "left" ? "right" : "left";
  });
})();
