// The letter page (and the queue): a live word count for the version to publish; a warning
// before leaving with unsaved changes; keyboard shortcuts, listed on the "?" overlay.
// Plain script from our static files (the Content-Security-Policy allows no inline code).
(function () {
  function words(text) {
    text = text.trim();
    return text ? text.split(/\s+/).length : 0;
  }

  function wordCount() {
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

  // Unsaved changes: the edit form's fields compared with what the page loaded with (read
  // when leaving, so changes made by the article picker's script count too). Submitting the
  // form (Save, a decision) is not leaving: it saves them.
  function unsavedChanges() {
    var form = document.getElementById("letter_form");
    if (!form) return;
    var fields = Array.prototype.filter.call(form.elements, function (el) {
      return /^(edited_body|headline|new_note|article)$/.test(el.name) && !el.disabled;
    });
    var loaded = fields.map(function (el) { return el.value; });
    var submitting = false;
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (submitting) return;
      var changed = fields.some(function (el, i) { return el.value !== loaded[i]; });
      if (changed) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function shortcuts() {
    var help = document.getElementById("desk-shortcuts");
    var open = document.getElementById("desk-help-open");
    if (help && open) {
      open.addEventListener("click", function () { help.showModal(); });
    }
    document.addEventListener("keydown", function (event) {
      var save = document.querySelector("#letter_form input[name=_continue]");
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        if (save) {
          event.preventDefault();
          save.click();
        }
        return;
      }
      if (event.key === "Escape" && typing(event.target)) {
        event.target.blur();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key === "?" && help) {
        event.preventDefault();
        if (help.open) help.close(); else help.showModal();
        return;
      }
      if (help && help.open) return;
      var target = document.querySelector('[data-key="' + event.key.replace(/["\\]/g, "") + '"]');
      if (target && event.key.length === 1) {
        event.preventDefault();
        target.click();
      }
    });
  }

  function start() {
    wordCount();
    unsavedChanges();
    shortcuts();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
