// The letters desk's "Write to us" block, embedded in a publisher's article page:
//   <script src="https://desk.example/embed.js" data-article-url="https://www.example/story" async></script>
// Puts an iframe of the desk's /embed/ page right after this script, for the article at
// data-article-url (else the page's canonical link, else its address), and keeps the iframe as
// tall as the block inside it. Only the desk's own messages from that iframe are obeyed.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || script.getAttribute("data-letters-desk") === "done") return;
  script.setAttribute("data-letters-desk", "done");
  var desk = new URL(script.src).origin;
  var canonical = document.querySelector('link[rel="canonical"]');
  var articleUrl = script.getAttribute("data-article-url") ||
    (canonical && canonical.href) || window.location.href.split("#")[0];

  var frame = document.createElement("iframe");
  frame.src = desk + "/embed/?url=" + encodeURIComponent(articleUrl) + "#sized";
  frame.title = "Write to us: a letter to the editor";
  frame.className = "letters-desk-embed";
  frame.style.width = "100%";
  frame.style.minHeight = "200px";
  frame.style.height = "600px";
  frame.style.border = "0";
  frame.style.display = "block";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.origin !== desk || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "letters-desk:height") return;
    var height = Number(data.height);
    if (isFinite(height) && height > 0 && height < 20000) {
      frame.style.height = Math.ceil(height) + "px";
    }
  });
})();
