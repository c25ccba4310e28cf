// Swagger UI on this API's own document. Both URLs are relative to the page (/api/docs), so the
// page works wherever the API is mounted; the document's first server, "/api", makes "Try it
// out" call the same origin that serves the page.
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  // Offline: no badge fetched from validator.swagger.io.
  validatorUrl: null,
});
