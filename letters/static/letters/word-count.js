// Live word counter for the letter form. Without JavaScript the form still works: the page
// states the limit and the server names the count if a letter is too long.
(function () {
  var body = document.querySelector("textarea[data-word-limit]");
  var out = document.getElementById("word-count");
  if (!body || !out) return;
  var limit = parseInt(body.getAttribute("data-word-limit"), 10);
  function update() {
    var text = body.value.trim();
    var words = text ? text.split(/\s+/).length : 0;
    out.textContent = words + " of " + limit + " words" + (words > limit ? ": please cut " + (words - limit) : "");
    out.classList.toggle("over", words > limit);
  }
  body.addEventListener("input", update);
  update();
})();
