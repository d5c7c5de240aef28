// Label colours come from data-color (style attributes are blocked by the CSP; setting
// a custom property from script is not).
const COLOR = /^#[0-9a-fA-F]{6}$/;
export function initLabels(root) {
  root.querySelectorAll("[data-color]").forEach((element) => {
    const color = element.dataset.color;
    if (COLOR.test(color)) element.style.setProperty("--label", color);
  });
  root.querySelectorAll("[data-share]").forEach((element) => {
    element.style.setProperty("flex-grow", element.dataset.share);
  });
}
