// Room chat: the chat panel of the room page (protocol: docs/ROOMS.md, "Chat").
//
// room.js owns the room socket and hands this module what concerns chat as `downbeat:chat` events
// (`chat`, `chat_history`, and `error`s whose `request` is "chat") and the socket's status as
// `downbeat:room-status`; messages go out through `window.downbeatRoom.socket`.
//
// Every message gets its own client_id; until the room sends it back it stays "sending" and is
// re-sent with the same client_id (after a reconnect, or when no answer came), which the server
// turns into at most one message. Bodies and names are plain text: they only ever reach the page
// through textContent (ui.js `h`), never as HTML.

import { $, h } from "./ui.js";

const MAX_BODY = 1000; // characters once trimmed, as the server counts them (code points)
const MAX_FRAME_BYTES = 4096; // the room socket's frame limit (UTF-8)
const RESEND_AFTER_MS = 5000; // no answer this long while connected: send again, same client_id
const MAX_ATTEMPTS = 4;
const KEEP = 200; // messages kept on the page; the server keeps the last 50 for late joiners

const panel = $("#chat");
const log = $("#chat-log");
const empty = $("#chat-empty");
const form = $("#chat-form");
const input = $("#chat-input");
const formError = $("#chat-error");
const me = Number(document.body.dataset.userId) || null;

const confirmed = new Map(); // id -> chat message, as the room sent it
const pending = new Map(); // client_id -> {body, state, reason, attempts, timer}
let live = window.downbeatRoom?.socket?.status === "live"; // in case the socket beat us to it

const REASONS = {
  "bad-chat": "The server refused this message.",
  "not-member": "You're no longer in this room.",
  "chat-unavailable": "Chat is unavailable right now.",
  "rate-limited": "You're sending messages too quickly.",
};

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // works without a secure context
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function showFormError(message) {
  formError.textContent = message || "";
  formError.hidden = !message;
}

// --- rendering ----------------------------------------------------------------------------------

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function nearBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

function item({ name, at, body, mine, status, clientId, id }) {
  const when = at ? new Date(at) : null;
  return h("li", { class: `chat-item${mine ? " is-mine" : ""}${status ? ` is-${status.state}` : ""}`, dataset: { chatId: id ?? "", clientId } },
    h("div", { class: "chat-meta" },
      h("span", { class: "chat-name" }, name),
      when ? h("time", { class: "chat-time", datetime: at }, timeFormat.format(when)) : null),
    h("p", { class: "chat-body" }, body),
    status ? statusLine(clientId, status) : null);
}

function statusLine(clientId, status) {
  if (status.state === "failed") {
    const retry = h("button", { type: "button", class: "btn btn-ghost btn-small chat-retry" }, "Retry");
    retry.addEventListener("click", () => {
      const entry = pending.get(clientId);
      if (!entry) return;
      entry.attempts = 0;
      transmit(clientId);
    });
    return h("p", { class: "chat-status", role: "alert" }, `Not sent: ${status.reason} `, retry);
  }
  return h("p", { class: "chat-status" }, status.reason || "Sending…");
}

function render({ scroll = false } = {}) {
  const follow = scroll || nearBottom();
  const rows = [...confirmed.values()]
    .sort((a, b) => a.id - b.id)
    .map((m) => item({
      id: m.id, clientId: m.client_id, name: m.user?.name ?? "Someone", at: m.created_at, body: m.body,
      mine: m.user?.id === me,
    }));
  for (const [clientId, entry] of pending) {
    rows.push(item({ clientId, name: "You", body: entry.body, mine: true, status: entry }));
  }
  log.replaceChildren(...rows);
  empty.hidden = rows.length > 0;
  panel.dataset.messages = String(confirmed.size);
  if (follow) log.scrollTop = log.scrollHeight;
}

// --- sending --------------------------------------------------------------------------------------

