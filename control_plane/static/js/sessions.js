import { apiFetch } from "./api.js";
import { $, $$, goToLogin, localizePrices, localizeTimes, plural } from "./ui.js";

localizeTimes();
localizePrices();

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

function paintBar(fill) {
  const taken = Number(fill.dataset.taken) || 0;
  const capacity = Number(fill.dataset.capacity) || 1;
  fill.style.width = `${Math.min(100, (100 * taken) / capacity)}%`;
}
$$(".seat-bar-fill").forEach(paintBar);

const STATUS_TEXT = {
  confirmed: "Booked",
  pending_payment: "Pending payment",
  waitlisted: "On the waitlist",
};

async function book(card, button) {
  const status = card.querySelector(".booking-status");
  const sessionId = Number(card.dataset.sessionId);
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  status.className = "booking-status is-pending";
  status.textContent = "Booking…";
  try {
    const booking = await apiFetch("/api/bookings", {
      method: "POST",
      body: { session_id: sessionId },
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    status.textContent = STATUS_TEXT[booking.status] || "Booked";
    status.className = `booking-status is-${booking.status === "confirmed" ? "ok" : "warn"}`;
    status.dataset.status = booking.status;
    if (booking.session) setSeats(card, booking.session);
    if (!card.querySelector(".booked-badge")) {
      const badge = document.createElement("span");
      badge.className = "badge badge-ok booked-badge";
      badge.textContent = "You're booked";
      card.querySelector(".session-top").append(badge);
    }
  } catch (err) {
    if (err.status === 401) {
      // Logged out meanwhile (or the token was revoked): come back here after logging in.
      status.textContent = "Please log in again to book.";
      status.className = "booking-status is-error";
      setTimeout(goToLogin, 800);
      return;
    }
    status.textContent = err.detail || "Could not book this session.";
    status.className = "booking-status is-error";
    status.dataset.status = err.code || "error";
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

const list = $("#session-list");
if (list) {
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.book-button");
    if (!button || button.disabled) return;
    const card = button.closest(".session-card");
    if (card) book(card, button);
  });

  // Client-side filtering of what is on the page.
  const search = $("#session-filter");
  const kind = $("#kind-filter");
  const none = $("#no-matches");
  const apply = () => {
    const q = (search.value || "").trim().toLowerCase();
    const k = kind.value;
    let shown = 0;
    for (const card of $$(".session-card", list)) {
      const match = (!k || card.dataset.kind === k) && (!q || card.textContent.toLowerCase().includes(q));
      card.hidden = !match;
      if (match) shown += 1;
    }
    none.hidden = shown > 0;
  };
  search.addEventListener("input", apply);
  kind.addEventListener("change", apply);
}
