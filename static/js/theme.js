// The theme switch in the user menu: light, dark or system, remembered in localStorage.
const KEY = "tessera-theme";

function apply(theme) {
  document.documentElement.setAttribute("data-theme", theme);
  document.querySelectorAll("[data-theme-choice]").forEach((button) => {
    button.setAttribute("aria-pressed", String(button.dataset.themeChoice === theme));
  });
}

export function initTheme() {
  let theme = "system";
  try {
    theme = localStorage.getItem(KEY) || "system";
  } catch (error) {
    /* storage blocked */
  }
  apply(theme);
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-theme-choice]");
    if (!button) return;
    const chosen = button.dataset.themeChoice;
    try {
      localStorage.setItem(KEY, chosen);
    } catch (error) {
      /* storage blocked: applies to this page only */
    }
    apply(chosen);
  });
}
