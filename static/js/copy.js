// Copy buttons: <button data-copy-from="ID" data-copied-text="Copied"> copies the value of the
// input (or the text of the element) with that id, and says so in the button itself
// (a polite live region: the plain layout has no toast).
export function initCopy(root) {
  for (const button of root.querySelectorAll("[data-copy-from]")) {
    if (button.dataset.copyReady) continue;
    button.dataset.copyReady = "1";
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyFrom);
      if (!source) return;
      const text = "value" in source ? source.value : source.textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (error) {
        // No clipboard permission (plain http, an old browser): select it for Ctrl+C.
        source.focus();
        source.select?.();
        return;
      }
      const label = button.querySelector("[data-copy-label]") || button;
      label.textContent = button.dataset.copiedText || "Copied";
    });
  }
}
