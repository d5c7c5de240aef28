// @mention type-ahead in comment boxes: typing "@" and a few letters lists the project's
// members (from a JSON data block: no request per key); Enter or a click inserts
// "@email". Arrow keys move, Escape closes.
export function initTypeahead(root) {
  root.querySelectorAll?.("textarea[data-mentions]").forEach((area) => {
    if (area.dataset.ready) return;
    area.dataset.ready = "1";
    const source = document.getElementById(area.dataset.mentions);
    if (!source) return;
    const people = JSON.parse(source.textContent);
    const list = document.createElement("ul");
    list.className = "typeahead-list";
    list.setAttribute("role", "listbox");
    list.id = `${area.id}-mentions`;
    list.hidden = true;
    area.parentElement.classList.add("typeahead");
    area.parentElement.appendChild(list);
    area.setAttribute("aria-controls", list.id);
    area.setAttribute("aria-autocomplete", "list");
    let matches = [];
    let active = 0;

    const query = () => {
      const before = area.value.slice(0, area.selectionStart);
      const match = /(^|\s)@([\w.+-]*)$/u.exec(before);
      return match ? match[2].toLowerCase() : null;
    };
    const close = () => {
      list.hidden = true;
      matches = [];
    };
    const render = () => {
      list.replaceChildren(
        ...matches.map((person, index) => {
          const item = document.createElement("li");
          item.setAttribute("role", "option");
          item.setAttribute("aria-selected", String(index === active));
          item.textContent = `${person.name} · ${person.email}`;
          item.addEventListener("mousedown", (event) => {
            event.preventDefault();
            choose(person);
          });
          return item;
        }),
      );
      list.hidden = matches.length === 0;
    };
    const choose = (person) => {
      const start = area.value.slice(0, area.selectionStart).replace(/@([\w.+-]*)$/u, `@${person.email} `);
      area.value = start + area.value.slice(area.selectionStart);
      area.selectionStart = area.selectionEnd = start.length;
      close();
      area.focus();
    };
    area.addEventListener("input", () => {
      const text = query();
      if (text === null) return close();
      matches = people.filter((p) => p.name.toLowerCase().includes(text) || p.email.toLowerCase().includes(text)).slice(0, 8);
      active = 0;
      render();
    });
    area.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
        render();
      } else if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        choose(matches[active]);
      } else if (event.key === "Escape") {
        event.stopPropagation();
        close();
      }
    });
    area.addEventListener("blur", () => setTimeout(close, 150));
  });
}
