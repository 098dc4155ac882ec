// Swagger UI on the gateway's own OpenAPI document (a file, not an inline
// script, so the page's Content-Security-Policy forbids every inline script).
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
