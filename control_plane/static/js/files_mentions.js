// @mentions in a comment box: typing "@" and the start of a member's name offers the
// project's members (GET /api/projects/{id}/members) in a listbox; arrows move, Enter or Tab
// picks, Escape closes. The server recognises "@Full Name" (case-insensitive, whole names).
import { h } from "./ui.js";

const TOKEN = /(^|[\s([{"'])@([\p{L}\p{N}][\p{L}\p{N}.'\- ]{0,40}|)$/u;
const MAX_SHOWN = 6;
let counter = 0;

function matches(member, query) {
  const name = member.name.toLocaleLowerCase();
  const q = query.toLocaleLowerCase();
  if (!q) return true;
  if (name.startsWith(q)) return true;
  return !q.includes(" ") && name.split(/\s+/).some((word) => word.startsWith(q));
}

/** Wire `textarea` and its `list` (an empty <ul role=listbox>); `getMembers()` -> [{id, name, role}]. */
export function attachMentions(textarea, list, getMembers) {
  const prefix = `mention-${(counter += 1)}`;
  let options = [];
  let active = 0;
  let token = null; // {start, end} of "@query" in the textarea's value

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    options = [];
    token = null;
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  };

  const highlight = () => {
    list.querySelectorAll("[role=option]").forEach((el, i) => el.setAttribute("aria-selected", String(i === active)));
    if (options[active]) textarea.setAttribute("aria-activedescendant", `${prefix}-${active}`);
  };

  const choose = (member) => {
    if (!token) return;
    const value = textarea.value;
    const insert = `@${member.name} `;
    textarea.value = value.slice(0, token.start) + insert + value.slice(token.end);
    const caret = token.start + insert.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.focus();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  };

  const update = () => {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return close();
    const before = textarea.value.slice(0, caret);
    const found = TOKEN.exec(before);
    if (!found) return close();
    const query = found[2];
    const me = Number(document.body.dataset.userId);
    const shown = (getMembers() || []).filter((m) => m.id !== me && matches(m, query)).slice(0, MAX_SHOWN);
    if (!shown.length) return close();
    token = { start: caret - query.length - 1, end: caret };
    options = shown;
    active = Math.min(active, shown.length - 1);
    list.replaceChildren(...shown.map((member, i) => {
      const item = h("li", { id: `${prefix}-${i}`, role: "option", class: "mention-option", "aria-selected": "false" },
        h("strong", {}, member.name), " ", h("span", { class: "muted small" }, member.role === "owner" ? "producer" : member.role));
      // mousedown, not click: the textarea keeps its focus and caret.
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(member);
      });
      return item;
    }));
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    highlight();
  };

  textarea.addEventListener("input", () => { active = 0; update(); });
  textarea.addEventListener("click", update);
  textarea.addEventListener("blur", () => setTimeout(close, 150));
  textarea.addEventListener("keydown", (event) => {
    if (list.hidden || !options.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
      highlight();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(options[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  return { close };
}
