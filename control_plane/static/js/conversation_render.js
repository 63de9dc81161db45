// How a conversation looks (conversation.js): the component's markup, one message bubble, the
// placeholder of one of ours still being sent, read ticks and reply quotes, plus the small
// formatters the messages page's list shares (shortTime, excerptOf, icon). Builders only:
// which messages are shown, where and when, is decided by conversation_log.js.
//
// Safety: `html` is the server's rendering of safe Markdown (it escapes everything written);
// it is the only text ever inserted as HTML (in fill, below). Names, excerpts, file names and
// errors go in as text (ui.js h).

import { h } from "./ui.js";

export const MAX_BODY = 4000; // contracts.messages.MAX_BODY_CHARS
const EDIT_WINDOW_MS = 15 * 60 * 1000; // contracts.messages.EDIT_WINDOW_S: the server has the last word

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

/** The members other than the viewer (c: the component's shared state, conversation.js). */
export const others = (c) => (c.convo ? c.convo.members.filter((m) => m.id !== c.me) : []);

/** The component's elements, not yet on the page; `uid` keeps their ids unique. */
export function buildShell(uid, { heading, embedded, onBack }) {
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

  return {
    root, titleEl, mutedBadge, membersEl, backButton, openLink, muteButton, blockButton, errorEl,
    earlierButton, list, emptyEl, loadingEl, scroller, jumpButton, typingEl, offlineEl, announcer,
    readonlyEl, replyText, replyCancel, replyBar, input, sendButton, form,
  };
}

/** Who has read one of the viewer's messages, from everyone's read markers. */
export function ticks(message, c) {
  const people = others(c);
  const readers = people.filter((m) => (c.markers.get(m.id) || 0) >= message.id);
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

/** Draw (or redraw) one stored message into its list item. */
export function fill(node, message, c) {
  const { me } = c;
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
  const active = c.convo.active;
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
    actions || mine ? h("div", { class: "msg-foot" }, actions, mine && !message.deleted ? ticks(message, c) : null) : null,
    h("div", { class: "msg-extra" }));
}

/** Draw (or redraw) one of ours not stored yet: "Sending…", or why it failed and Retry. */
export function pendingNode(entry) {
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
