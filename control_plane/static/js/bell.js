// The bell on every page: unread count, a live toast per new notification, an optional chime.
// Other modules listen to "downbeat:notification" (each new message) and may dispatch
// "downbeat:unread-changed" after marking things read.

import { apiFetch } from "./api.js";
import { openSocket } from "./socket.js";
import { h } from "./ui.js";

export const CHIME_KEY = "downbeat.chime";
const TOAST_MS = 7000;
const MAX_TOASTS = 4;

const bell = document.getElementById("bell");
const countEl = document.getElementById("bell-count");
const labelEl = document.getElementById("bell-label");
const toasts = document.getElementById("toasts");

let unread = 0;
let lastId = null;
let epoch = null;

function render() {
  if (!countEl) return;
  countEl.textContent = unread > 99 ? "99+" : String(unread);
  countEl.hidden = unread === 0;
  const text = unread === 1 ? "1 unread notification" : `${unread} unread notifications`;
  if (bell) bell.setAttribute("aria-label", `Notifications: ${text}`);
  if (labelEl) labelEl.textContent = text;
}

async function refresh() {
  try {
    const page = await apiFetch("/api/notifications?limit=1");
    unread = page.unread || 0;
    epoch = page.epoch;
    lastId = Math.max(lastId ?? 0, page.last_id || 0);
    render();
  } catch {
    /* the count stays as it was; the socket brings news when the service is back */
  }
}

let audio = null;
/** Two soft notes made with Web Audio: no audio files to fetch. */
export function chime() {
  if (localStorage.getItem(CHIME_KEY) !== "on") return;
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const now = audio.currentTime;
    [880, 1318.5].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      const start = now + i * 0.12;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.15, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.45);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.5);
    });
  } catch {
    /* no audio in this browser */
  }
}

function toast(message) {
  if (!toasts) return;
  const item = h(
    "a",
    { class: "toast", href: "/inbox", role: "status", dataset: { id: message.id, kind: message.kind } },
    h("span", { class: "toast-title" }, message.title),
    h("span", { class: "toast-body" }, message.body),
  );
  toasts.append(item);
  while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_MS);
}

function onMessage(message) {
  if (message.type === "epoch") {
    if (epoch && message.epoch !== epoch) {
      // The store was reset: our ids mean nothing now; start again from its summary.
      lastId = null;
      refresh();
    }
    epoch = message.epoch;
    return;
  }
  if (message.type !== "notification" || !Number.isInteger(message.id)) return;
  if (message.epoch && epoch && message.epoch !== epoch) {
    // A notification from a recreated store: recount from the store's summary.
    epoch = message.epoch;
    lastId = null;
    refresh();
  }
  if (lastId !== null && message.id <= lastId && !message.redelivered) return;
  lastId = Math.max(lastId ?? 0, message.id);
  if (!message.read) unread += 1;
  render();
  toast(message);
  chime();
  if (bell) {
    bell.classList.remove("bell-ring");
    void bell.offsetWidth; // restart the animation
    bell.classList.add("bell-ring");
  }
  window.dispatchEvent(new CustomEvent("downbeat:notification", { detail: message }));
}

window.addEventListener("downbeat:unread-changed", refresh);

if (bell) {
  await refresh();
  openSocket("/ws/notifications", { onMessage, getSince: () => lastId });
}
