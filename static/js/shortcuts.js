// Keyboard first (Linear's habit): ? help, c new task, / search, g b / g l board / list,
// j / k next / previous task, Enter open it, e edit the title, Esc close.
function typing(target) {
  return target.closest("input, textarea, select, [contenteditable='true']") !== null;
}

function items() {
  return [...document.querySelectorAll("[data-nav-item]")].filter((item) => item.offsetParent !== null);
}

function select(step) {
  const list = items();
  if (!list.length) return;
  const current = list.findIndex((item) => item.classList.contains("nav-selected"));
  const next = Math.max(0, Math.min(list.length - 1, current === -1 ? 0 : current + step));
  list.forEach((item) => item.classList.remove("nav-selected"));
  list[next].classList.add("nav-selected");
  list[next].scrollIntoView({ block: "nearest" });
  (list[next].querySelector("[data-nav-link]") || list[next]).focus({ preventScroll: true });
}

export function initShortcuts() {
  let pendingG = false;
  let gTimer;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      const panel = document.querySelector("#panel-host [data-panel]");
      if (panel && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        document.getElementById("panel-host").replaceChildren();
      }
      return;
    }
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    if (pendingG) {
      pendingG = false;
      clearTimeout(gTimer);
      const link = document.querySelector(`[data-goto="${event.key}"]`);
      if (link) {
        event.preventDefault();
        window.location.assign(link.href);
      }
      return;
    }
    switch (event.key) {
      case "?":
        event.preventDefault();
        document.getElementById("shortcuts-help")?.showModal();
        break;
      case "/":
        event.preventDefault();
        document.querySelector("[data-shortcut='/']")?.focus();
        break;
      case "c":
        event.preventDefault();
        document.querySelector("[data-shortcut='c']")?.click();
        break;
      case "g":
        pendingG = true;
        gTimer = setTimeout(() => (pendingG = false), 1200);
        break;
      case "j":
        event.preventDefault();
        select(1);
        break;
      case "k":
        event.preventDefault();
        select(-1);
        break;
      case "Enter": {
        const selected = document.querySelector(".nav-selected [data-nav-link]");
        if (selected && event.target === document.body) {
          event.preventDefault();
          selected.click();
        }
        break;
      }
      case "e": {
        const title = document.querySelector("[data-edit-title]");
        if (title) {
          event.preventDefault();
          title.focus();
          title.select?.();
        }
        break;
      }
      default:
    }
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-shortcuts-open]")) {
      document.getElementById("shortcuts-help")?.showModal();
    }
  });
}
