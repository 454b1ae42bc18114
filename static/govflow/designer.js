// The process designer (templates/console/designer.html) works without
// script: every action is a form's submit button, "+" a <details> menu.
// This only makes it pleasanter: one "+" menu open at a time, Escape closes
// it (back on its "+"), and after a change the chosen card is scrolled into
// view and takes the focus, so keyboard users carry on where they were.
(function () {
  "use strict";

  function menus() {
    return Array.prototype.slice.call(document.querySelectorAll("details.plus"));
  }

  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.matches || !opened.matches("details.plus") || !opened.open) return;
    menus().forEach(function (other) {
      if (other !== opened) other.open = false;
    });
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("details.plus[open]")
      : null;
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("refused")) return; // the message has the reader's attention
    var chosen = document.querySelector(".card-selected .card-title");
    if (chosen) {
      chosen.scrollIntoView({ block: "center" });
      chosen.focus({ preventScroll: true });
    }
  });
})();