function transmit(clientId) {
  const entry = pending.get(clientId);
  if (!entry) return;
  clearTimeout(entry.timer);
  const socket = window.downbeatRoom?.socket;
  if (!live || !socket) {
    entry.state = "queued";
    entry.reason = "Waiting for the connection…";
    render();
    return; // sent when the socket is live again
  }
  if (entry.attempts >= MAX_ATTEMPTS) {
    entry.state = "failed";
    entry.reason = "no answer from the server.";
    render();
    return;
  }
  entry.attempts += 1;
  entry.state = "sending";
  entry.reason = "";
  if (!socket.send({ type: "chat", body: entry.body, client_id: clientId })) {
    entry.attempts -= 1; // it never left: the next "live" sends it
    entry.state = "queued";
    entry.reason = "Waiting for the connection…";
  } else {
    entry.timer = setTimeout(() => transmit(clientId), RESEND_AFTER_MS);
  }
  render();
}

form.addEventListener("submit", (event) => {
  event.preventDefault(); // Enter in the field submits the form: that is "Enter sends"
  const body = input.value.trim();
  showFormError("");
  if (!body) return;
  if ([...body].length > MAX_BODY) {
    showFormError(`Messages can be at most ${MAX_BODY} characters.`);
    return;
  }
  const clientId = newClientId();
  const frame = JSON.stringify({ type: "chat", body, client_id: clientId });
  if (new TextEncoder().encode(frame).length > MAX_FRAME_BYTES) {
    showFormError("That message is too long to send; try splitting it.");
    return;
  }
  pending.set(clientId, { body, state: "sending", reason: "", attempts: 0, timer: null });
  input.value = "";
  transmit(clientId);
  render({ scroll: true });
});

// --- what the room says ---------------------------------------------------------------------------

function settle(message) {
  if (message.user?.id !== me) return;
  const entry = pending.get(message.client_id);
  if (!entry) return;
  clearTimeout(entry.timer);
  pending.delete(message.client_id);
}

function onChat(message) {
  settle(message);
  confirmed.set(message.id, message);
  if (confirmed.size > KEEP) confirmed.delete(Math.min(...confirmed.keys()));
  render();
}

// The room's recent chat, on every (re)connect: it replaces what we held, since the room's chat
// lives only in Redis and may have been forgotten (ids start again) while we were away.
function onHistory(message) {
  confirmed.clear();
  for (const m of message.items || []) {
    settle(m);
    confirmed.set(m.id, m);
  }
  render({ scroll: true });
}

function onError(error) {
  const entry = error.client_id ? pending.get(error.client_id) : null;
  if (!entry) {
    showFormError(error.detail || REASONS[error.code] || "That message was not sent.");
    return;
  }
  clearTimeout(entry.timer);
  if (error.code === "rate-limited" && Number.isFinite(error.retry_after_ms)) {
    const seconds = Math.max(1, Math.ceil(error.retry_after_ms / 1000));
    entry.state = "waiting";
    entry.reason = `Slow down: sending again in ${seconds} s…`;
    entry.attempts = Math.max(0, entry.attempts - 1); // being held back is not a lost attempt
    entry.timer = setTimeout(() => transmit(error.client_id), error.retry_after_ms + 50);
  } else {
    entry.state = "failed";
    entry.reason = error.code === "bad-chat" ? error.detail : REASONS[error.code] || error.detail || "refused.";
  }
  render();
}

document.addEventListener("downbeat:chat", (event) => {
  const message = event.detail;
  if (message.type === "chat") onChat(message);
  else if (message.type === "chat_history") onHistory(message);
  else if (message.type === "error") onError(message);
});

document.addEventListener("downbeat:room-status", (event) => {
  live = event.detail.status === "live";
  panel.dataset.status = event.detail.status;
  if (!live) return;
  for (const [clientId, entry] of pending) {
    if (entry.state === "queued" || entry.state === "sending") transmit(clientId);
  }
});

render();
