// The room page: joins the room, opens the room socket and routes its messages to the player
// (player.js + sync.js), the queue (queue.js), the participant list and the status line.
// Hooks for other parts of the page (protocol note): every `visual` message is re-dispatched as
// a `downbeat:visual` CustomEvent on document, and `window.downbeatRoom = {code, socket, clock}`.
// Chat (room_chat.js): `chat`, `chat_history` and chat `error`s go out as `downbeat:chat`, the
// socket's status as `downbeat:room-status`.

import { apiFetch } from "./api.js";
import { createPlayerView } from "./player.js";
import { createQueueView } from "./queue.js";
import { openSocket } from "./socket.js";
import { ServerClock } from "./sync.js";
import { $, flash, goToLogin, h } from "./ui.js";

const root = $("#room");
const code = root.dataset.code;
const me = Number(document.body.dataset.userId) || null;
const participantsList = $("#participants");
const participantCount = $("#participant-count");
const roomStatus = $("#room-status");
const roomError = $("#room-error");
const roomRole = $("#room-role");
const hostPanel = $("#host-panel");
const allowQueue = $("#allow-queue");
const allowControl = $("#allow-control");
const syncStatus = $("#sync-status");

const ERRORS = {
  "not-host": "Only the host can do that.",
  "not-allowed": "The host hasn't allowed that for listeners.",
  "unknown-entry": "That track is no longer in the queue.",
  "bad-message": "The server did not understand that request.",
  "auth-required": "Please log in again.",
};

// --- socket, clock, views -------------------------------------------------------------------

let socket = null;
const send = (message) => (socket ? socket.send(message) : false);
const clock = new ServerClock(send);
const playerView = createPlayerView({ send, clock });
const queueView = createQueueView({ send });
let roster = { hostId: Number(root.dataset.hostId) || null, items: [], allowQueue: false, allowControl: false };

function showRoomError(message) {
  roomError.textContent = message || "";
  roomError.hidden = !message;
}

// --- participants, host role and permissions ---------------------------------------------------

const participantId = (p) => Number(p.user_id ?? p.id);
const isHostItem = (p, hostId) => p.role === "host" || p.is_host === true || participantId(p) === hostId;

function permissionsFor(userId) {
  const mine = roster.items.find((p) => participantId(p) === userId);
  const host = userId !== null && userId === roster.hostId;
  return {
    host,
    control: host || Boolean(mine ? mine.can_control : roster.allowControl),
    queue: host || Boolean(mine ? mine.can_queue : roster.allowQueue),
  };
}

function participantActions(p) {
  const id = participantId(p);
  if (roster.hostId !== me || id === me) return null;
  const handOver = h("button", { type: "button", class: "btn btn-ghost hand-over", disabled: p.present === false, title: "Make this person the host" }, "Make host");
  handOver.addEventListener("click", () => {
    if (window.confirm(`Hand the room over to ${p.name}? You will become a listener.`)) send({ type: "hand_over", user_id: id });
  });
  const stream = h("button", { type: "button", class: "btn btn-ghost allow-stream", "aria-pressed": p.can_stream ? "true" : "false" }, p.can_stream ? "Stop stream" : "Let stream");
  stream.addEventListener("click", () => send({ type: "allow_stream", user_id: id, allowed: !p.can_stream }));
  return h("span", { class: "participant-actions" }, handOver, stream);
}

function renderParticipants() {
  const items = [...roster.items].sort((a, b) =>
    Number(isHostItem(b, roster.hostId)) - Number(isHostItem(a, roster.hostId))
    || Number(b.present !== false) - Number(a.present !== false));
  participantsList.replaceChildren(...items.map((p) => {
    const present = p.present !== false;
    return h("li", { class: present ? "is-present" : "is-away", dataset: { userId: participantId(p), present: String(present) } },
      h("span", { class: "presence", title: present ? "here now" : "away", "aria-label": present ? "present" : "away" }),
      h("span", { class: "avatar", "aria-hidden": "true" }, (p.name || "?").slice(0, 1).toUpperCase()),
      h("span", { class: "participant-name" }, p.name),
      isHostItem(p, roster.hostId) ? h("span", { class: "badge host-badge" }, "host") : null,
      participantId(p) === me ? h("span", { class: "badge badge-you" }, "you") : null,
      participantActions(p));
  }));
  participantCount.textContent = String(items.filter((p) => p.present !== false).length);
}

