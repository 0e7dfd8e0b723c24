// The letter page: a live word count for the version to publish, against the desk's limit.
(function () {
  function words(text) {
    text = text.trim();
    return text ? text.split(/\s+/).length : 0;
  }
  function start() {
    var box = document.querySelector("textarea[data-word-limit]");
    var out = document.getElementById("edited-word-count");
    if (!box || !out) return;
    var limit = parseInt(box.getAttribute("data-word-limit"), 10);
    var original = parseInt(box.getAttribute("data-original-words"), 10);
    function update() {
      var n = words(box.value);
      var text = n + " words (limit " + limit + "; the writer sent " + original + ")";
      if (n > limit) text += ": " + (n - limit) + " over";
      out.textContent = text;
      out.classList.toggle("desk-over", n > limit);
    }
    box.addEventListener("input", update);
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
