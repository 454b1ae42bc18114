/* govflow: the console's template editor. Turns each YAML textarea
   (data-yaml-editor: the template source, and the dry-run script) into a
   CodeMirror editor with line numbers and highlighting, and marks the
   problems the server found in the source (read from the #source-problems
   JSON element) beside their line numbers, with the message under the line.
   The textareas stay the form fields: without JavaScript the page works as
   before, and with it CodeMirror copies the text back into them when the
   form is posted. */
(function () {
  "use strict";

  function readProblems() {
    var data = document.getElementById("source-problems");
    if (!data) {
      return [];
    }
    try {
      var parsed = JSON.parse(data.textContent);
      return Array.isArray(parsed) ? parsed : [];
    } catch (error) {
      return [];
    }
  }

  function clampLine(cm, line) {
    var index = (parseInt(line, 10) || 1) - 1;
    return Math.max(0, Math.min(index, cm.lineCount() - 1));
  }

  function markProblems(cm, problems) {
    var byLine = {};
    problems.forEach(function (problem) {
      var index = clampLine(cm, problem.line);
      (byLine[index] = byLine[index] || []).push(problem);
    });
    Object.keys(byLine).forEach(function (key) {
      var index = Number(key);
      var here = byLine[key];
      var marker = document.createElement("span");
      marker.className = "gf-problem-marker";
      marker.textContent = "!";
      marker.title = here.map(function (p) { return p.label; }).join("\n");
      marker.setAttribute("data-line", String(index + 1));
      cm.setGutterMarker(index, "gf-problem-gutter", marker);
      cm.addLineClass(index, "wrap", "gf-problem-line");
      here.forEach(function (problem) {
        var below = document.createElement("div");
        below.className = "gf-problem-below";
        below.textContent = "↑ " + problem.below;
        cm.addLineWidget(index, below, { coverGutter: false, noHScroll: true });
        var text = cm.getLine(index);
        var start = Math.max(0, (parseInt(problem.col, 10) || 1) - 1);
        if (start < text.length) {
          var end = start;
          // the word: up to a space, or a flow-style separator ({a: b, c: d})
          while (end < text.length && !/[\s,\]}]/.test(text.charAt(end))) {
            end += 1;
          }
          cm.markText({ line: index, ch: start }, { line: index, ch: Math.max(end, start + 1) }, {
            className: "gf-problem-mark",
            attributes: { title: problem.label }
          });
        }
      });
    });
  }

  function goTo(cm, line, col) {
    var index = clampLine(cm, line);
    var ch = Math.max(0, (parseInt(col, 10) || 1) - 1);
    var position = { line: index, ch: Math.min(ch, cm.getLine(index).length) };
    cm.getWrapperElement().scrollIntoView({ block: "start" });
    cm.focus();
    cm.setCursor(position);
    cm.scrollIntoView(position, 80);
  }

  function makeEditor(textarea) {
    var label = document.querySelector('label[for="' + textarea.id + '"]');
    var cm = window.CodeMirror.fromTextArea(textarea, {
      mode: "yaml",
      lineNumbers: true,
      gutters: ["gf-problem-gutter", "CodeMirror-linenumbers"],
      indentUnit: 2,
      tabSize: 2,
      indentWithTabs: false,
      spellcheck: false,
      screenReaderLabel: label ? label.textContent : null,
      // YAML cannot be indented with tabs, and a keyboard user must be able
      // to leave the editor: Tab moves focus; Ctrl-] / Ctrl-[ indent.
      extraKeys: { Tab: false, "Shift-Tab": false }
    });
    var wrapper = cm.getWrapperElement();
    wrapper.setAttribute("data-editor", textarea.getAttribute("data-yaml-editor") || "yaml");
    var hint = document.getElementById(textarea.id + "-editor-hint");
    if (hint) {
      hint.hidden = false;
      var described = ((textarea.getAttribute("aria-describedby") || "") + " " + hint.id).trim();
      cm.getInputField().setAttribute("aria-describedby", described);
    }
    showPlaceholder(cm, textarea.getAttribute("placeholder"));
    // An editor made inside a closed <details> has no size until it opens.
    var details = textarea.closest("details");
    if (details) {
      details.addEventListener("toggle", function () {
        if (details.open) {
          cm.refresh();
        }
      });
    }
    return cm;
  }

  function showPlaceholder(cm, text) {
    // The textarea's example, shown while the editor is empty.
    if (!text) {
      return;
    }
    var wrapper = cm.getWrapperElement();
    var example = document.createElement("pre");
    example.className = "gf-placeholder";
    example.setAttribute("aria-hidden", "true");
    example.textContent = text;
    wrapper.querySelector(".CodeMirror-lines").appendChild(example);
    function update() {
      wrapper.classList.toggle("gf-empty", cm.getValue() === "");
    }
    cm.on("change", update);
    update();
  }

  function startSource(textarea) {
    var cm = makeEditor(textarea);
    var wrapper = cm.getWrapperElement();
    var problems = readProblems();
    markProblems(cm, problems);
    // The marks are what the server saw; once the text changes they fade.
    cm.on("change", function () {
      wrapper.classList.add("gf-problems-stale");
    });
    document.querySelectorAll("#problems a[data-line]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        goTo(cm, link.getAttribute("data-line"), link.getAttribute("data-col"));
      });
    });
    // The excerpts repeat what the editor now shows at the lines themselves.
    var excerpts = document.getElementById("problem-excerpts");
    if (excerpts && problems.length) {
      excerpts.hidden = true;
    }
    wrapper.setAttribute("data-problems", String(problems.length));
  }

  function start() {
    if (typeof window.CodeMirror !== "function") {
      return;
    }
    document.querySelectorAll("textarea[data-yaml-editor]").forEach(function (textarea) {
      if (textarea.id === "source") {
        startSource(textarea);
      } else {
        makeEditor(textarea);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
