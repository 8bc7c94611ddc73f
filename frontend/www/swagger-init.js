// Swagger UI for this service's OpenAPI document. A separate file rather
// than an inline script, so that a strict Content-Security-Policy works.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    tryItOutEnabled: true
  });
};
