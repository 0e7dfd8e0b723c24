// The edition admin page: "Copy the text" puts the edition's print-ready text on the
// clipboard (falling back to selecting it, where the clipboard API is not allowed).
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var box = document.getElementById(button.getAttribute("data-copy-target"));
    var done = button.parentNode.querySelector(".copy-done");
    function say(text) { if (done) done.textContent = text; }
    box.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(box.value).then(
        function () { say("Copied."); },
        function () { say("Selected: press Ctrl+C (Cmd+C) to copy."); }
      );
    } else {
      say(document.execCommand && document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C (Cmd+C) to copy.");
    }
  });
})();
