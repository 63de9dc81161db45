// The messages page: the conversation list (latest activity first) beside the open
// conversation (conversation.js). /messages and /messages/<id> are the same page; opening
// another conversation changes the address without a reload (history.pushState), and the
// browser's back button follows. On a phone (≤ 600 px, messages.css) list and conversation
// are two views, switched by the root's data-view.
//
// The list is refetched (debounced) whenever the socket says something about conversations:
// the server knows unread counts and order better than any local bookkeeping could.

import { apiFetch } from "./api.js";
import { excerptOf, icon, mountConversation, shortTime } from "./conversation.js";
import { listenSocket } from "./socket.js";
import { $, clearErrors, goToLogin, h, showProblem } from "./ui.js";

const LIST_PAGE = 50;
const REFRESH_AFTER_MS = 250; // many events in a burst, one refetch

const me = Number(document.body.dataset.userId) || null;
const root = $("#messenger");
const listEl = $("#conversation-list");
const listError = $("#list-error");
const listEmpty = $("#list-empty");
const moreButton = $("#list-more");
const placeholder = $("#conversation-placeholder");
const convoHost = $("#conversation-host");
const newToggle = $("#new-toggle");
const newForm = $("#new-form");

let conversations = [];
let cursor = null;
let openId = Number(root.dataset.conversationId) || null;
let current = null; // the mounted conversation component

// --- the list ---------------------------------------------------------------------------------

function excerpt(c) {
  const m = c.last_message;
  if (!m) return "No messages yet";
  const who = m.sender.id === me ? "You: " : c.kind === "direct" ? "" : `${m.sender.name}: `;
  return who + excerptOf(m);
}

function item(c) {
  const unread = c.unread > 0;
  return h("li", { class: `conv-item${unread ? " has-unread" : ""}${c.active ? "" : " is-former"}`, dataset: { id: c.id } },
    h("a", { class: "conv-link", href: `/messages/${c.id}`, "aria-current": c.id === openId ? "page" : null },
      h("span", { class: "conv-top" },
        h("span", { class: "conv-title" }, c.title),
        c.muted ? h("span", { class: "conv-muted", title: "Muted" }, icon("muted"), h("span", { class: "visually-hidden" }, "(muted)")) : null,
        c.last_activity_at ? h("time", { class: "conv-time", datetime: c.last_activity_at }, shortTime(c.last_activity_at)) : null),
      h("span", { class: "conv-bottom" },
        h("span", { class: "conv-excerpt" }, excerpt(c)),
        unread ? h("span", { class: "conv-unread", dataset: { count: c.unread } }, c.unread > 99 ? "99+" : String(c.unread), h("span", { class: "visually-hidden" }, " unread")) : null)));
}

function drawList() {
  listEl.setAttribute("aria-busy", "false");
  listEl.replaceChildren(...conversations.map(item));
  listEmpty.hidden = conversations.length > 0;
  moreButton.hidden = !cursor;
  drawPeople();
}

async function loadList({ more = false } = {}) {
  try {
    // A refresh asks again for as many as are shown, so "More" pages are not lost.
    const limit = more ? LIST_PAGE : Math.min(100, Math.max(LIST_PAGE, conversations.length));
    const query = new URLSearchParams({ limit: String(limit) });
    if (more && cursor) query.set("cursor", cursor);
    const page = await apiFetch(`/api/conversations?${query}`);
    if (more) {
      const known = new Set(conversations.map((c) => c.id));
      conversations = conversations.concat(page.items.filter((c) => !known.has(c.id)));
    } else {
      conversations = page.items;
    }
    cursor = page.next_cursor;
    listError.hidden = true;
    drawList();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    listError.textContent = err.detail || "Could not load your conversations.";
    listError.hidden = false;
  }
}

let refreshTimer = null;
function refreshList() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadList(), REFRESH_AFTER_MS);
}

moreButton.addEventListener("click", () => loadList({ more: true }));

listEl.addEventListener("click", (event) => {
  const link = event.target.closest("a.conv-link");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  open(Number(link.closest("li").dataset.id));
});

// --- the open conversation --------------------------------------------------------------------

function setView(view) {
  root.dataset.view = view;
}

