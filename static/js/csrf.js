// The CSRF token the page carries for htmx (hx-headers on <body>), for our own fetches.
export function csrfHeaders() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  } catch (error) {
    return {};
  }
}
