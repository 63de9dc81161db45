// One session: live seats (polled every 3 s while the tab is visible), book, join the waitlist,
// pay or cancel; the session's conversation for its host and confirmed attendees.
import { apiFetch } from "./api.js";
import { cancelBookingFlow, cancelledText, checkoutPath, statusText } from "./bookings.js";
import { mountConversation } from "./conversation.js";
import { $, goToLogin, localizePrices, localizeTimes, plural } from "./ui.js";

const POLL_MS = 3000;

const root = $("#session");
const panel = $("#booking-panel");
const seatsLeft = $("#seats-left");
const fill = $(".seat-bar-fill", root);
const statusEl = $("#booking-status");
const bookButton = $("#book");
const waitlistButton = $("#join-waitlist");
const seatsField = $("#seats-field");
const seatsInput = $("#seats");
const seatsError = $("#seats-error");
const cancelButton = $("#cancel-booking");
const payLink = $("#pay-link");
const sessionId = Number(root.dataset.sessionId);
const isOwner = panel.dataset.owner === "true";

localizeTimes();
localizePrices();

// The session's own time zone next to the viewer's.
const zoneLine = $("#session-zone-time");
const whenEl = $("time.local-time", root);
if (zoneLine && whenEl) {
  const zone = zoneLine.dataset.tz;
  try {
    const fmt = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit", timeZone: zone, timeZoneName: "short",
    });
    const start = new Date(whenEl.getAttribute("datetime"));
    const end = new Date(whenEl.dataset.end);
    const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const range = `${fmt.format(start)} – ${fmt.format(end)}`;
    zoneLine.textContent = zone === here ? `Your time zone (${zone}) is the session's too.` : `Local time at the session (${zone}): ${range}`;
  } catch {
    zoneLine.textContent = `Session time zone: ${zone}`;
  }
}

// --- state -------------------------------------------------------------------------------

let session = {
  id: sessionId,
  status: root.dataset.status,
  starts_at: root.dataset.startsAt,
  seats_left: Number(seatsLeft.dataset.seatsLeft),
  seats_taken: Number(fill.dataset.taken),
  capacity: Number(seatsLeft.dataset.capacity),
};
let booking = panel.dataset.bookingId
  ? {
    id: Number(panel.dataset.bookingId),
    status: panel.dataset.bookingStatus,
    waitlist_position: Number(panel.dataset.waitlistPosition) || null,
    payment: panel.dataset.payPath ? { checkout_url: panel.dataset.payPath } : null,
  }
  : null;
let changesHere = 0; // bumped by this page's own bookings and cancellations
let message = null; // {text, kind, code, until}: the outcome of the last action, shown for a while

const say = (text, kind, code, ms = 8000) => ({ text, kind, code, until: Date.now() + ms });

function paintSeats() {
  seatsLeft.dataset.seatsLeft = String(session.seats_left);
  seatsLeft.dataset.capacity = String(session.capacity);
  const cancelled = session.status === "cancelled";
  seatsLeft.textContent = cancelled ? "Cancelled: no seats on sale" : `${plural(session.seats_left, "seat", "seats")} left`;
  seatsLeft.classList.toggle("is-full", cancelled || session.seats_left === 0);
  fill.dataset.taken = String(session.seats_taken);
  fill.dataset.capacity = String(session.capacity);
  fill.style.width = `${Math.min(100, (100 * session.seats_taken) / (session.capacity || 1))}%`;
}

function setStatus(text, kind, code) {
  statusEl.textContent = text;
  statusEl.className = `booking-status${kind ? ` is-${kind}` : ""}`;
  statusEl.dataset.status = code || "";
}

// --- the session's conversation ----------------------------------------------------------
// Its members are the host and everyone holding a confirmed seat; the panel follows the
// booking as it changes on this page (booked, paid, cancelled).

const conversationPanel = $("#session-conversation");
let conversation = null;

function syncConversation() {
  const member = isOwner || Boolean(booking && booking.status === "confirmed");
  if (member && !conversation) {
    conversationPanel.hidden = false;
    conversation = mountConversation(conversationPanel, {
      load: () => apiFetch(`/api/sessions/${sessionId}/conversation`),
      heading: "Conversation",
      embedded: true,
      onUnavailable: () => { conversationPanel.hidden = true; },
    });
  } else if (!member && conversation) {
    conversation.destroy();
    conversation = null;
    conversationPanel.hidden = true;
  }
}

