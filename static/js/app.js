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
}

enhance(document);
document.body.addEventListener("htmx:load", (event) => enhance(event.target));
