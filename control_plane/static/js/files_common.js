// What the two project-files pages share: kind icons, sizes and times, errors near an action,
// and the live socket of a project's files (docs/FILES.md, "Live").
import { openSocket } from "./socket.js";
import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

// 24×24 outline icons, one per kind.
const ICON_PATHS = {
  audio: ["M9 18V5l12-2v13", "M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0z", "M21 16a3 3 0 1 1-6 0 3 3 0 0 1 6 0z"],
  score: ["M4 4h12l4 4v12H4z", "M7 10h10", "M7 13h10", "M7 16h10", "M16 4v4h4"],
  image: ["M3 5h18v14H3z", "M3 16l5-5 4 4 3-3 6 6", "M15.5 9.5a1.5 1.5 0 1 0 0-.01"],
  document: ["M6 3h8l5 5v13H6z", "M14 3v5h5", "M9 13h7", "M9 17h7"],
  other: ["M6 3h8l5 5v13H6z", "M14 3v5h5"],
};

/** A small speech-bubble icon (decorative). */
export function commentIcon() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "comment-icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M4 5h16v11H9l-5 4z");
  svg.append(path);
  return svg;
}

export const KIND_NAMES = { audio: "Audio", score: "Score", image: "Image", document: "Document", other: "File" };

/** An inline SVG icon for a file kind (decorative: the kind is also said in text). */
export function kindIcon(kind) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `kind-icon kind-${KIND_NAMES[kind] ? kind : "other"}`);
  for (const d of ICON_PATHS[kind] || ICON_PATHS.other) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function formatBytes(n) {
  const size = Number(n) || 0;
  if (size < 1024) return `${size} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** 42_000 -> "0:42", 3_723_000 -> "1:02:03"; tenths when asked. */
export function formatTime(ms, { tenths = false } = {}) {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  const fraction = tenths ? `.${Math.floor((ms % 1000) / 100)}` : "";
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}${fraction}` : `${minutes}:${seconds}${fraction}`;
}

/** "0:42", "1:02:03", "42", "42.5", "1:02.25" -> milliseconds; null when it is not a time. */
export function parseTime(text) {
  const value = String(text || "").trim();
  if (!value) return null;
  if (!/^\d+(:\d{1,2}){0,2}(\.\d+)?$/.test(value)) return null;
  const [whole, fraction = ""] = value.split(".");
  const parts = whole.split(":").map(Number);
  if (parts.slice(1).some((p) => p >= 60)) return null;
  const seconds = parts.reduce((acc, p) => acc * 60 + p, 0);
  return Math.round((seconds + (fraction ? Number(`0.${fraction}`) : 0)) * 1000);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" });

export function formatWhen(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
}

export const timeTag = (iso) => h("time", { datetime: iso || "" }, formatWhen(iso));

/** Show (or clear with "") a message in an error box next to an action. */
export function showError(box, err) {
  if (!box) return;
  const message = typeof err === "string" ? err : problemText(err);
  box.textContent = message;
  box.hidden = !message;
}

/** An ApiError's detail plus its per-field messages, for places without fields to put them at. */
export function problemText(err) {
  if (!err) return "";
  const detail = err.detail || err.message || "That did not work. Please try again.";
  const fields = Object.entries(err.errors || {}).map(([key, messages]) => `${key}: ${[].concat(messages).join(" ")}`);
  if (!fields.length) return detail;
  return err.code === "validation-error" ? fields.join(" — ") : [detail, ...fields].join(" — ");
}

/**
 * The project's files socket: `onChange(message)` for each `file.changed`, `onLive()` each
 * time the socket is (again) live, so the page refetches everything it shows then; the first
 * time too, which covers what changed between the page's first reads and the subscription.
 */
export function openFilesSocket(projectId, { onChange, onLive, badge }) {
  return openSocket(`/ws/projects/${projectId}/files`, {
    onStatus: (status) => {
      if (badge) {
        badge.dataset.status = status;
        badge.textContent = status;
      }
      document.body.dataset.filesSocket = status;
      if (status === "live" && onLive) onLive();
    },
    onMessage: (message) => {
      if (message.type === "file.changed" && onChange) onChange(message);
    },
  });
}

/** Collapse bursts of calls (several socket messages at once) into one call a moment later. */
export function debounce(fn, ms = 120) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The body text with @mentions of project members highlighted (text nodes only: no HTML). */
export function bodyWithMentions(body, members) {
  const names = (members || []).map((m) => m.name).filter(Boolean).sort((a, b) => b.length - a.length);
  const out = [];
  let rest = String(body || "");
  while (rest) {
    const at = rest.search(/(^|[^\w@])@\S/u);
    if (at < 0) break;
    const start = rest[at] === "@" ? at : at + 1;
    const after = rest.slice(start + 1);
    const name = names.find((n) => after.toLowerCase().startsWith(n.toLowerCase())
      && !/[\p{L}\p{N}]/u.test(after.charAt(n.length)));
    if (!name) {
      out.push(rest.slice(0, start + 1));
      rest = after;
      continue;
    }
    out.push(rest.slice(0, start), h("span", { class: "mention" }, `@${after.slice(0, name.length)}`));
    rest = after.slice(name.length);
  }
  if (rest) out.push(rest);
  return out;
}
