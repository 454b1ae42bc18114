// Starts Swagger UI at /api/docs/ (templates/api/swagger_ui.html). A static
// file, so the page runs under the site's CSP (script-src 'self'), which
// blocks the inline start-up script drf-spectacular's own page has.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  var csrfHeader = root.dataset.csrfHeader;
  var csrfToken = root.dataset.csrfToken;
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // "Try it out" with the session of a logged-in user: unsafe methods
    // carry the CSRF token, as the site's own forms do.
    requestInterceptor: function (request) {
      var method = (request.method || "GET").toUpperCase();
      if (csrfHeader && csrfToken && ["GET", "HEAD", "OPTIONS"].indexOf(method) === -1) {
        request.headers[csrfHeader] = csrfToken;
      }
      return request;
    },
  });
})();
