// The catalogue: search and filter through GET /api/sessions, book a seat or join the waitlist.
import { apiFetch } from "./api.js";
import { checkoutPath, statusText } from "./bookings.js";
import {
  $, $$, formatMoney, goToLogin, h, localInputToIso, localizePrices, localizeTimes, plural,
} from "./ui.js";

const list = $("#session-list");
const form = $("#session-filters");
const errorBox = $("#sessions-error");
const none = $("#no-matches");
const more = $("#load-more");
const summary = $("#results-summary");

localizeTimes();
localizePrices();

// --- seats -------------------------------------------------------------------------------

function paintBar(fill) {
  const taken = Number(fill.dataset.taken) || 0;
  const capacity = Number(fill.dataset.capacity) || 1;
  fill.style.width = `${Math.min(100, (100 * taken) / capacity)}%`;
}
$$(".seat-bar-fill").forEach(paintBar);

function setSeats(card, session) {
  const left = card.querySelector(".seats-left");
  if (left && Number.isFinite(session.seats_left)) {
    left.dataset.seatsLeft = String(session.seats_left);
    left.textContent = `${plural(session.seats_left, "seat", "seats")} left`;
    card.classList.toggle("is-full", session.seats_left === 0);
  }
  const fill = card.querySelector(".seat-bar-fill");
  if (fill && Number.isFinite(session.seats_taken)) {
    fill.dataset.taken = String(session.seats_taken);
    if (Number.isFinite(session.capacity)) fill.dataset.capacity = String(session.capacity);
    paintBar(fill);
  }
}

// --- sessions that already started: no new bookings ---------------------------------------

/** When a card's session starts and ends (ms), from its <time> (server cards) or its data. */
function cardTimes(card) {
  const time = card.querySelector("time.local-time");
  return {
    starts: Date.parse(card.dataset.startsAt || (time && time.getAttribute("datetime")) || ""),
    ends: Date.parse(card.dataset.endsAt || (time && time.dataset.end) || ""),
  };
}

const hasStarted = (card, now = Date.now()) => cardTimes(card).starts <= now;

function closedLabel() {
  return h("span", { class: "booking-closed" }, "Booking closed");
}

/** The session is under way (or over): the book / waitlist button gives way to "Booking closed". */
function closeBooking(card) {
  card.classList.add("is-started");
  const button = card.querySelector("button.book-button, button.waitlist-button");
  if (!button) return;
  const status = card.querySelector(".booking-status");
  button.replaceWith(closedLabel());
  if (status && !status.textContent) status.textContent = "This session has already started.";
}

function closeStartedCards() {
  const now = Date.now();
  for (const card of $$(".session-card", list)) if (!card.classList.contains("is-started") && hasStarted(card, now)) closeBooking(card);
}
setInterval(closeStartedCards, 30_000); // a session can start while the page is open

// --- booking -----------------------------------------------------------------------------

function setStatus(status, text, kind, code) {
  status.textContent = text;
  status.className = `booking-status is-${kind}`;
  if (code) status.dataset.status = code;
}

function markBooked(card, booking) {
  const top = card.querySelector(".session-top");
  let badge = card.querySelector(".booked-badge");
  if (!badge) {
    badge = h("span", { class: "badge badge-ok booked-badge" });
    top.append(badge);
  }
  badge.textContent = booking.status === "waitlisted" ? "On the waitlist" : "You're booked";
}

function toWaitlistButton(button) {
  button.className = "btn waitlist-button";
  button.textContent = "Join waitlist";
}

