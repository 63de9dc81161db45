// "My week": a Monday-to-Sunday grid in the viewer's time zone, plus the private feed link.
import { apiFetch } from "./api.js";
import { confirmAction } from "./bookings.js";
import { $, $$, goToLogin, h, viewerTimeZone } from "./ui.js";

const DAY_MS = 24 * 3600 * 1000;
const grid = $("#week-grid");
const scroller = $("#week-scroll");
const label = $("#week-label");
const errorBox = $("#calendar-error");
const empty = $("#week-empty");

$("#viewer-zone").textContent = viewerTimeZone();

// --- dates in the viewer's time zone -------------------------------------------------------

const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, "0");

/** Local midnight of the Monday of the week holding `date`. */
function mondayOf(date) {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}

function addDays(date, days) {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  d.setDate(d.getDate() + days); // calendar days: right across daylight-saving changes
  return d;
}

/** ISO 8601 with the viewer's offset, e.g. 2031-04-28T00:00:00+02:00. */
function isoWithOffset(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:`
    + `${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

const dayKey = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;

function parseWeekParam() {
  const raw = new URLSearchParams(location.search).get("week");
  const match = raw && /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(date.getTime()) ? null : mondayOf(date);
}

const dayHead = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const dayLong = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const monthDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

// --- the grid ------------------------------------------------------------------------------

let monday = parseWeekParam() || mondayOf(new Date());
let generation = 0;

function paintHeads() {
  const today = dayKey(new Date());
  const sunday = addDays(monday, 6);
  label.textContent = `${monthDay.format(monday)} – ${monthDay.format(sunday)}`;
  label.dataset.start = dayKey(monday);
  for (let i = 0; i < 7; i += 1) {
    const day = addDays(monday, i);
    const head = $(`.day-head[data-day="${i}"]`, grid);
    head.textContent = dayHead.format(day);
    head.classList.toggle("is-today", dayKey(day) === today);
    const col = $(`.day-col[data-day="${i}"]`, grid);
    col.setAttribute("aria-label", dayLong.format(day));
    col.dataset.date = dayKey(day);
    col.classList.toggle("is-today", dayKey(day) === today);
    $(".day-items", col).replaceChildren();
  }
}

/** One block per day the item touches, positioned by local time within that day. */
function place(item) {
  const start = new Date(item.starts_at);
  const end = new Date(item.ends_at);
  let placed = 0;
  for (let i = 0; i < 7; i += 1) {
    const dayStart = addDays(monday, i);
    const dayEnd = addDays(monday, i + 1);
    if (end <= dayStart || start >= dayEnd) continue;
    const from = start > dayStart ? start : dayStart;
    const to = end < dayEnd ? end : dayEnd;
    const length = dayEnd - dayStart || DAY_MS; // 23 or 25 h on daylight-saving days
    const top = (100 * (from - dayStart)) / length;
    const height = Math.max((100 * (to - from)) / length, 2.2);
    const continues = start < dayStart;
    const when = `${continues ? "…" : clock.format(start)} – ${end > dayEnd ? "…" : clock.format(end)}`;
    const block = h("li", {
      class: `calendar-item calendar-${item.kind || "booking"}${continues ? " is-continued" : ""}`,
      dataset: { uid: item.uid, start: item.starts_at },
      title: `${item.title}\n${when}${item.location ? `\n${item.location}` : ""}`,
    },
    h("a", { class: "calendar-item-link", href: item.kind === "booking" || !item.url ? "/bookings" : item.url },
      h("span", { class: "calendar-item-title" }, item.title),
      h("span", { class: "calendar-item-time" }, when),
      item.location ? h("span", { class: "calendar-item-where" }, item.location) : null));
    block.style.top = `${Math.min(top, 97.8)}%`;
    block.style.height = `${height}%`;
    $(`.day-col[data-day="${i}"] .day-items`, grid).append(block);
    placed += 1;
  }
  return placed;
}

/** Side by side when items overlap within a day. */
function spreadOverlaps() {
  for (const list of $$(".day-items", grid)) {
    const blocks = Array.from(list.children).sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    let group = [];
    let groupEnd = -1;
    const flush = () => {
      group.forEach((block, index) => {
        block.style.left = `${(100 * index) / group.length}%`;
        block.style.width = `${100 / group.length}%`;
      });
      group = [];
    };
    for (const block of blocks) {
      const top = parseFloat(block.style.top);
      const bottom = top + parseFloat(block.style.height);
      if (top >= groupEnd) flush();
      group.push(block);
      groupEnd = Math.max(groupEnd, bottom);
    }
    flush();
  }
}

function showError(message) {
  errorBox.textContent = message || "";
  errorBox.hidden = !message;
}

async function loadWeek({ scroll = false } = {}) {
  const mine = ++generation;
  paintHeads();
  showError("");
  grid.setAttribute("aria-busy", "true");
  const param = dayKey(monday) === dayKey(mondayOf(new Date())) ? "" : `?week=${dayKey(monday)}`;
  history.replaceState(null, "", `/calendar${param}`);
  try {
    const week = await apiFetch(`/api/calendar/week?start=${encodeURIComponent(isoWithOffset(monday))}`);
    if (mine !== generation) return;
    let count = 0;
    for (const item of week.items) count += place(item) ? 1 : 0;
    spreadOverlaps();
    empty.hidden = count > 0;
    if (scroll) {
      // Start the view at the first item of the week, or at 08:00.
      const tops = $$(".calendar-item", grid).map((el) => parseFloat(el.style.top));
      const first = tops.length ? Math.min(...tops) : (100 * 8) / 24;
      const body = $(".day-col", grid);
      scroller.scrollTop = Math.max(0, body.offsetTop + (body.offsetHeight * first) / 100 - 24);
      // On a narrow screen only a few days fit: bring the first day with something into view.
      const firstDay = $$(".calendar-item", grid).map((el) => el.closest(".day-col")).find(Boolean);
      if (firstDay && firstDay.offsetLeft + firstDay.offsetWidth > scroller.clientWidth) {
        scroller.scrollLeft = Math.max(0, firstDay.offsetLeft - body.offsetLeft);
      }
    }
  } catch (err) {
    if (mine !== generation) return;
    if (err.status === 401) return goToLogin();
    showError(err.detail || "Could not load this week.");
  } finally {
    if (mine === generation) grid.setAttribute("aria-busy", "false");
  }
}

$("#prev-week").addEventListener("click", () => {
  monday = addDays(monday, -7);
  loadWeek({ scroll: true });
});
$("#next-week").addEventListener("click", () => {
  monday = addDays(monday, 7);
  loadWeek({ scroll: true });
});
$("#this-week").addEventListener("click", () => {
  monday = mondayOf(new Date());
  loadWeek({ scroll: true });
});
loadWeek({ scroll: true });

// --- the private feed ----------------------------------------------------------------------

const feedBox = $("#feed-box");
const feedInput = $("#feed-url");
const feedNone = $("#feed-none");
const feedStatus = $("#feed-status");
const rotateButton = $("#rotate-feed");
const revokeButton = $("#revoke-feed");
const copyButton = $("#copy-feed");

function showFeed(url) {
  feedInput.value = url || "";
  feedBox.hidden = !url;
  feedNone.hidden = Boolean(url);
  revokeButton.hidden = !url;
  rotateButton.textContent = url ? "Rotate link" : "Create link";
}

function feedSay(text, kind = "ok") {
  feedStatus.textContent = text;
  feedStatus.className = `feed-status is-${kind}`;
}

async function feedAction(button, run) {
  button.disabled = true;
  try {
    await run();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    feedSay(err.detail || "That did not work. Please try again.", "error");
  } finally {
    button.disabled = false;
  }
}

rotateButton.addEventListener("click", () => feedAction(rotateButton, async () => {
  if (feedInput.value) {
    const answer = await confirmAction({
      title: "Replace your calendar link?",
      message: "The current link stops working at once; calendars subscribed to it need the new one.",
      confirmLabel: "Rotate link",
      dismissLabel: "Keep current link",
      withReason: false,
    });
    if (!answer) return;
  }
  const body = await apiFetch("/api/calendar/rotate", { method: "POST" });
  showFeed(body.feed_url);
  feedSay("New private link ready. Copy it into your calendar app.");
}));

revokeButton.addEventListener("click", () => feedAction(revokeButton, async () => {
  const answer = await confirmAction({
    title: "Revoke your calendar link?",
    message: "Calendars subscribed to it stop updating. You can create a new link any time.",
    confirmLabel: "Revoke link",
    dismissLabel: "Keep it",
    withReason: false,
  });
  if (!answer) return;
  await apiFetch("/api/calendar", { method: "DELETE" });
  showFeed(null);
  feedSay("The link is revoked.");
}));

copyButton.addEventListener("click", async () => {
  const url = feedInput.value;
  if (!url) return;
  try {
    await navigator.clipboard.writeText(url);
    feedSay("Link copied to the clipboard.");
  } catch {
    feedInput.focus();
    feedInput.select();
    const copied = document.execCommand && document.execCommand("copy");
    feedSay(copied ? "Link copied to the clipboard." : "Press Ctrl+C (⌘C) to copy the selected link.", copied ? "ok" : "warn");
  }
});

feedInput.addEventListener("focus", () => feedInput.select());

apiFetch("/api/calendar")
  .then((body) => showFeed(body.feed_url))
  .catch((err) => {
    if (err.status === 401) goToLogin();
    else feedSay(err.detail || "Could not load your calendar link.", "error");
  });
