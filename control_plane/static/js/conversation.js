// One conversation: its messages (history loads upward as you scroll), the composer (Enter
// sends, Shift+Enter is a new line), reply, edit, delete, report, read ticks, typing, mute and
// block. The messages page (messages.js) opens one at a time; the project and session pages
// embed their own (project.js, session.js). The API: the shared API.md, "Messages".
//
// Live news comes over the page's one /ws/notifications connection (socket.js listenSocket,
// opened by bell.js): `message`, `message_updated`, `read`, `typing`, `resync`. Sockets may
// drop news while they reconnect, so after every (re)connect and every `resync` the component
// asks GET ?after=<id> from the newest id it last fetched over HTTP. Every message is kept by
// id, so whatever arrives twice (socket and fetch, or the server's two delivery paths) is
// shown once, always in id order.
//
// Safety: `html` is the server's rendering of safe Markdown (it escapes everything written);
// it is the only text ever inserted as HTML. Names, excerpts, file names and errors go in as
// text (ui.js h).

import { apiFetch } from "./api.js";
import { listenSocket } from "./socket.js";
import { goToLogin, h } from "./ui.js";

const SOCKET = "/ws/notifications";
const PAGE = 30; // messages per history request
const CATCH_UP_PAGE = 100;
const EDIT_WINDOW_MS = 15 * 60 * 1000; // contracts.messages.EDIT_WINDOW_S: the server has the last word
const MAX_BODY = 4000; // contracts.messages.MAX_BODY_CHARS
const TYPING_EVERY_MS = 1000; // the server drops more than one typing signal a second anyway
const TYPING_SHOWN_MS = 3000; // a typing hint with nothing after it fades after this long
// The server relays typing on its socket loop (up to half a second late) while a message goes
// out right after its commit: a hint this soon after that person's message is the one that
// led to it, not new typing.
const TYPING_LATE_MS = 1500;
const NEAR_EDGE_PX = 80;

const me = Number(document.body.dataset.userId) || null;
let instances = 0; // unique element ids when a page holds more than one component

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:05" today, "3 Jun 14:05" before. */
export function shortTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  const today = new Date().toDateString() === when.toDateString();
  return today ? timeFormat.format(when) : `${dayFormat.format(when)} ${timeFormat.format(when)}`;
}

