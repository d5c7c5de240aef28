import { csrfHeaders } from "./csrf.js";
import { toast } from "./toast.js";

// Attachments: pick or drop files; each uploads with a progress bar. Files over the
// limit are refused here, before any byte is sent (the server refuses them too).
function send(zone, file) {
  const limit = Number(zone.dataset.maxBytes);
  if (limit && file.size > limit) {
    toast(zone.dataset.tooLarge.replace("%(name)s", file.name), { error: true });
    return;
  }
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", file.name);
  zone.querySelector("[data-progress]")?.appendChild(bar);
  const form = new FormData();
  form.append("file", file);
  const request = new XMLHttpRequest();
  request.open("POST", zone.dataset.uploadUrl);
  Object.entries({ ...csrfHeaders(), "HX-Request": "true" }).forEach(([name, value]) => request.setRequestHeader(name, value));
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
  });
  request.addEventListener("load", () => {
    bar.remove();
    if (request.status >= 200 && request.status < 300) {
      const list = document.getElementById(zone.dataset.listId);
      if (list) {
        list.outerHTML = request.responseText;
        const fresh = document.getElementById(zone.dataset.listId);
        if (fresh && window.htmx) window.htmx.process(fresh);
      }
    } else {
      let message = request.statusText;
      try {
        message = JSON.parse(request.responseText).detail || message;
      } catch (error) {
        /* not JSON */
      }
      toast(message, { error: true });
    }
  });
  request.addEventListener("error", () => {
    bar.remove();
    toast(zone.dataset.failed || "Upload failed", { error: true });
  });
  request.send(form);
}

export function initUploads(root) {
  root.querySelectorAll?.("[data-upload-url]").forEach((zone) => {
    if (zone.dataset.ready) return;
    zone.dataset.ready = "1";
    const input = zone.querySelector("input[type=file]");
    const form = zone.closest("form");
    form?.addEventListener("submit", (event) => {
      event.preventDefault();
      [...(input?.files || [])].forEach((file) => send(zone, file));
      if (input) input.value = "";
    });
    input?.addEventListener("change", () => {
      [...input.files].forEach((file) => send(zone, file));
      input.value = "";
    });
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dragover");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragover");
      [...event.dataTransfer.files].forEach((file) => send(zone, file));
    });
  });
}