function applyRoster() {
  renderParticipants();
  const perms = permissionsFor(me);
  root.dataset.isHost = String(perms.host);
  const host = roster.items.find((p) => participantId(p) === roster.hostId);
  roomRole.textContent = perms.host ? "Room · you're the host" : `Room · hosted by ${host ? host.name : "someone else"}`;
  hostPanel.hidden = !perms.host;
  allowQueue.checked = roster.allowQueue;
  allowControl.checked = roster.allowControl;
  playerView.setPermissions(perms);
  queueView.setPermissions(perms);
}

function onParticipants(message) {
  const previousHost = roster.hostId;
  roster = {
    hostId: Number(message.host_id ?? roster.hostId),
    items: Array.isArray(message.items) ? message.items : [],
    allowQueue: Boolean(message.allow_queue),
    allowControl: Boolean(message.allow_control),
  };
  applyRoster();
  if (previousHost !== null && roster.hostId !== previousHost && roster.hostId === me) flash("You're now the host of this room.", "info");
}

allowQueue.addEventListener("change", () => send({ type: "set_permissions", allow_queue: allowQueue.checked }));
allowControl.addEventListener("change", () => send({ type: "set_permissions", allow_control: allowControl.checked }));

// --- copy link / leave ------------------------------------------------------------------------

$("#copy-link").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const url = `${location.origin}/rooms/${code}`;
  let ok = false;
  try {
    await navigator.clipboard.writeText(url);
    ok = true;
  } catch {
    const scratch = h("textarea", { class: "visually-hidden", readonly: true });
    scratch.value = url;
    document.body.append(scratch);
    scratch.select();
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    scratch.remove();
  }
  button.textContent = ok ? "Copied!" : "Copy failed";
  if (!ok) flash(`Share this link: ${url}`, "info", { timeout: 15000 });
  setTimeout(() => { button.textContent = "Copy link"; }, 2000);
});

$("#leave-room").addEventListener("click", async () => {
  document.dispatchEvent(new CustomEvent("downbeat:leave"));
  if (socket) socket.close();
  playerView.close();
  try {
    await apiFetch(`/api/rooms/${code}/leave`, { method: "POST" });
  } catch { /* leaving anyway */ }
  location.assign("/rooms");
});

// --- connection and sync status -----------------------------------------------------------------

const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "—");

function renderSync() {
  const probe = playerView.probe();
  const connected = roomStatus.dataset.status === "live";
  let state = "waiting";
  let label = "Measuring clock…";
  if (!connected) {
    state = "offline";
    label = "Not connected";
  } else if (clock.ready) {
    const error = probe.playing ? probe.error_ms : 0;
    state = Number.isFinite(error) && Math.abs(error) > 5 ? "converging" : "synced";
    label = state === "synced" ? (probe.playing ? "In sync" : "Clock synced") : "Catching up…";
  }
  syncStatus.dataset.state = state;
  syncStatus.dataset.offsetMs = fmt(clock.offsetMs, 2);
  syncStatus.dataset.rttMs = fmt(clock.rttMs, 2);
  $(".sync-label", syncStatus).textContent = label;
  $("#sync-offset").textContent = clock.ready ? `${clock.offsetMs >= 0 ? "+" : ""}${fmt(clock.offsetMs)}` : "—";
  $("#sync-rtt").textContent = fmt(clock.rttMs);
  $("#sync-error").textContent = probe.playing && Number.isFinite(probe.error_ms) ? fmt(probe.error_ms) : "—";
}
setInterval(renderSync, 500);

function setRoomStatus(status) {
  roomStatus.textContent = status;
  roomStatus.dataset.status = status;
  document.dispatchEvent(new CustomEvent("downbeat:room-status", { detail: { status } }));
  if (status === "live") clock.start(); // a fresh burst after every (re)connect
  else clock.stop();
  renderSync();
}

// --- the room socket --------------------------------------------------------------------------

// queue and participants carry the room version they were read at; two gateway processes may
// publish in the opposite order of their commits, so an older one must not undo a newer one.
// (`state` is ordered by the player itself.)
const seenVersion = { queue: -1, participants: -1 };

