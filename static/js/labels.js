// Label colours come from data-color (style attributes are blocked by the CSP; setting
// a custom property from script is not).
const COLOR = /^#[0-9a-fA-F]{6}$/;
export function initLabels(root) {
  root.querySelectorAll("[data-color]").forEach((element) => {
    const color = element.dataset.color;
    if (COLOR.test(color)) element.style.setProperty("--label", color);
  });
  // A workflow state's own colour on its pill's dot (board columns, settings).
  root.querySelectorAll("[data-dot]").forEach((element) => {
    const color = element.dataset.dot;
    if (COLOR.test(color)) element.style.setProperty("--dot", color);
  });
  root.querySelectorAll("[data-share]").forEach((element) => {
    element.style.setProperty("flex-grow", element.dataset.share);
  });
}
