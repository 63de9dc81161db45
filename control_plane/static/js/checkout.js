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

localizeTimes();
localizePrices();
const amount = $("#checkout-amount");
if (amount) payButton.textContent = `Pay ${formatMoney(Number(amount.dataset.amount), amount.dataset.currency)} now`;

function show(text, kind, status) {
  statusEl.textContent = text;
  statusEl.className = `payment-status is-${kind}`;
  statusEl.dataset.status = status;
}

/** The payment reached a final state: say what it means for the booking. */
async function settle(payment) {
  payButton.hidden = true;
  if (holdNote) holdNote.hidden = true;
  next.hidden = false;
  if (payment.status === "succeeded") {
    let booking = null;
    try {
      booking = await apiFetch(`/api/bookings/${bookingId}`);
    } catch { /* the payment itself is what we report */ }
    if (booking && booking.status === "cancelled") {
      const refund = refundText(booking.payment);
      show(`Paid, but the seat hold had run out, so the booking was cancelled. ${refund || "A full refund is on its way"}.`, "warn", "refunded");
    } else {
      show("Paid — your booking is confirmed", "ok", "succeeded");
    }
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
  show("Waiting for the provider to confirm…", "pending", "processing");
  await waitForProvider();
});

if (root.dataset.paymentStatus !== "pending") {
  settle({ status: root.dataset.paymentStatus });
}
