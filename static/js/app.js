// Entry point: each module wires itself to data- attributes, on load and whenever htmx
// swaps new content in (htmx:load fires for every new element).
import { initTheme } from "./theme.js";
import { initMenus } from "./menus.js";
import { initShortcuts } from "./shortcuts.js";
import { initLabels } from "./labels.js";
import { initBoard } from "./board-drag.js";
import { initUploads } from "./upload.js";
import { initTypeahead } from "./typeahead.js";
import { initPanels } from "./panel.js";
import { initForms } from "./forms.js";
import { toast } from "./toast.js";
import { initCopy } from "./copy.js";

initTheme();
initMenus();
initShortcuts();
initPanels();

function enhance(root) {
  initLabels(root);
  initBoard(root);
  initUploads(root);
  initTypeahead(root);
  initForms(root);
  initCopy(root);
}

enhance(document);
document.body.addEventListener("htmx:load", (event) => enhance(event.target));

// Messages the server sends with HX-Trigger; errors htmx does not swap in.
document.body.addEventListener("tessera:toast", (event) => toast(event.detail.value));
document.body.addEventListener("tessera:toast-error", (event) => toast(event.detail.value, { error: true }));
document.body.addEventListener("tessera:created", (event) => {
  document.querySelector("#dialog-host dialog[open]")?.close();
  toast(`${event.detail.value} ✓`);
});
document.body.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  let message = document.body.dataset.errorText || "Error";
  try {
    message = JSON.parse(event.detail.xhr.responseText).detail || message;
  } catch (error) {
    if (status === 403) message = document.body.dataset.forbiddenText || message;
  }
  toast(message, { error: true });
});