async function book(card, button, { waitlist = false } = {}) {
  const status = card.querySelector(".booking-status");
  const sessionId = Number(card.dataset.sessionId);
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  setStatus(status, waitlist ? "Joining the waitlist…" : "Booking…", "pending");
  try {
    const body = { session_id: sessionId };
    if (waitlist) body.waitlist = true;
    const booking = await apiFetch("/api/bookings", {
      method: "POST",
      body,
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    setStatus(status, statusText(booking), booking.status === "confirmed" ? "ok" : "warn", booking.status);
    if (booking.session) setSeats(card, booking.session);
    markBooked(card, booking);
    const pay = checkoutPath(booking);
    if (booking.status === "pending_payment" && pay) {
      status.textContent = "Seat held — taking you to checkout…";
      location.assign(pay);
      return;
    }
    // One live booking per session: the button gives way to a link to the session page.
    button.replaceWith(h("a", { class: "btn btn-ghost", href: `/sessions/${sessionId}` }, "View booking"));
  } catch (err) {
    if (err.status === 401) {
      setStatus(status, "Please log in again to book.", "error", "unauthorized");
      setTimeout(goToLogin, 800);
      return;
    }
    if (err.code === "session-full" && !waitlist) {
      toWaitlistButton(button);
      setSeats(card, { seats_left: 0 });
      setStatus(status, "This session just filled up. You can join the waitlist.", "warn", "session-full");
      return;
    }
    setStatus(status, err.detail || "Could not book this session.", "error", err.code || "error");
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

list.addEventListener("click", (event) => {
  const button = event.target.closest("button.book-button, button.waitlist-button");
  if (!button || button.disabled) return;
  const card = button.closest(".session-card");
  if (!card) return;
  if (hasStarted(card)) closeBooking(card);
  else book(card, button, { waitlist: button.classList.contains("waitlist-button") });
});

// --- cards built in the browser (same markup as the server's session_card macro) ------------

const pin = () => {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.innerHTML = '<path d="M12 21s-7-6.2-7-11.5A7 7 0 0 1 19 9.5C19 14.8 12 21 12 21z"/><circle cx="12" cy="9.5" r="2.5"/>';
  return svg;
};

function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 3).trimEnd()}...` : text;
}

function renderCard(s, booking) {
  const statusId = `booking-status-${s.id}`;
  const started = Date.parse(s.starts_at) <= Date.now();
  const actions = [];
  if (booking) {
    const pay = checkoutPath(booking);
    actions.push(pay
      ? h("a", { class: "btn btn-primary pay-link", href: pay }, "Pay now")
      : h("a", { class: "btn btn-ghost", href: `/sessions/${s.id}` }, "View booking"));
    actions.push(h("p", {
      class: `booking-status is-${booking.status === "confirmed" ? "ok" : "warn"}`,
      id: statusId, role: "status", "aria-live": "polite", dataset: { status: booking.status },
    }, statusText(booking)));
  } else if (started) {
    actions.push(closedLabel());
    actions.push(h("p", { class: "booking-status", id: statusId, role: "status", "aria-live": "polite" },
      "This session has already started."));
  } else {
    actions.push(s.seats_left === 0
      ? h("button", { type: "button", class: "btn waitlist-button", "aria-describedby": statusId }, "Join waitlist")
      : h("button", { type: "button", class: "btn btn-primary book-button", "aria-describedby": statusId }, "Book a seat"));
    actions.push(h("p", { class: "booking-status", id: statusId, role: "status", "aria-live": "polite" }));
  }
  const card = h("article", {
    class: `card session-card${s.seats_left === 0 ? " is-full" : ""}${started ? " is-started" : ""}`,
    dataset: { sessionId: s.id, kind: s.kind, startsAt: s.starts_at, endsAt: s.ends_at },
    "aria-labelledby": `session-title-${s.id}`,
  },
  h("div", { class: "session-top" },
    h("span", { class: `badge badge-${s.kind} session-kind` }, s.kind.charAt(0).toUpperCase() + s.kind.slice(1)),
    booking ? h("span", { class: "badge badge-ok booked-badge" }, booking.status === "waitlisted" ? "On the waitlist" : "You're booked") : null),
  h("h2", { class: "session-title", id: `session-title-${s.id}` }, h("a", { class: "session-link", href: `/sessions/${s.id}` }, s.title)),
  h("p", { class: "session-when" },
    h("time", { class: "local-time", datetime: s.starts_at, dataset: { end: s.ends_at, tz: s.timezone } }, s.starts_at)),
  s.location ? h("p", { class: "session-location" }, h("span", { class: "visually-hidden" }, "Location: "), pin(), ` ${s.location}`) : null,
  s.description ? h("p", { class: "session-desc" }, truncate(s.description, 220)) : null,
  h("p", { class: "session-host muted" }, `with ${s.owner_name}`),
  h("div", { class: "session-meta" },
    h("span", { class: "price", dataset: { amount: s.price.amount, currency: s.price.currency } }, formatMoney(s.price.amount, s.price.currency)),
    h("span", { class: "seats-left", dataset: { seatsLeft: s.seats_left, capacity: s.capacity } }, `${plural(s.seats_left, "seat", "seats")} left`)),
  h("div", { class: "seat-bar", "aria-hidden": "true" },
    h("span", { class: "seat-bar-fill", dataset: { taken: s.seats_taken, capacity: s.capacity } })),
  h("div", { class: "session-actions" }, actions));
  localizeTimes(card);
  paintBar(card.querySelector(".seat-bar-fill"));
  return card;
}

// --- search and filters ------------------------------------------------------------------

let nextCursor = null;
let generation = 0;
let myBookings = null; // session id -> live booking, read once per search

async function loadMyBookings() {
  const page = await apiFetch("/api/bookings?when=upcoming");
  const map = new Map();
  for (const booking of page.items) if (booking.status !== "cancelled") map.set(booking.session_id, booking);
  return map;
}

function readFilters() {
  const f = form.elements;
  return { q: f.q.value.trim(), kind: f.kind.value, from: f.from.value, to: f.to.value };
}

function apiQuery(filters, cursor) {
  const params = new URLSearchParams({ limit: "24" });
  if (filters.q) params.set("q", filters.q);
  if (filters.kind) params.set("kind", filters.kind);
  // Whole days in the viewer's time zone, sent as ISO 8601 with the offset. Without a From
  // date the catalogue shows what is still to come: `from` keeps sessions not yet over (the
  // API compares it with the end), and cards of those already under way say "Booking closed".
  params.set("from", filters.from ? localInputToIso(`${filters.from}T00:00:00`) : new Date().toISOString());
  if (filters.to) params.set("to", localInputToIso(`${filters.to}T23:59:59`));
  if (cursor) params.set("cursor", cursor);
  return `/api/sessions?${params}`;
}

function showError(message) {
  errorBox.textContent = message || "";
  errorBox.hidden = !message;
}

async function search({ append = false } = {}) {
  const filters = readFilters();
  const toError = $("#to-error");
  if (filters.from && filters.to && filters.to < filters.from) {
    // At the field, and no list that looks like an answer to these dates (it would be the last one).
    toError.textContent = "Must be on or after “From”.";
    toError.hidden = false;
    form.elements.to.setAttribute("aria-invalid", "true");
    ++generation;
    list.replaceChildren();
    more.hidden = true;
    none.hidden = true;
    summary.textContent = "Fix the dates to see sessions.";
    return;
  }
  toError.hidden = true;
  toError.textContent = "";
  form.elements.to.removeAttribute("aria-invalid");
  showError("");
  const mine = ++generation;
  list.setAttribute("aria-busy", "true");
  more.disabled = true;
  try {
    const [page, bookings] = await Promise.all([
      apiFetch(apiQuery(filters, append ? nextCursor : null)),
      append && myBookings ? myBookings : loadMyBookings(),
    ]);
    if (mine !== generation) return; // a newer search won
    myBookings = bookings;
    const cards = page.items.map((s) => renderCard(s, bookings.get(s.id)));
    if (append) list.append(...cards);
    else list.replaceChildren(...cards);
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    const shown = list.children.length;
    none.hidden = shown > 0;
    summary.textContent = shown ? `${plural(shown, "session", "sessions")} shown.` : "No sessions match.";
    if (!append) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
      const query = params.toString();
      history.replaceState(null, "", query ? `/sessions?${query}` : "/sessions");
    }
  } catch (err) {
    if (mine !== generation) return;
    if (err.status === 401) goToLogin();
    else showError(err.detail || "Could not load sessions.");
  } finally {
    if (mine === generation) {
      list.setAttribute("aria-busy", "false");
      more.disabled = false;
    }
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
form.addEventListener("reset", (event) => {
  // Not back to the values the page was loaded with: clear every filter.
  event.preventDefault();
  for (const name of ["q", "kind", "from", "to"]) form.elements[name].value = "";
  search();
});
let typing = null;
form.elements.q.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(search, 300);
});
for (const name of ["kind", "from", "to"]) form.elements[name].addEventListener("change", () => search());
more.addEventListener("click", () => search({ append: true }));

// The server shows the first page unfiltered; a shared link with filters is applied at once.
const initial = readFilters();
if (Object.values(initial).some(Boolean)) search();
else if (list.children.length >= 200) {
  // The server list is capped: switch to the paginated API for anything past it.
  search();
} else {
  // Upcoming only, as the API gives it without a From date: drop sessions that are over.
  const now = Date.now();
  for (const card of $$(".session-card", list)) if (cardTimes(card).ends < now) card.remove();
  none.hidden = list.children.length > 0;
}
closeStartedCards();
