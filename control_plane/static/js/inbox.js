// The inbox page: every notification, newest first; mark one or all read; live additions
// arrive through bell.js ("downbeat:notification").

import { apiFetch } from "./api.js";
import { CHIME_KEY, chime } from "./bell.js";
import { $, $$, h } from "./ui.js";

const list = $("#inbox-list");
const empty = $("#inbox-empty");
const errorEl = $("#inbox-error");
const markAll = $("#mark-all-read");
const chimeToggle = $("#chime-toggle");
const PAGE = 500;
const MAX_ITEMS = 5000;

let items = new Map();
let filter = "all";

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = !message;
}

function row(note) {
  const button = note.read
    ? null
    : h("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { read: note.id } }, "Mark read");
  return h(
    "li",
    { class: `inbox-item${note.read ? "" : " unread"}`, dataset: { id: note.id, kind: note.kind } },
    h(
      "div",
      { class: "inbox-main" },
      h("span", { class: "inbox-title" }, note.title),
      h("p", { class: "inbox-body" }, note.body),
      h("time", { class: "inbox-time", datetime: note.created_at }, timeFormat.format(new Date(note.created_at))),
    ),
    button,
  );
}

function render() {
  const shown = [...items.values()].filter((n) => filter === "all" || !n.read).sort((a, b) => b.id - a.id);
  list.replaceChildren(...shown.map(row));
  list.removeAttribute("aria-busy");
  empty.hidden = shown.length > 0;
  markAll.disabled = ![...items.values()].some((n) => !n.read);
}

async function load() {
  const next = new Map();
  let since = 0;
  try {
    while (next.size < MAX_ITEMS) {
      const page = await apiFetch(`/api/notifications?since=${since}&limit=${PAGE}`);
      for (const note of page.items) next.set(note.id, note);
      if (!page.next_cursor) break;
      since = Number(page.next_cursor);
    }
    items = next;
    showError("");
  } catch (err) {
    showError(err.detail || "Could not load your notifications.");
  }
  render();
}

list.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-read]");
  if (!button) return;
  const id = Number(button.dataset.read);
  button.disabled = true;
  try {
    await apiFetch(`/api/notifications/${id}/read`, { method: "POST" });
    const note = items.get(id);
    if (note) note.read = true;
    render();
    window.dispatchEvent(new CustomEvent("downbeat:unread-changed"));
  } catch (err) {
    button.disabled = false;
    showError(err.detail || "Could not mark it read.");
  }
});

markAll.addEventListener("click", async () => {
  markAll.disabled = true;
  try {
    await apiFetch("/api/notifications/read-all", { method: "POST" });
    for (const note of items.values()) note.read = true;
    render();
    window.dispatchEvent(new CustomEvent("downbeat:unread-changed"));
  } catch (err) {
    markAll.disabled = false;
    showError(err.detail || "Could not mark everything read.");
  }
});

for (const tab of $$(".tab[data-filter]")) {
  tab.addEventListener("click", () => {
    filter = tab.dataset.filter;
    for (const other of $$(".tab[data-filter]")) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
    }
    render();
  });
}

chimeToggle.checked = localStorage.getItem(CHIME_KEY) === "on";
chimeToggle.addEventListener("change", () => {
  localStorage.setItem(CHIME_KEY, chimeToggle.checked ? "on" : "off");
  if (chimeToggle.checked) chime(); // a user gesture: lets the browser start audio, and a preview
});

window.addEventListener("downbeat:notification", (event) => {
  items.set(event.detail.id, event.detail);
  render();
});

load();
