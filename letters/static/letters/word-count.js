// Live word counter for the letter form. Without JavaScript the form still works: the page
// states the limit and the server names the count if a letter is too long.
// The visible count follows every key; screen readers hear it from a polite live region only
// when the writer pauses (ANNOUNCE_AFTER_MS) or crosses the limit, not on every key.
(function () {
  var ANNOUNCE_AFTER_MS = 1500;
  var body = document.querySelector("textarea[data-word-limit]");
  var out = document.getElementById("word-count");
  var announce = document.getElementById("word-count-announce");
  if (!body || !out) return;
  var limit = parseInt(body.getAttribute("data-word-limit"), 10);
  var timer = null;
  var wasOver = null;
  function count() {
    var text = body.value.trim();
    return text ? text.split(/\s+/).length : 0;
  }
  function describe(words) {
    return words + " of " + limit + " words" + (words > limit ? ": please cut " + (words - limit) : "");
  }
  function speak() {
    if (announce) announce.textContent = describe(count());
  }
  function update(typed) {
    var words = count();
    var over = words > limit;
    out.textContent = describe(words);
    out.classList.toggle("over", over);
    if (!typed) {
      wasOver = over;
      return;
    }
    clearTimeout(timer);
    if (wasOver !== null && over !== wasOver) speak();
    else timer = setTimeout(speak, ANNOUNCE_AFTER_MS);
    wasOver = over;
  }
  body.addEventListener("input", function () { update(true); });
  update(false);
})();
