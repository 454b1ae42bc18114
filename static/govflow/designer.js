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

  // Conditions checked as they are typed: after a pause the condition goes
  // to the console's checker (the validator's parser and name rules) and a
  // problem shows under the input; the form's field names are offered for
  // the word being typed. Without script the page still reports them on
  // the card after "Apply the changes".
  var DELAY = 300;

  function fieldNames(list) {
    if (!list.hasAttribute("data-names")) {
      var names = Array.prototype.map.call(list.querySelectorAll("option"), function (o) { return o.value; });
      list.setAttribute("data-names", JSON.stringify(names));
    }
    return JSON.parse(list.getAttribute("data-names"));
  }

  function offerNames(input) {
    var list = input.list;
    if (!list) return;
    var value = input.value;
    var match = /[A-Za-z_][A-Za-z0-9_.]*$/.exec(value);
    var word = match ? match[0] : "";
    var head = value.slice(0, value.length - word.length);
    var offered = fieldNames(list).filter(function (name) {
      return name.indexOf(word) === 0 && name !== word;
    });
    list.textContent = "";
    offered.forEach(function (name) {
      var option = document.createElement("option");
      option.value = head + name;
      list.appendChild(option);
    });
  }

  function messageFor(input) {
    var id = input.id + "-check";
    var shown = document.getElementById(id);
    if (!shown) {
      shown = document.createElement("p");
      shown.id = id;
      shown.className = "field-error condition-check";
      shown.setAttribute("aria-live", "polite");
      input.parentNode.insertBefore(shown, input.nextSibling);
      var described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", described ? described + " " + id : id);
    }
    return shown;
  }

  function check(input) {
    var form = input.form;
    var asked = (input.dataset.asked = String(Number(input.dataset.asked || 0) + 1));
    var data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("input[name=csrfmiddlewaretoken]").value);
    data.append("source", form.querySelector("textarea[name=source]").value);
    data.append("expression", input.value);
    fetch(form.getAttribute("action") + "condition/", {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || input.dataset.asked !== asked) return; // a later keystroke asked again
        var shown = messageFor(input);
        shown.textContent = answer.problems.map(function (p) { return p.message; }).join("; ");
        input.setAttribute("aria-invalid", answer.ok ? "false" : "true");
      })
      .catch(function () {});
  }

  var timers = {};
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches('input[name^="prop:condition:"]')) return;
    offerNames(input);
    clearTimeout(timers[input.id]);
    timers[input.id] = setTimeout(function () { check(input); }, DELAY);
  });
})();
