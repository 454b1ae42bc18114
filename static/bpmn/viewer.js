/* govflow: show a process in the bpmn-js viewer and mark the current nodes.
   The server-drawn SVG stays visible until the viewer has rendered, and
   comes back if it fails, so the page works without JavaScript too. */
(function () {
  "use strict";

  function show(box) {
    var canvasEl = box.querySelector(".bpmn-canvas");
    var fallback = box.querySelector(".bpmn-fallback");
    var status = box.querySelector(".bpmn-status");
    var current = (box.getAttribute("data-current") || "").split(" ").filter(Boolean);
    if (typeof window.BpmnJS !== "function") {
      return;
    }
    canvasEl.hidden = false;
    var viewer = new window.BpmnJS({ container: canvasEl });
    fetch(box.getAttribute("data-bpmn-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        var marked = 0;
        current.forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, "govflow-current");
            marked += 1;
          }
        });
        fallback.hidden = true;
        box.setAttribute("data-rendered", String(registry.getAll().length));
        box.setAttribute("data-marked", String(marked));
        box.classList.add("bpmn-ready");
      })
      .catch(function () {
        canvasEl.hidden = true;
        viewer.destroy();
        status.textContent = box.getAttribute("data-failed-text");
        box.classList.add("bpmn-failed");
      });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".bpmn-viewer[data-bpmn-url]"), show);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