function render() {
  syncConversation();
  paintSeats();
  const started = Date.parse(session.starts_at) <= Date.now();
  const open = session.status === "published" && !started;
  const live = booking && booking.status !== "cancelled";
  const pay = live ? checkoutPath(booking) : null;

  bookButton.hidden = !(open && !live && !isOwner && session.seats_left > 0);
  waitlistButton.hidden = !(open && !live && !isOwner && session.seats_left <= 0);
  // Several seats at once (for friends or a band), up to what is free, or to the API's 20 on the waitlist.
  seatsField.hidden = bookButton.hidden && waitlistButton.hidden;
  seatsInput.max = String(session.seats_left > 0 ? Math.min(20, session.seats_left) : Math.min(20, session.capacity));
  const wanted = seatsWanted();
  bookButton.textContent = wanted !== null && wanted > 1 ? `Book ${wanted} seats` : "Book a seat";
  cancelButton.hidden = !(live && session.status === "published");
  cancelButton.textContent = live && booking.status === "waitlisted" ? "Leave waitlist" : "Cancel booking";
  payLink.hidden = !pay;
  if (pay) payLink.href = pay;

  if (message && Date.now() < message.until) setStatus(message.text, message.kind, message.code);
  else if (session.status === "cancelled") setStatus("The host cancelled this session.", "error", "session-cancelled");
  else if (live) setStatus(statusText(booking), booking.status === "confirmed" ? "ok" : "warn", booking.status);
  else if (session.status === "draft") setStatus("Draft: not open for booking yet.", "pending", "draft");
  else if (started) setStatus("This session has started; booking is closed.", "pending", "started");
  else if (isOwner) setStatus("", "", "");
  else if (session.seats_left <= 0) setStatus("Fully booked. Join the waitlist and get the next free seat.", "warn", "full");
  else setStatus("", "", "");
}

// --- actions -----------------------------------------------------------------------------

/** The seats asked for: a whole number from 1 to the field's max, or null (an empty field is 1). */
function seatsWanted() {
  const raw = seatsInput.value.trim();
  if (raw === "") return 1;
  const seats = Number(raw);
  return Number.isInteger(seats) && seats >= 1 && seats <= Number(seatsInput.max) ? seats : null;
}

function seatsProblem(text) {
  seatsError.textContent = text;
  seatsError.hidden = !text;
  if (text) seatsInput.setAttribute("aria-invalid", "true");
  else seatsInput.removeAttribute("aria-invalid");
}

async function book(waitlist) {
  if (!seatsField.hidden && seatsWanted() === null) {
    // Nothing is sent: 0, 1.5 or more than is free would otherwise book something else quietly.
    seatsProblem(`Choose a whole number of seats from 1 to ${seatsInput.max}.`);
    seatsInput.focus();
    return;
  }
  seatsProblem("");
  const button = waitlist ? waitlistButton : bookButton;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  message = say(waitlist ? "Joining the waitlist…" : "Booking…", "pending", "busy", 60_000);
  render();
  try {
    const seats = seatsWanted() || 1;
    const body = { session_id: sessionId, seats };
    if (waitlist) body.waitlist = true;
    const created = await apiFetch("/api/bookings", {
      method: "POST",
      body,
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    changesHere += 1;
    booking = created;
    message = null;
    if (created.session) session = created.session;
    const pay = checkoutPath(created);
    if (created.status === "pending_payment" && pay) {
      message = say("Seat held — taking you to checkout…", "warn", "pending_payment", 60_000);
      render();
      location.assign(pay);
      return;
    }
    render();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    if (err.code === "session-full") session = { ...session, seats_left: 0 };
    if (err.code === "already-booked") await catchUp(); // booked from another tab or device
    message = err.code === "session-full"
      ? say("The last seat just went. You can join the waitlist.", "warn", "session-full")
      : say(err.detail || "Could not book.", "error", err.code || "error");
    render();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// The page learns what the server already knows: this person's place and the seats left.
async function catchUp() {
  try {
    const [fresh, mine] = await Promise.all([
      apiFetch(`/api/sessions/${sessionId}`),
      apiFetch("/api/bookings?upcoming=true&limit=200"),
    ]);
    session = fresh;
    booking = mine.items.find((b) => b.session_id === sessionId && b.status !== "cancelled") || booking;
  } catch {
    // The refusal is shown anyway; the next poll tries again.
  }
}

seatsInput.addEventListener("input", () => {
  if (seatsWanted() !== null) seatsProblem("");
  render();
});
bookButton.addEventListener("click", () => book(false));
waitlistButton.addEventListener("click", () => book(true));

cancelButton.addEventListener("click", async () => {
  if (!booking) return;
  cancelButton.disabled = true;
  try {
    const full = booking.session ? booking : await apiFetch(`/api/bookings/${booking.id}`);
    const cancelled = await cancelBookingFlow(full);
    if (!cancelled) return;
    changesHere += 1;
    booking = null;
    if (cancelled.session) session = cancelled.session;
    message = say(cancelledText(cancelled), "ok", "cancelled");
    render();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    message = say(err.detail || "Could not cancel.", "error", err.code || "error");
    render();
  } finally {
    cancelButton.disabled = false;
  }
});

// --- live seats --------------------------------------------------------------------------

let timer = null;

async function poll() {
  timer = null;
  const before = changesHere;
  try {
    const [fresh, mine] = await Promise.all([
      apiFetch(`/api/sessions/${sessionId}`),
      // A waitlist place or an unpaid hold can change on the server (promotion, expiry).
      booking && booking.status !== "confirmed" ? apiFetch(`/api/bookings/${booking.id}`) : null,
    ]);
    // Read before this page booked or cancelled: it would show the old state until the next poll.
    if (changesHere === before) {
      session = fresh;
      if (mine) booking = mine.status === "cancelled" ? null : mine;
      render();
    }
  } catch (err) {
    if (err.status === 404) {
      setStatus("This session no longer exists.", "error", "gone");
      return; // nothing left to watch
    }
    if (err.status === 401) return goToLogin();
  }
  schedule();
}

function schedule() {
  if (!document.hidden && timer === null) timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    timer = null;
  } else if (timer === null) {
    poll();
  }
});

render();
schedule();
