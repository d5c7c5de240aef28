import { toast } from "./toast.js";

// Small form behaviours: a delete button that waits for the typed key, filters that
// apply on change, copying a link, list filtering (type-ahead over checkboxes), bulk
// selection.
export function initForms(root) {
  root.querySelectorAll("[data-confirm-key]").forEach((input) => {
    const button = input.form?.querySelector("[data-confirm-button]");
    if (!button) return;
    const update = () => (button.disabled = input.value.trim() !== input.dataset.confirmKey);
    input.addEventListener("input", update);
    update();
  });
  root.querySelectorAll("form[data-autosubmit]").forEach((form) => {
    form.querySelectorAll("select, input[type=checkbox], input[type=date]").forEach((control) => {
      control.addEventListener("change", () => form.requestSubmit());
    });
  });
  root.querySelectorAll("select[data-submit-with]").forEach((select) => {
    const button = document.getElementById(select.dataset.submitWith);
    if (button) select.addEventListener("change", () => button.click());
  });
  root.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const url = new URL(button.dataset.copy, window.location.href).href;
      try {
        await navigator.clipboard.writeText(url);
        toast(button.dataset.copied || url);
      } catch (error) {
        window.prompt("", url);
      }
    });
  });
  root.querySelectorAll("[data-filter-list]").forEach((input) => {
    const list = document.getElementById(input.dataset.filterList);
    if (!list) return;
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      list.querySelectorAll("li").forEach((item) => {
        item.hidden = needle !== "" && !item.textContent.toLowerCase().includes(needle);
      });
    });
  });
  root.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`).forEach((item) => {
        item.checked = box.checked;
      });
    });
  });
}
