// Authenticated WebSocket with automatic reconnects.
// openSocket("/ws/notifications", {onMessage, onStatus, getSince}) -> {send, close, status, lastNotificationId}
//
// One page keeps one connection per path: the first module that opens it owns it (bell.js
// opens /ws/notifications on every page of a signed-in person), and other modules listen on
// that same connection with listenSocket(path, {onMessage, onStatus}) instead of opening a
// second one: a second socket would double the server's work and its presence count.

import { apiFetch } from "./api.js";

const MAX_BACKOFF_MS = 10_000;
const LIVE_AFTER_MS = 300;

// path -> {owner, status, listeners}: `owner` is the first open connection for the path, the
// only one whose messages and status reach the listeners.
const channels = new Map();

function channel(path) {
  let found = channels.get(path);
  if (!found) {
    found = { owner: null, status: null, listeners: new Set() };
    channels.set(path, found);
  }
  return found;
}

function tell(listener, kind, value) {
  const handler = listener[kind];
  if (!handler) return;
  try { handler(value); } catch (err) { console.error(err); }
}

/**
 * Hear what the page's connection to `path` receives, without opening one: the listener's
 * onStatus gets the current status at once when a connection exists (else when one opens),
 * then every change ("connecting", "live", "offline": a "live" after anything else means a
 * reconnect, when listeners fetch what they may have missed). -> {send, status, stop}
 */
export function listenSocket(path, listener) {
  const ch = channel(path);
  ch.listeners.add(listener);
  if (ch.owner && ch.status) tell(listener, "onStatus", ch.status);
  return {
    send(message) { return ch.owner && ch.owner.send ? ch.owner.send(message) : false; },
    get status() { return ch.owner ? ch.status : null; },
    stop() { ch.listeners.delete(listener); },
  };
}

export function openSocket(path, { onMessage, onStatus, getSince } = {}) {
  const ch = channel(path);
  const token = {}; // this connection, until the handle below exists
  if (!ch.owner) ch.owner = token;
  const owns = () => ch.owner === token || ch.owner === handle;
  let handle = null;
  let ws = null;
  let attempt = 0;
  let closed = false;
  let status = null;
  let retryTimer = null;
  let liveTimer = null;
  let lastNotificationId = null;

  const setStatus = (next) => {
    if (next === status) return;
    status = next;
    try { onStatus && onStatus(next); } catch (err) { console.error(err); }
    if (owns()) {
      ch.status = next;
      for (const listener of [...ch.listeners]) tell(listener, "onStatus", next);
    }
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.25));
    attempt += 1;
    retryTimer = setTimeout(() => { retryTimer = null; connect(); }, delay);
  };

  async function connect() {
    if (closed) return;
    setStatus("connecting");
    let token;
    try {
      ({ token } = await apiFetch("/api/auth/socket-token", { method: "POST" }));
    } catch (err) {
      setStatus("offline");
      scheduleReconnect();
      return;
    }
    if (closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let socket;
    try {
      socket = new WebSocket(`${scheme}://${location.host}${path}`);
    } catch (err) {
      setStatus("offline");
      scheduleReconnect();
      return;
    }
    ws = socket;
    let sawError = false;
    let live = false;

    const markLive = () => {
      if (live || ws !== socket || socket.readyState !== WebSocket.OPEN) return;
      live = true;
      attempt = 0;
      setStatus("live");
    };

    socket.addEventListener("open", () => {
      const since = getSince ? getSince() : lastNotificationId;
      socket.send(JSON.stringify({ type: "auth", token, since: since ?? null }));
      clearTimeout(liveTimer);
      liveTimer = setTimeout(() => { if (!sawError) markLive(); }, LIVE_AFTER_MS);
    });

    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message !== "object") return;
      if (message.type === "error") {
        if (!live) sawError = true;
      } else {
        markLive();
      }
      if (message.type === "notification" && Number.isInteger(message.id)) {
        lastNotificationId = Math.max(lastNotificationId ?? 0, message.id);
      }
      try { onMessage && onMessage(message); } catch (err) { console.error(err); }
      if (owns()) for (const listener of [...ch.listeners]) tell(listener, "onMessage", message);
    });

    socket.addEventListener("close", () => {
      clearTimeout(liveTimer);
      if (ws !== socket) return;
      ws = null;
      if (closed) return;
      setStatus("offline");
      scheduleReconnect();
    });
  }

  const reconnectNow = () => {
    if (closed || ws) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    connect();
  };
  window.addEventListener("online", reconnectNow);

  connect();

  handle = {
    send(message) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(message));
        return true;
      }
      return false;
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(liveTimer);
      window.removeEventListener("online", reconnectNow);
      if (ws) ws.close(1000, "bye");
      ws = null;
      setStatus("offline");
      if (owns()) {
        ch.owner = null;
        ch.status = null;
      }
    },
    get status() { return status; },
    get lastNotificationId() { return lastNotificationId; },
  };
  if (ch.owner === token) ch.owner = handle;
  return handle;
}
