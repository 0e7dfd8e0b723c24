// The edition builder (admin edition page): put the letters in order by dragging a row, with
// a row's up and down buttons, or with Alt+ArrowUp / Alt+ArrowDown on a focused row. The first
// letter is the lead (marked by CSS). Positions, the running word total and the rows past the
// word budget follow every move; the order is saved with the page's Save (hidden "order"
// inputs, one per row, in the rows' order). Leaving with an unsaved order asks first.
(function () {
  function start() {
    var table = document.getElementById("edition-letters");
    if (!table || !table.classList.contains("arrangeable")) return;
    var body = table.tBodies[0];
    var budget = parseInt(document.getElementById("edition-words").getAttribute("data-budget"), 10);
    var announce = document.getElementById("edition-announce");
    var unsaved = document.getElementById("edition-unsaved");
    var dirty = false;
    var dragged = null;

    function rows() { return Array.prototype.slice.call(body.rows); }

    function renumber() {
      var running = 0;
      rows().forEach(function (row, index) {
        running += parseInt(row.getAttribute("data-words"), 10) || 0;
        row.querySelector(".edition-number").textContent = index + 1;
        row.querySelector(".edition-running").textContent = "Σ " + running;
        row.classList.toggle("past-budget", running > budget);
      });
    }

    function moved(row) {
      dirty = true;
      if (unsaved) unsaved.hidden = false;
      renumber();
      var list = rows();
      var place = list.indexOf(row) + 1;
      var text = row.getAttribute("data-name") + ": position " + place + " of " + list.length;
      if (place === 1) text += ", the lead letter";
      announce.textContent = text + ".";
    }

    function move(row, step) {
      var target = step < 0 ? row.previousElementSibling : row.nextElementSibling;
      if (!target) return false;
      body.insertBefore(row, step < 0 ? target : target.nextElementSibling);
      moved(row);
      return true;
    }

    body.addEventListener("click", function (event) {
      var button = event.target.closest("button.edition-up, button.edition-down");
      if (!button) return;
      var row = button.closest("tr");
      move(row, button.classList.contains("edition-up") ? -1 : 1);
      button.focus();
    });

    body.addEventListener("keydown", function (event) {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      var row = event.target.closest("tr");
      if (!row) return;
      event.preventDefault();
      move(row, event.key === "ArrowUp" ? -1 : 1);
      event.target.focus();
    });

    // Dragging: HTML5 drag events; the row under the pointer makes room above or below. A
    // press in a headline box, a button or a link is not a drag (text can be selected).
    body.addEventListener("mousedown", function (event) {
      var row = event.target.closest("tr");
      if (row) row.draggable = !event.target.closest("input, button, a");
    });
    body.addEventListener("dragstart", function (event) {
      var row = event.target.closest && event.target.closest("tr");
      if (!row) return;
      dragged = row;
      row.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", row.getAttribute("data-letter"));
    });
    body.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var row = event.target.closest("tr");
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      if (!row || row === dragged) return;
      var box = row.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      body.insertBefore(dragged, after ? row.nextElementSibling : row);
    });
    body.addEventListener("drop", function (event) {
      if (dragged) event.preventDefault();
    });
    body.addEventListener("dragend", function () {
      if (!dragged) return;
      var row = dragged;
      dragged = null;
      row.classList.remove("dragging");
      moved(row);
    });

    var form = table.closest("form");
    if (form) form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (!dirty) return;
      event.preventDefault();
      event.returnValue = "";
    });
    renumber();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
