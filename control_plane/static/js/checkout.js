// The simulated provider's hosted checkout: pay, then wait for the provider's webhook to confirm.
import { apiFetch } from "./api.js";
import { refundText } from "./bookings.js";
import { $, formatMoney, goToLogin, localizePrices, localizeTimes } from "./ui.js";

const POLL_MS = 500;
const GIVE_UP_MS = 60_000;

const root = $("#checkout");
const ref = root.dataset.ref;
const bookingId = Number(root.dataset.bookingId);
const payButton = $("#pay");
const statusEl = $("#payment-status");
const next = $("#payment-next");
const holdNote = $("#hold-note");
const heading = $("#checkout-heading");
const holdMs = (Number(root.dataset.holdMinutes) || 15) * 60_000;
let paidHere = false; // this page submitted the payment while the booking waited for it

localizeTimes();
localizePrices();
const amount = $("#checkout-amount");
if (amount) payButton.textContent = `Pay ${formatMoney(Number(amount.dataset.amount), amount.dataset.currency)} now`;

function show(text, kind, status) {
  statusEl.textContent = text;
  statusEl.className = `payment-status is-${kind}`;
  statusEl.dataset.status = status;
}

/**
 * Why a cancelled booking was cancelled: "session" (the host cancelled it), "hold" (unpaid past
 * its hold), "you" (the attendee) or "unknown". The API does not name the reason, so this reads
 * what it does show: a `cancelled_by` / `cancel_reason` if present, the session's status, the refund
 * (hold and host cancellations refund in full), and when it was cancelled against the hold.
 */
function cancelCause(booking) {
  const by = booking.cancelled_by;
  const reason = typeof booking.cancel_reason === "string" ? booking.cancel_reason : null;
  if ((booking.session && booking.session.status === "cancelled") || by === "owner" || reason === "session cancelled") return "session";
  if (by === "system" || (reason && /in time|hold/i.test(reason))) return "hold";
  if (by === "attendee" || reason !== null) return "you";
  const payment = booking.payment;
  const paid = payment && payment.status === "succeeded";
  if (paid && payment.refunded.amount < payment.amount.amount) return "you"; // a policy refund, not a full one
  const held = Date.parse(booking.cancelled_at) - Date.parse(booking.created_at);
  if (Number.isFinite(held) && held < holdMs) return "you"; // cancelled before the hold could run out
  if (paidHere) return "hold"; // it was waiting for this very payment
  return "unknown";
}

function showCancelled(booking, payment) {
  heading.textContent = "Booking cancelled";
  const paid = payment.status === "succeeded";
  const refund = refundText(booking.payment || (paid ? payment : null));
  const money = paid ? `${refund || "No refund under the session's policy"}.` : "Nothing was charged.";
  switch (cancelCause(booking)) {
    case "session":
      show(`The host cancelled this session, so your booking was cancelled. ${paid ? `${refund || "A full refund is on its way"}.` : money}`, "warn", "session-cancelled");
      break;
    case "hold":
      if (paid) show(`Paid, but the seat hold had run out, so the booking was cancelled. ${refund || "A full refund is on its way"}.`, "warn", "refunded");
      else show("The seat hold ran out before payment, so the booking was cancelled. Nothing was charged.", "warn", "hold-expired");
      break;
    case "you":
      show(paid ? `You cancelled this booking. ${money}` : "You cancelled this booking before paying. Nothing was charged.", "warn", "cancelled");
      break;
    default:
      show(paid ? `This booking was cancelled. ${money}`
        : "This booking was cancelled before it was paid (by you, or because its seat hold ran out). Nothing was charged.", "warn", "cancelled");
  }
}

/** The payment reached a final state: say what it means for the booking. */
async function settle(payment) {
  payButton.hidden = true;
  if (holdNote) holdNote.hidden = true;
  next.hidden = false;
  let booking = null;
  try {
    booking = await apiFetch(`/api/bookings/${bookingId}`);
  } catch { /* the payment itself is what we report */ }
  if (booking && booking.status === "cancelled") {
    showCancelled(booking, payment);
  } else if (payment.status === "succeeded") {
    if (!booking || booking.status === "confirmed") heading.textContent = "Booking confirmed";
    show("Paid — your booking is confirmed", "ok", "succeeded");
  } else if (payment.status === "cancelled") {
    show("This payment was cancelled: the booking was cancelled or its seat hold ran out.", "error", "cancelled");
  } else {
    show(`This payment ${payment.status === "failed" ? "failed" : `is ${payment.status}`}. Nothing was charged.`, "error", payment.status);
  }
}

async function waitForProvider() {
  const deadline = Date.now() + GIVE_UP_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      const payment = await apiFetch(`/api/payments/${encodeURIComponent(ref)}`);
      if (payment.status !== "pending") return settle(payment);
    } catch (err) {
      if (err.status === 401) return goToLogin();
      if (err.status === 404) return show(err.detail || "This payment no longer exists.", "error", "gone");
      // a network blip: keep waiting
    }
  }
  next.hidden = false;
  show("The provider has not confirmed yet. Your booking updates by itself once it does; check My bookings in a minute.", "warn", "slow");
  return null;
}

payButton.addEventListener("click", async () => {
  payButton.disabled = true;
  payButton.setAttribute("aria-busy", "true");
  show("Processing your payment…", "pending", "processing");
  try {
    await apiFetch(`/api/payments/${encodeURIComponent(ref)}/simulated-checkout`, { method: "POST" });
  } catch (err) {
    if (err.status === 401) return goToLogin();
    if (err.code === "payment-not-pending") {
      // Paid in another tab, or the hold ran out: show where it stands.
      try {
        return settle(await apiFetch(`/api/payments/${encodeURIComponent(ref)}`));
      } catch { /* fall through to the error */ }
    }
    show(err.detail || "The payment could not be submitted. Please try again.", "error", err.code || "error");
    payButton.disabled = false;
    payButton.removeAttribute("aria-busy");
    return;
  }
  payButton.hidden = true;
  paidHere = root.dataset.bookingStatus === "pending_payment";
  show("Waiting for the provider to confirm…", "pending", "processing");
  await waitForProvider();
});

if (root.dataset.paymentStatus !== "pending") {
  settle({ status: root.dataset.paymentStatus });
}
