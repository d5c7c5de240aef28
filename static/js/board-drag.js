import { csrfHeaders } from "./csrf.js";
import { toast } from "./toast.js";

// Drag a card to another column (its workflow state) or to another place in a column (its rank).
// The server decides: a refused move snaps the card back and says why. The status menu
// on each card does the same without a mouse.
function neighbours(card) {
  const previous = card.previousElementSibling?.closest("[data-number]");
  let next = card.nextElementSibling;
  while (next && !next.dataset.number) next = next.nextElementSibling;
  return { after: previous?.dataset.number || "", before: next?.dataset.number || "" };
}

function recount(board) {
  board.querySelectorAll("[data-column]").forEach((column) => {
    const counter = column.closest(".board-column")?.querySelector("[data-column-count]");
    if (counter) counter.textContent = String(column.querySelectorAll("[data-number]").length);
  });
}

// The status/order menu of a card: one <template> for the board, filled in when a menu
// first opens (500 cards do not each carry seven buttons).
function menuFill(menu) {
  if (menu.dataset.filled) return;
  const template = document.getElementById("card-menu-template");
  if (!template) return;
  const panel = menu.querySelector(".menu-panel");
  panel.replaceChildren(template.content.cloneNode(true));
  const card = menu.closest("[data-number]");
  panel.querySelectorAll("[data-move]").forEach((button) => {
    button.addEventListener("click", () => {
      const form = document.getElementById("board-move");
      form.elements.move.value = `${menu.dataset.cardMenu}:${button.dataset.move}`;
      menu.removeAttribute("open");
      form.requestSubmit();
    });
    if (button.dataset.move === card?.closest("[data-column]")?.dataset.column) {
      button.disabled = true;
      button.setAttribute("aria-current", "true");
    }
  });
  menu.dataset.filled = "1";
}

// Closing a task whose sub-tasks are open is asked first (the server answers 409, or an
// htmx trigger for the card menu): true when the person confirms.
function confirmClose(message) {
  const dialog = document.getElementById("board-confirm");
  if (!dialog) return Promise.resolve(false);
  dialog.querySelector("#board-confirm-message").textContent = message;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}

document.body.addEventListener("tessera:board-confirm", async (event) => {
  if (!(await confirmClose(event.detail.message))) return;
  const form = document.getElementById("board-move"); // the columns (and this form) were swapped meanwhile
  if (!form) return;
  form.elements.move.value = event.detail.move;
  form.elements.force.value = "1";
  form.addEventListener("htmx:afterRequest", () => (form.elements.force.value = ""), { once: true });
  form.requestSubmit();
});

document.addEventListener(
  "toggle",
  (event) => {
    if (event.target.matches?.("details[data-card-menu]") && event.target.open) menuFill(event.target);
  },
  true,
);

export function initBoard(root) {
  const boards = root.matches?.("[data-board]") ? [root] : root.querySelectorAll?.("[data-board]") || [];
  boards.forEach((board) => {
    if (board.dataset.dragReady || board.dataset.canMove !== "true") return;
    board.dataset.dragReady = "1";
    let dragged = null;
    let origin = null;

    board.addEventListener("dragstart", (event) => {
      const card = event.target.closest?.("[data-number]");
      if (!card) return;
      dragged = card;
      origin = { parent: card.parentElement, next: card.nextElementSibling };
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.key || "");
    });
    board.addEventListener("dragend", () => {
      dragged?.classList.remove("dragging");
      board.querySelectorAll(".drop-target").forEach((column) => column.classList.remove("drop-target"));
    });
    board.addEventListener("dragover", (event) => {
      const column = event.target.closest?.("[data-column]");
      if (!column || !dragged) return;
      event.preventDefault();
      board.querySelectorAll(".drop-target").forEach((other) => other !== column && other.classList.remove("drop-target"));
      column.classList.add("drop-target");
      const cards = [...column.querySelectorAll("[data-number]:not(.dragging)")];
      const below = cards.find((card) => {
        const box = card.getBoundingClientRect();
        return event.clientY < box.top + box.height / 2;
      });
      const loadMore = column.querySelector(".load-more");
      if (below) column.insertBefore(dragged, below);
      else if (loadMore) column.insertBefore(dragged, loadMore);
      else column.appendChild(dragged);
    });
    board.addEventListener("drop", async (event) => {
      const column = event.target.closest?.("[data-column]");
      if (!column || !dragged) return;
      event.preventDefault();
      const card = dragged;
      dragged = null;
      column.classList.remove("drop-target");
      const unchanged = card.parentElement === origin.parent && card.nextElementSibling === origin.next;
      if (unchanged) return;
      const { after, before } = neighbours(card);
      const body = new URLSearchParams({ number: card.dataset.number, state: column.dataset.column, after, before });
      const send = async () => {
        card.classList.add("saving");
        try {
          return await fetch(board.dataset.moveUrl, {
            method: "POST",
            headers: { ...csrfHeaders(), "HX-Request": "true", Accept: "application/json" },
            body,
          });
        } catch (error) {
          return null;
        } finally {
          card.classList.remove("saving");
        }
      };
      let response = await send();
      let asked = false;
      if (response && response.status === 409) {
        const refusal = await response.clone().json().catch(() => ({}));
        if (refusal.code === "open_children") {
          asked = true;
          if (await confirmClose(refusal.detail)) {
            body.set("force", "1");
            response = await send();
            asked = false; // the answer to the confirmed move is shown like any other
          }
        }
      }
      if (response && response.ok) {
        const data = await response.json();
        card.dataset.version = data.version;
        recount(board);
        toast(data.message);
        return;
      }
      // Refused (or offline): back where it was, and why.
      origin.parent.insertBefore(card, origin.next);
      card.classList.add("refused");
      setTimeout(() => card.classList.remove("refused"), 600);
      if (asked) {
        recount(board); // kept open: the person said so, nothing to explain
        return;
      }
      let reason = board.dataset.offline || "";
      if (response) {
        try {
          reason = (await response.json()).detail;
        } catch (error) {
          reason = response.statusText;
        }
      }
      toast(reason, { error: true });
      recount(board);
    });
  });
}