function isStale(message) {
  if (!(message.type in seenVersion) || !Number.isFinite(message.version)) return false;
  if (message.version < seenVersion[message.type]) return true;
  seenVersion[message.type] = message.version;
  return false;
}

// Latest version seen per message type: shown to the harness and handy when debugging a room.
const received = {};

function onMessage(message) {
  if (Number.isFinite(message.version)) received[message.type] = Math.max(received[message.type] ?? -1, message.version);
  if (isStale(message)) return;
  switch (message.type) {
    case "pong":
      clock.onPong(message);
      break;
    case "state":
      playerView.setState(message);
      break;
    case "queue":
      playerView.setQueue(message, queueView.setQueue(message));
      break;
    case "participants":
      onParticipants(message);
      break;
    case "track":
      if (message.track) {
        queueView.updateTrack(message.track);
        playerView.updateTrack(message.track);
      }
      break;
    case "visual":
      // Each frame once, in order: a (re)connect may hand over the newest frame that the live
      // path already delivered, so anything not newer than the last seen of its stream is dropped.
      if (isNewFrame(message)) document.dispatchEvent(new CustomEvent("downbeat:visual", { detail: message }));
      break;
    case "chat":
    case "chat_history":
      document.dispatchEvent(new CustomEvent("downbeat:chat", { detail: message }));
      break;
    case "error":
      received.lastError = { code: message.code, detail: message.detail, request: message.request ?? null };
      if (message.request === "chat") { // shown by the chat panel, next to the message
        document.dispatchEvent(new CustomEvent("downbeat:chat", { detail: message }));
        break;
      }
      if (message.code === "left") break; // our own leave (or a stall): the socket reconnects if we stay
      if (message.code === "room-not-found") showRoomError("This room no longer exists.");
      else if (ERRORS[message.code]) flash(ERRORS[message.code], "error");
      else if (message.code !== "not-supported") console.warn("room socket:", message.code, message.detail);
      else flash(message.detail || "Not available yet.", "info");
      break;
    default:
      break;
  }
}

// --- start: join, then listen --------------------------------------------------------------------

try {
  const snapshot = await apiFetch(`/api/rooms/${code}/join`, { method: "POST" });
  if (snapshot && Array.isArray(snapshot.participants)) {
    onMessage({
      type: "participants",
      version: snapshot.version,
      host_id: snapshot.host_id,
      items: snapshot.participants,
      allow_queue: snapshot.allow_queue,
      allow_control: snapshot.allow_control,
    });
  }
  if (snapshot && snapshot.queue && Array.isArray(snapshot.queue.items)) onMessage({ version: snapshot.version, ...snapshot.queue, type: "queue" });
  if (snapshot && snapshot.state && "version" in snapshot.state) onMessage({ ...snapshot.state, type: "state" });
} catch (err) {
  if (err.status === 401) goToLogin();
  else showRoomError(err.detail || "Could not join this room.");
}

socket = openSocket(`/ws/rooms/${encodeURIComponent(code)}`, { onMessage, onStatus: setRoomStatus });
const lastSeq = new Map(); // stream id -> newest visual seq dispatched
const endedStreams = new Set(); // streams whose end was dispatched (an end can arrive twice:
// a worker closing a stream on its end event and again on a stall, or a reconnect's replay)
function isNewFrame(frame) {
  if (frame.ended && typeof frame.stream_id === "string") {
    if (endedStreams.has(frame.stream_id)) return false;
    endedStreams.add(frame.stream_id);
    if (endedStreams.size > 64) endedStreams.delete(endedStreams.values().next().value);
    return true;
  }
  if (typeof frame.stream_id !== "string" || typeof frame.seq !== "number") return true;
  const last = lastSeq.get(frame.stream_id);
  if (last !== undefined && frame.seq <= last) return false;
  lastSeq.set(frame.stream_id, frame.seq);
  if (lastSeq.size > 64) lastSeq.delete(lastSeq.keys().next().value); // streams come and go
  return true;
}

window.downbeatRoom = { code, socket, clock, received };
// The sync harness (tests/e2e/test_room_sync.py) reads what this browser hears, and when.
window.__syncProbe = () => playerView.probe();
window.addEventListener("pagehide", () => playerView.close());
