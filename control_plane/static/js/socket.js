// Authenticated WebSocket with automatic reconnects.
// openSocket("/ws/notifications", {onMessage, onStatus, getSince}) -> {send, close, status, lastNotificationId}

import { apiFetch } from "./api.js";

const MAX_BACKOFF_MS = 10_000;
const LIVE_AFTER_MS = 300;

export function openSocket(path, { onMessage, onStatus, getSince } = {}) {
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

  return {
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
    },
    get status() { return status; },
    get lastNotificationId() { return lastNotificationId; },
  };
}