/** A fresh id for one message: a retry sends the same one, so the server stores it once. */
export function newClientId() {
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What a list shows of a message: plain text on one line. */
export function excerptOf(message) {
  if (!message) return "";
  if (message.deleted) return "Message deleted";
  const text = (message.body || "").replace(/\s+/g, " ").trim();
  if (text) return text.length > 120 ? `${text.slice(0, 119)}…` : text;
  const file = (message.attachments || [])[0];
  return file ? `File: ${file.name}` : "";
}

// Line icons drawn here rather than emoji: not every system has an emoji font.
const ICONS = {
  clip: ["M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5"],
  muted: ["M18 16v-5a6 6 0 0 0-9.6-4.8", "M6 11v5l-2 2h12", "M10 20a2 2 0 0 0 4 0", "M3 3l18 18"],
};

/** A decorative icon (hidden from screen readers: the text beside it says the same). */
export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "line-icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name]) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

// replaceChildren() would write a skipped part (null) as the text "null".
const redraw = (node, ...parts) => node.replaceChildren(...parts.filter(Boolean));

// A newer version of the same message: a deletion beats anything, a later edit an earlier one.
const editedAt = (message) => (message.edited_at ? Date.parse(message.edited_at) : 0);
function isNewer(next, known) {
  if (next.deleted !== known.deleted) return next.deleted;
  return editedAt(next) > editedAt(known);
}

/**
 * Render a conversation into `host`.
 * - load(): the conversation (GET /api/conversations/{id}, /api/projects/{id}/conversation...)
 * - heading: a fixed heading ("Conversation") for pages that embed it; else the conversation's title
 * - embedded: adds an "Open in Messages" link
 * - onBack(): shows a back button (the phone layout of the messages page)
 * - onChange(conversation): after something the page's list shows changed (mute, read)
 * - onUnavailable(error): the conversation cannot be opened (404: not a member); default: shown inline
 * -> {destroy(), conversation, id}
 */
export function mountConversation(host, { load, heading = null, embedded = false, onBack = null, onChange = null, onUnavailable = null } = {}) {
  const uid = `convo-${++instances}`;
  let convo = null;
  let id = null;
  let destroyed = false;
  let loaded = false;
  const early = []; // socket news that came before the first page did
  const shown = new Map(); // message id -> {message, node}
  const pending = new Map(); // client_id -> {clientId, body, replyTo, reply, state, error, node}
  const markers = new Map(); // user id -> the newest message id they read
  const typers = new Map(); // user id -> timer that forgets them
  const spokeAt = new Map(); // user id -> when their last message arrived here (Date.now())
  let oldestId = null; // the oldest message shown: history continues before it
  let newestId = 0; // the newest message shown
  let syncedId = 0; // the newest id fetched over HTTP with nothing missing before it
  let moreBefore = false;
  let loadingEarlier = false;
  let catching = false;
  let catchAgain = false;
  let readSent = 0;
  let lastTyping = 0;
  let replyTo = null;
  let inView = false;
  let blocked = false;

  // --- the markup -------------------------------------------------------------------------

  const titleEl = h("h2", { class: "convo-title", id: `${uid}-title` }, heading || "Conversation");
  const mutedBadge = h("span", { class: "badge convo-muted-badge", hidden: true }, icon("muted"), "Muted");
  const membersEl = h("p", { class: "convo-members muted small" });
  const backButton = onBack
    ? h("button", { type: "button", class: "btn btn-ghost btn-small convo-back", "aria-label": "Back to conversations" }, "← Back")
    : null;
  const openLink = embedded ? h("a", { class: "btn btn-ghost btn-small convo-open", href: "/messages", hidden: true }, "Open in Messages") : null;
  const muteButton = h("button", { type: "button", class: "btn btn-ghost btn-small convo-mute", "aria-pressed": "false", hidden: true }, "Mute");
  const blockButton = h("button", { type: "button", class: "btn btn-ghost btn-small convo-block", hidden: true }, "Block");
  const errorEl = h("p", { class: "form-error convo-error", role: "alert", hidden: true });
  const earlierButton = h("button", { type: "button", class: "btn btn-ghost btn-small convo-earlier", hidden: true }, "Load earlier messages");
  const list = h("ol", { class: "msg-list" });
  const emptyEl = h("p", { class: "convo-empty muted", hidden: true }, "No messages yet. Say hello.");
  const loadingEl = h("p", { class: "convo-loading muted" }, "Loading…");
  // Focusable, so the keyboard scrolls the history too.
  const scroller = h("div", { class: "convo-scroll", role: "region", "aria-label": "Messages", tabindex: "0", "aria-busy": "true" },
    earlierButton, loadingEl, list, emptyEl);
  const jumpButton = h("button", { type: "button", class: "btn btn-small convo-jump", hidden: true }, "New messages ↓");
  const typingEl = h("p", { class: "convo-typing muted small", "aria-live": "polite" });
  const offlineEl = h("p", { class: "convo-offline small", role: "status", hidden: true }, "Connection lost: reconnecting… New messages show up once it is back.");
  // New messages from others are read out here, once each (the log itself is not a live
  // region: history loading upward would be read out too).
  const announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const readonlyEl = h("p", { class: "convo-readonly muted", hidden: true });
  const replyText = h("span", { class: "convo-reply-text" });
  const replyCancel = h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "Cancel the reply" }, "✕");
  const replyBar = h("div", { class: "convo-reply", hidden: true }, replyText, replyCancel);
  const input = h("textarea", {
    id: `${uid}-input`, class: "convo-input", name: "body", rows: "2", maxlength: String(MAX_BODY),
    placeholder: "Write a message", "aria-describedby": `${uid}-hint`,
  });
  const sendButton = h("button", { type: "submit", class: "btn btn-primary convo-send" }, "Send");
  const form = h("form", { class: "convo-form", novalidate: true, hidden: true },
    h("label", { for: `${uid}-input`, class: "visually-hidden" }, "Message"),
    input, sendButton,
    h("p", { id: `${uid}-hint`, class: "hint convo-hint" }, "Enter sends · Shift+Enter for a new line"));

  const root = h("div", { class: `convo${embedded ? " convo-embedded" : ""}`, dataset: { state: "loading" } },
    h("header", { class: "convo-head" },
      backButton,
      h("div", { class: "convo-titles" }, h("div", { class: "convo-title-row" }, titleEl, mutedBadge), membersEl),
      h("div", { class: "convo-tools" }, openLink, muteButton, blockButton)),
    errorEl, offlineEl, scroller, jumpButton, typingEl, announcer, readonlyEl, replyBar, form);
  host.replaceChildren(root);

  const showError = (text) => {
    errorEl.textContent = text || "";
    errorEl.hidden = !text;
  };
  const problem = (err, fallback) => {
    if (err && err.status === 401) goToLogin();
    return (err && err.detail) || fallback;
  };

  // --- people -----------------------------------------------------------------------------

  const nameOf = (userId) => {
    const member = convo && convo.members.find((m) => m.id === userId);
    return member ? member.name : "Someone";
  };
  const others = () => (convo ? convo.members.filter((m) => m.id !== me) : []);

  function drawHead() {
    if (!heading) titleEl.textContent = convo.title;
    const names = convo.members.map((m) => (m.id === me ? "you" : m.name));
    membersEl.textContent = convo.kind === "direct" ? "" : `With ${names.join(", ")}`;
    membersEl.hidden = !membersEl.textContent;
    if (openLink) {
      openLink.href = `/messages/${convo.id}`;
      openLink.hidden = false;
    }
    muteButton.hidden = false;
    muteButton.setAttribute("aria-pressed", String(Boolean(convo.muted)));
    muteButton.textContent = convo.muted ? "Unmute" : "Mute";
    muteButton.title = convo.muted ? "You are not told about new messages here" : "Stop being told about new messages here";
    const other = convo.kind === "direct" ? others()[0] : null;
    blockButton.hidden = !other;
    if (other) blockButton.textContent = blocked ? `Unblock ${other.name}` : `Block ${other.name}`;
    mutedBadge.hidden = !convo.muted;
    form.hidden = !convo.active || blocked;
    readonlyEl.hidden = convo.active && !blocked;
    readonlyEl.textContent = !convo.active
      ? "You are no longer in this conversation: you can read what was said while you were."
      : blocked ? "You blocked this person: neither of you can send messages here." : "";
  }

  // --- messages ---------------------------------------------------------------------------

  function ticks(message) {
    const people = others();
    const readers = people.filter((m) => (markers.get(m.id) || 0) >= message.id);
    let state = "sent";
    let label = "Sent";
    if (people.length && readers.length === people.length) {
      state = "read";
      label = people.length === 1 ? `Read by ${people[0].name}` : "Read by everyone";
    } else if (readers.length) {
      label = `Sent · read by ${readers.map((m) => m.name).join(", ")}`;
    }
    return h("span", { class: "msg-ticks", dataset: { state }, title: label },
      h("span", { "aria-hidden": "true" }, state === "read" ? "✓✓" : "✓"),
      h("span", { class: "visually-hidden" }, label));
  }

  function quote(preview) {
    if (!preview) return null;
    return h("blockquote", { class: "msg-quote" },
      h("span", { class: "msg-quote-name" }, preview.sender.name), " ",
      h("span", { class: "msg-quote-text" }, preview.excerpt || "Message deleted"));
  }

  function actionButton(action, label, text = label) {
    return h("button", { type: "button", class: "msg-action", dataset: { action }, "aria-label": label }, text);
  }

  function fill(node, message) {
    const mine = message.sender.id === me;
    const canEdit = mine && !message.deleted && Date.now() - Date.parse(message.created_at) < EDIT_WINDOW_MS;
    node.className = `msg${mine ? " is-mine" : ""}${message.deleted ? " is-deleted" : ""}${(message.mentions || []).includes(me) ? " is-mention" : ""}`;
    let body;
    if (message.deleted) {
      body = h("p", { class: "msg-body msg-tombstone" }, "This message was deleted.");
    } else {
      body = h("div", { class: "msg-body" });
      body.innerHTML = message.html; // the server's escaped, safe Markdown: the one HTML we insert
    }
    const files = message.attachments && message.attachments.length
      ? h("ul", { class: "msg-files", "aria-label": "Attached files" }, message.attachments.map((file) => h("li", {},
        file.deleted
          ? h("span", { class: "muted" }, icon("clip"), `${file.name} (v${file.number}, deleted)`)
          : h("a", { href: file.url }, icon("clip"), `${file.name} (v${file.number})`))))
      : null;
    // A former member only reads (and may still report what they read).
    const active = convo.active;
    const actions = message.deleted || (mine && !active) ? null : h("div", { class: "msg-actions" },
      active ? actionButton("reply", `Reply to ${mine ? "your message" : message.sender.name}`, "Reply") : null,
      canEdit && active ? actionButton("edit", "Edit your message", "Edit") : null,
      mine ? actionButton("delete", "Delete your message", "Delete") : null,
      mine ? null : actionButton("report", `Report ${message.sender.name}'s message`, "Report"));
    redraw(node,
      h("div", { class: "msg-meta" },
        h("span", { class: "msg-sender" }, mine ? "You" : message.sender.name),
        h("time", { class: "msg-time", datetime: message.created_at, title: fullFormat.format(new Date(message.created_at)) }, shortTime(message.created_at)),
        message.edited_at && !message.deleted ? h("span", { class: "msg-edited muted" }, "edited") : null),
      quote(message.reply_preview),
      body,
      files,
      // One row for what can be done with it and, on your own, who read it: bubbles stay short.
      actions || mine ? h("div", { class: "msg-foot" }, actions, mine && !message.deleted ? ticks(message) : null) : null,
      h("div", { class: "msg-extra" }));
  }

  // In id order; messages still being sent stay after every stored one.
  function place(node, messageId) {
    for (let el = list.lastElementChild; el; el = el.previousElementSibling) {
      if (el.dataset.id && Number(el.dataset.id) < messageId) {
        el.after(node);
        return;
      }
    }
    list.prepend(node);
  }

  /** Show a message, or its newer version; false when it was shown already. */
  function upsert(message) {
    if (!message || message.conversation_id !== id) return false;
    const known = shown.get(message.id);
    if (known) {
      if (isNewer(message, known.message)) {
        known.message = message;
        if (!known.node.querySelector(".msg-edit-form")) fill(known.node, message);
      }
      return false;
    }
    // One of ours being sent: its placeholder becomes the stored message.
    const own = message.sender.id === me && message.client_id ? pending.get(message.client_id) : null;
    if (own) {
      pending.delete(message.client_id);
      own.node.remove();
    }
    const node = h("li", { dataset: { id: message.id } });
    fill(node, message);
    shown.set(message.id, { message, node });
    place(node, message.id);
    newestId = Math.max(newestId, message.id);
    oldestId = oldestId === null ? message.id : Math.min(oldestId, message.id);
    // The server moves the sender's own marker with each post: nothing to mark read for it.
    if (message.sender.id === me) markers.set(me, Math.max(markers.get(me) || 0, message.id));
    if (typers.has(message.sender.id)) forgetTyper(message.sender.id);
    emptyEl.hidden = true;
    return true;
  }

  function redrawTicks() {
    for (const { message, node } of shown.values()) {
      const old = node.querySelector(".msg-ticks");
      if (old) old.replaceWith(ticks(message));
    }
  }

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_EDGE_PX;
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
    jumpButton.hidden = true;
  };

  /** Show messages (from the socket, a catch-up or our own send); the reader who was at
   * the bottom stays there, one who scrolled up gets a button to jump down. */
  function addAll(messages, { fromMe = false } = {}) {
    const stick = fromMe || atBottom();
    const added = messages.filter((m) => upsert(m));
    if (!added.length) return;
    if (stick) toBottom();
    else jumpButton.hidden = false;
    const theirs = added.filter((m) => m.sender.id !== me && !m.deleted);
    for (const m of theirs) spokeAt.set(m.sender.id, Date.now());
    if (theirs.length) {
      const last = theirs[theirs.length - 1];
      announcer.textContent = theirs.length === 1
        ? `New message from ${last.sender.name}: ${excerptOf(last)}`
        : `${theirs.length} new messages, the last from ${last.sender.name}: ${excerptOf(last)}`;
    }
    markRead();
  }

  // --- history ----------------------------------------------------------------------------

  const messagesPath = () => `/api/conversations/${id}/messages`;

  async function loadEarlier() {
    if (!loaded || loadingEarlier || !moreBefore || oldestId === null) return;
    loadingEarlier = true;
    earlierButton.disabled = true;
    scroller.setAttribute("aria-busy", "true");
    try {
      const page = await apiFetch(`${messagesPath()}?before=${oldestId}&limit=${PAGE}`);
      if (destroyed) return;
      // Keep what the reader looks at in place while older messages go in above it.
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      for (const message of page.items) upsert(message);
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      moreBefore = page.has_more;
    } catch (err) {
      showError(problem(err, "Could not load earlier messages."));
    } finally {
      loadingEarlier = false;
      earlierButton.disabled = false;
      earlierButton.hidden = !moreBefore;
      scroller.setAttribute("aria-busy", "false");
    }
  }

  /** Until the log can scroll (or history ends): otherwise nothing could trigger loading upward. */
  async function fillView() {
    while (!destroyed && moreBefore && scroller.scrollHeight <= scroller.clientHeight + NEAR_EDGE_PX && scroller.clientHeight > 0) {
      const before = oldestId;
      await loadEarlier();
      if (oldestId === before) return;
    }
  }

  /** Everything after the newest id fetched over HTTP: after a (re)connect or a `resync`. */
  async function catchUp() {
    if (!loaded || destroyed) return;
    if (catching) {
      catchAgain = true;
      return;
    }
    catching = true;
    try {
      do {
        catchAgain = false;
        const fresh = await apiFetch(`/api/conversations/${id}`);
        if (destroyed) return;
        takeConversation(fresh);
        const found = [];
        for (;;) {
          const page = await apiFetch(`${messagesPath()}?after=${syncedId}&limit=${CATCH_UP_PAGE}`);
          if (destroyed) return;
          found.push(...page.items);
          if (page.items.length) syncedId = Math.max(syncedId, page.items[page.items.length - 1].id);
          if (!page.has_more || !page.items.length) break;
        }
        addAll(found);
      } while (catchAgain);
      showError("");
    } catch (err) {
      if (err.status === 404) return unavailable(err);
      // The next reconnect tries again; what is shown stays.
    } finally {
      catching = false;
    }
  }

  function takeConversation(fresh) {
    convo = fresh;
    for (const [userId, upTo] of Object.entries(fresh.read_markers || {})) {
      markers.set(Number(userId), Math.max(markers.get(Number(userId)) || 0, upTo));
    }
    drawHead();
    redrawTicks();
  }

  function unavailable(err) {
    root.dataset.state = "unavailable";
    scroller.setAttribute("aria-busy", "false");
    loadingEl.hidden = true;
    form.hidden = true;
    if (onUnavailable) onUnavailable(err);
    else showError(err.status === 404 ? "This conversation does not exist, or you are not in it." : problem(err, "Could not open this conversation."));
  }

  async function start() {
    let page;
    try {
      const first = await load();
      if (destroyed) return;
      id = first.id;
      if (first.kind === "direct") {
        const mine = await apiFetch("/api/users/blocked");
        const other = first.members.find((m) => m.id !== me);
        blocked = Boolean(other && mine.items.some((b) => b.id === other.id));
      }
      takeConversation(first);
      page = await apiFetch(`${messagesPath()}?limit=${PAGE}`);
      if (destroyed) return;
    } catch (err) {
      if (destroyed) return;
      if (err.status === 401) return goToLogin();
      return unavailable(err);
    }
    for (const message of page.items) upsert(message);
    moreBefore = page.has_more;
    syncedId = newestId;
    loaded = true;
    root.dataset.state = "ready";
    loadingEl.hidden = true;
    emptyEl.hidden = shown.size > 0;
    earlierButton.hidden = !moreBefore;
    scroller.setAttribute("aria-busy", "false");
    for (const news of early.splice(0)) hear(news);
    toBottom();
    await fillView();
    toBottom();
    markRead();
    // Anything posted between the page's read and the socket's subscription.
    catchUp();
  }

  // --- read markers -----------------------------------------------------------------------

  const visible = () => inView && document.visibilityState === "visible" && !root.hidden;

  /** Up to the newest message shown, once the conversation is on screen and scrolled to its
   * end (someone reading older messages has not seen the new ones yet). */
  async function markRead() {
    if (!loaded || !visible() || !newestId || !atBottom()) return;
    const upTo = newestId;
    if (upTo <= Math.max(markers.get(me) || 0, readSent)) return;
    readSent = upTo;
    try {
      await apiFetch(`/api/conversations/${id}/read`, { method: "POST", body: { up_to: upTo } });
      markers.set(me, Math.max(markers.get(me) || 0, upTo));
      if (convo) convo.unread = 0;
      if (onChange) onChange(convo);
      window.dispatchEvent(new CustomEvent("downbeat:messages-read", { detail: { conversation_id: id, up_to: upTo } }));
    } catch (err) {
      readSent = 0; // try again with the next message or glance
      if (err.status === 401) goToLogin();
    }
  }

  const observer = new IntersectionObserver((entries) => {
    inView = entries.some((entry) => entry.isIntersecting);
    if (inView) markRead();
  });
  observer.observe(scroller);
  const onVisibility = () => markRead();
  document.addEventListener("visibilitychange", onVisibility);

  // --- typing -----------------------------------------------------------------------------

  function drawTyping() {
    const names = [...typers.keys()].map(nameOf);
    typingEl.textContent = !names.length ? ""
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : "Several people are typing…";
  }

  function forgetTyper(userId) {
    clearTimeout(typers.get(userId));
    typers.delete(userId);
    drawTyping();
  }

  function someoneTypes(userId) {
    if (userId === me || Date.now() - (spokeAt.get(userId) || 0) < TYPING_LATE_MS) return;
    clearTimeout(typers.get(userId));
    typers.set(userId, setTimeout(() => forgetTyper(userId), TYPING_SHOWN_MS));
    drawTyping();
  }

  input.addEventListener("input", () => {
    const now = Date.now();
    if (!id || !input.value.trim() || now - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = now;
    socket.send({ type: "typing", conversation_id: id });
  });

  // --- sending ----------------------------------------------------------------------------

  function pendingNode(entry) {
    const failed = entry.state === "failed";
    const node = entry.node || h("li", { dataset: { clientId: entry.clientId } });
    node.className = `msg is-mine is-pending${failed ? " is-failed" : ""}`;
    redraw(node,
      h("div", { class: "msg-meta" }, h("span", { class: "msg-sender" }, "You")),
      quote(entry.reply),
      h("p", { class: "msg-body msg-plain" }, entry.body),
      h("div", { class: "msg-foot" }, failed
        ? h("span", { class: "msg-failed", role: "alert" }, `Not sent: ${entry.error} `,
          h("button", { type: "button", class: "btn btn-ghost btn-small msg-retry", dataset: { action: "retry" } }, "Retry"))
        : h("span", { class: "msg-sending muted" }, "Sending…")));
    entry.node = node;
    return node;
  }

  async function transmit(entry) {
    entry.state = "sending";
    pendingNode(entry);
    try {
      const message = await apiFetch(`${messagesPath()}`, {
        method: "POST",
        body: { body: entry.body, client_id: entry.clientId, reply_to: entry.replyTo },
      });
      if (destroyed) return;
      addAll([message], { fromMe: true });
      pending.delete(entry.clientId); // the socket may have brought it first
      entry.node.remove();
    } catch (err) {
      if (destroyed || !pending.has(entry.clientId)) return;
      entry.state = "failed";
      entry.error = problem(err, "Could not send.");
      pendingNode(entry);
    }
  }

  function send() {
    const body = input.value.trim();
    if (!body || !id) return;
    const entry = {
      clientId: newClientId(),
      body,
      replyTo: replyTo ? replyTo.id : null,
      reply: replyTo ? { sender: { name: replyTo.sender.name }, excerpt: excerptOf(replyTo) } : null,
      state: "sending",
      error: null,
      node: null,
    };
    pending.set(entry.clientId, entry);
    list.append(pendingNode(entry));
    emptyEl.hidden = true;
    input.value = "";
    setReply(null);
    toBottom();
    transmit(entry);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape" && replyTo) {
      setReply(null);
    }
  });

  function setReply(message) {
    replyTo = message;
    replyBar.hidden = !message;
    if (message) {
      replyText.replaceChildren("Replying to ", h("strong", {}, message.sender.id === me ? "yourself" : message.sender.name), `: ${excerptOf(message)}`);
      input.focus();
    }
  }
  replyCancel.addEventListener("click", () => setReply(null));

  // --- edit, delete, report ---------------------------------------------------------------

  function extraOf(node) {
    return node.querySelector(".msg-extra");
  }

  function inlineError(node, text) {
    const extra = extraOf(node);
    extra.replaceChildren(h("p", { class: "form-error msg-error", role: "alert" }, text));
  }

  function startEdit(entry) {
    const { node, message } = entry;
    const bodyEl = node.querySelector(".msg-body");
    if (!bodyEl) return; // already being edited
    const field = h("textarea", { class: "msg-edit-input", rows: "2", maxlength: String(MAX_BODY), "aria-label": "Edit your message" });
    field.value = message.body;
    const save = h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Save");
    const cancel = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "Cancel");
    const editor = h("form", { class: "msg-edit-form", novalidate: true }, field, h("div", { class: "msg-edit-actions" }, save, cancel));
    bodyEl.replaceWith(editor);
    field.focus();
    const close = () => fill(node, entry.message);
    cancel.addEventListener("click", close);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
      else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        editor.requestSubmit();
      }
    });
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      try {
        const changed = await apiFetch(`/api/messages/${message.id}`, { method: "PATCH", body: { body: field.value } });
        // The server's answer, unless the socket already brought something newer (a deletion).
        if (!isNewer(entry.message, changed)) entry.message = changed;
        close();
      } catch (err) {
        save.disabled = false;
        inlineError(node, problem(err, "Could not save."));
      }
    });
  }

  function askDelete(entry) {
    const { node, message } = entry;
    const yes = h("button", { type: "button", class: "btn btn-danger btn-small" }, "Delete");
    const no = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "Keep");
    extraOf(node).replaceChildren(h("div", { class: "msg-confirm", role: "group", "aria-label": "Delete this message?" },
      h("span", {}, "Delete this message for everyone?"), yes, no));
    yes.focus();
    no.addEventListener("click", () => extraOf(node).replaceChildren());
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await apiFetch(`/api/messages/${message.id}`, { method: "DELETE" });
        // The socket brings the tombstone as well; show it now either way.
        upsert({ ...entry.message, deleted: true, body: "", html: "", attachments: [], mentions: [] });
      } catch (err) {
        inlineError(node, problem(err, "Could not delete."));
      }
    });
  }

  function askReport(entry) {
    const { node, message } = entry;
    const fieldId = `${uid}-report-${message.id}`;
    const reason = h("textarea", { id: fieldId, rows: "2", maxlength: "1000", required: true });
    const submit = h("button", { type: "submit", class: "btn btn-danger btn-small" }, "Report");
    const cancel = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "Cancel");
    const errorLine = h("p", { class: "form-error", role: "alert", hidden: true });
    const reportForm = h("form", { class: "msg-report-form", novalidate: true },
      h("label", { for: fieldId }, `Why are you reporting this message from ${message.sender.name}?`),
      reason, errorLine, h("div", { class: "msg-edit-actions" }, submit, cancel));
    extraOf(node).replaceChildren(reportForm);
    reason.focus();
    cancel.addEventListener("click", () => extraOf(node).replaceChildren());
    reportForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!reason.value.trim()) {
        errorLine.textContent = "Tell the moderators what is wrong with it.";
        errorLine.hidden = false;
        return;
      }
      submit.disabled = true;
      try {
        await apiFetch(`/api/messages/${message.id}/report`, { method: "POST", body: { reason: reason.value } });
        extraOf(node).replaceChildren(h("p", { class: "msg-reported", role: "status" }, "Reported. Thank you: the moderators will look at it."));
      } catch (err) {
        submit.disabled = false;
        errorLine.textContent = problem(err, "Could not report.");
        errorLine.hidden = false;
      }
    });
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || !list.contains(button)) return;
    const node = button.closest("li");
    const action = button.dataset.action;
    if (action === "retry") {
      const entry = pending.get(node.dataset.clientId);
      if (entry) transmit(entry);
      return;
    }
    const entry = shown.get(Number(node.dataset.id));
    if (!entry) return;
    if (action === "reply") setReply(entry.message);
    else if (action === "edit") startEdit(entry);
    else if (action === "delete") askDelete(entry);
    else if (action === "report") askReport(entry);
  });

  // --- the conversation's own controls ----------------------------------------------------

  muteButton.addEventListener("click", async () => {
    muteButton.disabled = true;
    try {
      const fresh = await apiFetch(`/api/conversations/${id}/mute`, { method: "PUT", body: { muted: !convo.muted } });
      takeConversation(fresh);
      if (onChange) onChange(convo);
      window.dispatchEvent(new CustomEvent("downbeat:messages-read", { detail: { conversation_id: id } }));
    } catch (err) {
      showError(problem(err, "Could not change this."));
    } finally {
      muteButton.disabled = false;
    }
  });

  blockButton.addEventListener("click", async () => {
    const other = others()[0];
    if (!other) return;
    blockButton.disabled = true;
    try {
      await apiFetch(`/api/users/${other.id}/block`, { method: blocked ? "DELETE" : "POST" });
      blocked = !blocked;
      showError("");
      drawHead();
    } catch (err) {
      showError(problem(err, "Could not change this."));
    } finally {
      blockButton.disabled = false;
    }
  });

  if (backButton) backButton.addEventListener("click", () => onBack());
  earlierButton.addEventListener("click", loadEarlier);
  jumpButton.addEventListener("click", () => {
    toBottom();
    markRead();
  });
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_EDGE_PX) loadEarlier();
    if (atBottom()) {
      jumpButton.hidden = true;
      markRead();
    }
  }, { passive: true });

  // --- live -------------------------------------------------------------------------------

  function hear(news) {
    if (!loaded) {
      early.push(news);
      return;
    }
    if (news.type === "message") {
      addAll([news.message]);
    } else if (news.type === "message_updated") {
      // Only messages shown: an older one would go in above a gap in the history.
      if (news.message && shown.has(news.message.id)) upsert(news.message);
    } else if (news.type === "read") {
      markers.set(news.user_id, Math.max(markers.get(news.user_id) || 0, news.up_to));
      redrawTicks();
    } else if (news.type === "typing") {
      someoneTypes(news.user_id);
    }
  }

  let lastStatus = null;
  const socket = listenSocket(SOCKET, {
    onMessage(news) {
      if (destroyed) return;
      if (news.type === "resync") {
        catchUp();
        return;
      }
      const about = news.type === "message" || news.type === "message_updated" ? news.message && news.message.conversation_id : news.conversation_id;
      if (id === null || about !== id) return;
      if (news.type === "conversation") catchUp(); // members or title changed
      else hear(news);
    },
    onStatus(status) {
      // Live again (or for the first time since this opened): fetch whatever went by meanwhile.
      if (status === "live" && lastStatus !== "live") catchUp();
      lastStatus = status;
      root.dataset.socket = status;
      offlineEl.hidden = status !== "offline";
    },
  });

  start();

  return {
    get id() { return id; },
    get conversation() { return convo; },
    destroy() {
      destroyed = true;
      socket.stop();
      observer.disconnect();
      document.removeEventListener("visibilitychange", onVisibility);
      for (const timer of typers.values()) clearTimeout(timer);
      host.replaceChildren();
    },
  };
}
