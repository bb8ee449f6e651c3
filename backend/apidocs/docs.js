// Kept out of the HTML so the Content-Security-Policy needs no 'unsafe-inline' for scripts.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
