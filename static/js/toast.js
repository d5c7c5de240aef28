// One polite live region for short messages ("Moved to Done", "Refused: ...").
let timer;
export function toast(message, { error = false } = {}) {
  const element = document.getElementById("toast");
  if (!element) return;
  element.textContent = message;
  element.classList.toggle("error", error);
  element.classList.add("visible");
  clearTimeout(timer);
  timer = setTimeout(() => element.classList.remove("visible"), error ? 6000 : 3000);
}
