// Inside the embedded "Write to us" iframe: tells the page around it how tall the block is,
// whenever that changes, so that embed.js can size the iframe with no scroll bar. The message
// carries only a number, so it may go to whatever page framed us ("*"): the receiving side
// (embed.js) checks that it comes from the desk's origin and from its own iframe.
(function () {
  if (window.parent === window) return;
  // embed.js sizes this iframe to fit: no scroll bar then (see embed.css).
  if (window.location.hash === "#sized") document.documentElement.classList.add("sized");
  var last = 0;
  function send() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "letters-desk:height", height: height }, "*");
  }
  if (window.ResizeObserver) new ResizeObserver(send).observe(document.body);
  window.addEventListener("load", send);
  send();
})();
