// The side panel (a task opened from the board or list) and dialogs loaded by htmx
// (New task): a dialog marked data-autoshow opens as a modal, keeps focus, and gives it
// back to what opened it when it closes.
let opener = null;

export function initPanels() {
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target?.id === "panel-host") opener = document.activeElement;
  });
  document.body.addEventListener("htmx:load", (event) => {
    const root = event.target;
    const dialogs = root.matches?.("dialog[data-autoshow]") ? [root] : root.querySelectorAll?.("dialog[data-autoshow]") || [];
    dialogs.forEach((dialog) => {
      if (!dialog.open) dialog.showModal();
      dialog.addEventListener("close", () => {
        dialog.remove();
        opener?.focus?.();
      });
    });
    const panel = root.matches?.("[data-panel]") ? root : root.querySelector?.("[data-panel]");
    if (panel) panel.querySelector("h1, [data-edit-title]")?.focus?.({ preventScroll: true });
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-panel-close]")) {
      event.preventDefault();
      document.getElementById("panel-host").replaceChildren();
      opener?.focus?.();
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog")?.close();
    }
  });
}

// A live refresh never throws away what someone is typing or dragging: if the fragment
// being refreshed holds a focused or edited field (or a card in flight), keep it and say
// that the task changed; the next save meets the version check anyway.
function dirty(root) {
  if (root.querySelector(".dragging")) return true;
  if (root.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return true;
  return [...root.querySelectorAll("textarea, input[type=text], input[type=search]")].some(
    (field) => field.value !== field.defaultValue,
  );
}

document.body.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  const live = event.detail.requestConfig?.triggeringEvent?.type === "tessera:changed";
  if (live && target && dirty(target)) {
    event.detail.shouldSwap = false;
    const note = document.body.dataset.changedText;
    if (note) import("./toast.js").then(({ toast }) => toast(note));
  }
});
