// The letter form shown again with errors: move the focus to the first one, so a keyboard or
// screen-reader user lands where the problem is: the first invalid field, else the form's own
// message (a rate limit, a letter sent too fast).
(function () {
  var form = document.getElementById("letter-form");
  if (!form) return;
  var target = form.querySelector("input.is-invalid, textarea.is-invalid, select.is-invalid");
  if (!target) {
    target = form.querySelector(".alert");
    if (!target) return;
    target.setAttribute("tabindex", "-1");
  }
  target.focus();
  target.scrollIntoView({ block: "center" });
})();
