window.addEventListener("load", function () {
  var images = document.querySelectorAll("img.chart"), loaded = 0;
  for (var i = 0; i < images.length; i++) {
    var img = images[i];
    img.setAttribute("data-natural-width", String(img.naturalWidth));
    if (img.complete && img.naturalWidth > 0) { loaded++; }
  }
  document.body.setAttribute("data-loaded", String(loaded));
});