function markCurrent() {
  for (const link of listEl.querySelectorAll("a.conv-link")) {
    if (Number(link.closest("li").dataset.id) === openId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function show(id) {
  if (current && openId === id) return;
  if (current) current.destroy();
  current = null;
  openId = id;
  markCurrent();
  placeholder.hidden = id !== null;
  if (id === null) {
    convoHost.replaceChildren();
    document.title = "Messages · Downbeat";
    return;
  }
  current = mountConversation(convoHost, {
    load: () => apiFetch(`/api/conversations/${id}`),
    onBack: () => navigate(null),
    onChange: refreshList,
  });
}

function navigate(id) {
  const path = id === null ? "/messages" : `/messages/${id}`;
  if (location.pathname !== path) history.pushState({ id }, "", path);
  show(id);
  setView(id === null ? "list" : "conversation");
  if (id === null) {
    // Back on the list: the focus goes where the person was.
    const link = listEl.querySelector("a.conv-link");
    if (link) link.focus();
  }
}

function open(id) {
  navigate(id);
  newForm.hidden = true;
  newToggle.setAttribute("aria-expanded", "false");
}

window.addEventListener("popstate", () => {
  const match = location.pathname.match(/^\/messages\/(\d+)$/);
  const id = match ? Number(match[1]) : null;
  show(id);
  setView(id === null ? "list" : "conversation");
});

// --- a new conversation -------------------------------------------------------------------------

const peopleList = $("#new-people-list");
const peopleEmpty = $("#new-people-empty");
const titleField = $("#new-title-field");

/** Everyone met in a conversation so far: there is no user search, so these can be picked. */
function drawPeople() {
  const chosen = new Set(Array.from(newForm.querySelectorAll("input[name=person]:checked"), (el) => Number(el.value)));
  const people = new Map();
  for (const c of conversations) for (const m of c.members) if (m.id !== me) people.set(m.id, m.name);
  const sorted = [...people.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  peopleList.replaceChildren(...sorted.map(([id, name]) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "person", value: id, checked: chosen.has(id) }), name)));
  peopleEmpty.hidden = sorted.length > 0;
}

newToggle.addEventListener("click", () => {
  const opening = newForm.hidden;
  newForm.hidden = !opening;
  newToggle.setAttribute("aria-expanded", String(opening));
  if (opening) {
    drawPeople();
    newForm.querySelector("input[name=kind]:checked").focus();
  }
});
$("#new-cancel").addEventListener("click", () => {
  newForm.hidden = true;
  newToggle.setAttribute("aria-expanded", "false");
  newToggle.focus();
});
newForm.addEventListener("change", (event) => {
  if (event.target.name === "kind") titleField.hidden = event.target.value !== "group";
});

newForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(newForm);
  const kind = newForm.elements.kind.value;
  const picked = Array.from(newForm.querySelectorAll("input[name=person]:checked"), (el) => Number(el.value));
  const typed = newForm.elements.user_id.value.split(/[\s,]+/).filter(Boolean);
  if (typed.some((v) => !/^\d+$/.test(v))) {
    showProblem(newForm, { detail: "Please fix the marked fields.", errors: { member_ids: ["user ids are whole numbers"] } });
    return;
  }
  const ids = [...new Set([...picked, ...typed.map(Number)])];
  if (kind === "direct" && ids.length !== 1) {
    showProblem(newForm, { detail: "Please fix the marked fields.", errors: { member_ids: ["choose exactly one person for a direct conversation"] } });
    return;
  }
  const body = { kind, member_ids: ids };
  if (kind === "group") body.title = newForm.elements.title.value;
  const submit = newForm.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const made = await apiFetch("/api/conversations", { method: "POST", body });
    newForm.reset();
    titleField.hidden = true;
    await loadList();
    open(made.id);
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(newForm, err);
  } finally {
    submit.disabled = false;
  }
});

// --- live -------------------------------------------------------------------------------------

const LIST_NEWS = new Set(["message", "message_updated", "read", "conversation", "resync"]);
let lastStatus = null;
listenSocket("/ws/notifications", {
  onMessage(news) {
    if (LIST_NEWS.has(news.type)) refreshList();
  },
  onStatus(status) {
    if (status === "live" && lastStatus !== null && lastStatus !== "live") refreshList(); // a reconnect
    lastStatus = status;
  },
});

// /messages?project=<id> or ?session=<id>: that project's or session's conversation, made on
// first open (the list only holds those someone opened already), e.g. from a request.
async function openFromQuery() {
  const query = new URLSearchParams(location.search);
  const [kind, raw] = query.has("project") ? ["projects", query.get("project")] : ["sessions", query.get("session")];
  if (!raw || !/^\d+$/.test(raw)) return;
  try {
    const found = await apiFetch(`/api/${kind}/${raw}/conversation`);
    history.replaceState({ id: found.id }, "", `/messages/${found.id}`);
    show(found.id);
    setView("conversation");
    refreshList();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    const openError = $("#open-error");
    openError.textContent = err.status === 404 ? "That conversation does not exist, or you are not in it." : err.detail;
    openError.hidden = false;
  }
}

loadList();
if (openId !== null) show(openId);
else openFromQuery();
