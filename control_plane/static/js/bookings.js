// "My bookings" (upcoming / past), plus the helpers the other booking pages share: status words,
// the checkout link of a pending payment, refund wording and the cancel confirmation dialog.
import { apiFetch } from "./api.js";
import { $, $$, flash, formatMoney, formatRange, goToLogin, h } from "./ui.js";

// --- shared helpers ----------------------------------------------------------------------

/** The hosted checkout page of a booking's pending payment (the API's checkout_url is /pay/<ref>). */
export function checkoutPath(booking) {
  const url = booking && booking.payment && booking.payment.checkout_url;
  if (!url) return null;
  const ref = url.split("/").pop();
  return ref ? `/checkout/${encodeURIComponent(ref)}` : null;
}

export function statusText(booking) {
  switch (booking.status) {
    case "confirmed": return "Booked";
    case "pending_payment": return "Pending payment";
    case "waitlisted": return `On the waitlist (#${booking.waitlist_position})`;
    case "cancelled": return "Cancelled";
    default: return booking.status;
  }
}

export function badgeText(booking) {
  switch (booking.status) {
    case "confirmed": return "Confirmed";
    case "pending_payment": return "Pending payment";
    case "waitlisted": return `Waitlisted #${booking.waitlist_position}`;
    case "cancelled": return "Cancelled";
    default: return booking.status;
  }
}

/** "Refunded €12.50" when anything went back, else null. */
export function refundText(payment) {
  const refunded = payment && payment.refunded;
  if (!refunded || !refunded.amount) return null;
  const full = payment.amount && refunded.amount >= payment.amount.amount;
  return `Refunded ${formatMoney(refunded.amount, refunded.currency)}${full ? " (in full)" : ""}`;
}

/** What cancelling now would give back, by the session's policy (the server decides for real). */
export function expectedRefund(booking, now = Date.now()) {
  const payment = booking.payment;
  if (!payment || payment.status !== "succeeded") return null;
  const paid = payment.amount.amount - payment.refunded.amount;
  if (paid <= 0) return null;
  const policy = booking.session.refund_policy;
  const hoursLeft = (Date.parse(booking.session.starts_at) - now) / 3600_000;
  let amount = 0;
  if (hoursLeft >= policy.full_until_hours) amount = paid;
  else if (hoursLeft >= policy.partial_until_hours && policy.partial_percent > 0) {
    amount = Math.floor((paid * policy.partial_percent) / 100);
  }
  return { amount, currency: payment.amount.currency, paid };
}

/** The message to show after a cancellation, from the API's answer. */
export function cancelledText(booking) {
  if (booking.left_waitlist) return "You left the waitlist.";
  const refund = refundText(booking.payment);
  if (refund) return `Cancelled. ${refund}.`;
  if (booking.payment && booking.payment.status === "succeeded") return "Cancelled. No refund under the session's policy.";
  return "Cancelled.";
}

/**
 * Ask before something irreversible, in the page's <dialog id="confirm-dialog">.
 * Resolves to {reason} when confirmed, null when dismissed.
 */
export function confirmAction({
  title = "Are you sure?", message = "", confirmLabel = "Yes, cancel", dismissLabel = "Keep it", withReason = true,
} = {}) {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return Promise.resolve(window.confirm(`${title}\n\n${message}`) ? { reason: "" } : null);
  }
  const reason = $("#confirm-reason", dialog);
  $("#confirm-title", dialog).textContent = title;
  $("#confirm-message", dialog).textContent = message;
  $("#confirm-ok", dialog).textContent = confirmLabel;
  $("#confirm-dismiss", dialog).textContent = dismissLabel;
  $("#confirm-reason-field", dialog).hidden = !withReason;
  reason.value = "";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" ? { reason: reason.value.trim() } : null);
    }, { once: true });
    dialog.showModal();
    (withReason ? reason : $("#confirm-dismiss", dialog)).focus();
  });
}

/** Confirm, then POST /api/bookings/{id}/cancel; resolves to the cancelled booking or null. */
export async function cancelBookingFlow(booking) {
  const leaving = booking.status === "waitlisted";
  const expected = expectedRefund(booking);
  let message = leaving
    ? `You leave the waitlist for “${booking.session.title}”.`
    : `Your seat for “${booking.session.title}” goes to the next person.`;
  if (expected) {
    message += expected.amount > 0
      ? ` By the refund policy you get ${formatMoney(expected.amount, expected.currency)} back.`
      : " By the refund policy there is no refund this close to the start.";
  } else if (booking.status === "pending_payment") {
    message += " Nothing was charged.";
  }
  const answer = await confirmAction({
    title: leaving ? "Leave the waitlist?" : "Cancel this booking?",
    message,
    confirmLabel: leaving ? "Leave waitlist" : "Cancel booking",
    dismissLabel: "Keep it",
  });
  if (!answer) return null;
  const cancelled = await apiFetch(`/api/bookings/${booking.id}/cancel`, { method: "POST", body: { reason: answer.reason } });
  return leaving ? { ...cancelled, left_waitlist: true } : cancelled;
}

// --- the My bookings page ----------------------------------------------------------------

function renderRow(booking, onCancel) {
  const s = booking.session;
  const pay = checkoutPath(booking);
  const refund = refundText(booking.payment);
  const active = booking.status !== "cancelled";
  const row = h("li", { class: "booking-row", dataset: { bookingId: booking.id, sessionId: s.id, status: booking.status } },
    h("div", { class: "booking-main" },
      h("a", { class: "booking-title", href: `/sessions/${s.id}` }, s.title),
      h("time", { class: "booking-when", datetime: s.starts_at }, formatRange(s.starts_at, s.ends_at)),
      h("span", { class: "muted small" },
        [s.location, formatMoney(booking.price.amount, booking.price.currency), booking.seats > 1 ? `${booking.seats} seats` : null]
          .filter(Boolean).join(" · ")),
      s.status === "cancelled" ? h("span", { class: "session-cancelled small" }, "The host cancelled this session.") : null,
    ),
    h("div", { class: "booking-side" },
      h("span", { class: `badge booking-badge badge-${booking.status}` }, badgeText(booking)),
      refund ? h("span", { class: "refund-info" }, refund) : null,
      pay ? h("a", { class: "btn btn-primary btn-small pay-link", href: pay }, "Pay") : null,
      active ? h("a", {
        class: "btn btn-ghost btn-small ics-link", href: `/api/bookings/${booking.id}.ics`, download: "",
        "aria-label": `Add “${s.title}” to your calendar (.ics file)`,
      }, ".ics") : null,
      active ? h("button", { type: "button", class: "btn btn-ghost btn-small cancel-booking" },
        booking.status === "waitlisted" ? "Leave waitlist" : "Cancel") : null,
    ),
    h("p", { class: "booking-row-status small", role: "status", "aria-live": "polite" }),
  );
  const cancel = row.querySelector("button.cancel-booking");
  if (cancel) cancel.addEventListener("click", () => onCancel(row, booking, cancel));
  return row;
}

function initBookingsPage(list) {
  const tabs = $$('[role="tab"]');
  const panel = $("#booking-panel");
  const errorBox = $("#bookings-error");
  const cancelledGroup = $("#cancelled-group");
  const cancelledList = $("#cancelled-bookings");
  let when = list.dataset.when === "past" ? "past" : "upcoming";
  let generation = 0;

  const showError = (message) => {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  };

  async function onCancel(row, booking, button) {
    const status = row.querySelector(".booking-row-status");
    button.disabled = true;
    try {
      const cancelled = await cancelBookingFlow(booking);
      if (!cancelled) return;
      const fresh = renderRow(cancelled, onCancel);
      row.replaceWith(fresh);
      const text = cancelledText(cancelled);
      fresh.querySelector(".booking-row-status").textContent = text;
      flash(`“${cancelled.session.title}”: ${text}`, "success");
    } catch (err) {
      if (err.status === 401) return goToLogin();
      status.textContent = err.detail || "Could not cancel this booking.";
      status.classList.add("is-error");
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    const mine = ++generation;
    list.setAttribute("aria-busy", "true");
    list.dataset.when = when;
    showError("");
    try {
      const [page, all] = await Promise.all([
        apiFetch(`/api/bookings?when=${when}`),
        // "upcoming" leaves cancelled bookings out; show those of sessions still ahead on their own.
        when === "upcoming" ? apiFetch("/api/bookings?when=all") : null,
      ]);
      if (mine !== generation) return;
      const now = Date.now();
      const cancelled = all
        ? all.items.filter((b) => b.status === "cancelled" && Date.parse(b.session.ends_at) >= now).reverse()
        : [];
      cancelledList.replaceChildren(...cancelled.map((booking) => renderRow(booking, onCancel)));
      cancelledGroup.hidden = !cancelled.length;
      const rows = page.items.map((booking) => renderRow(booking, onCancel));
      if (rows.length) list.replaceChildren(...rows);
      else {
        list.replaceChildren(h("li", { class: "empty-row muted" }, when === "upcoming"
          ? h("span", {}, "Nothing coming up. ", h("a", { href: "/sessions" }, "Find a session"), ".")
          : "No past bookings yet."));
      }
    } catch (err) {
      if (mine !== generation) return;
      if (err.status === 401) return goToLogin();
      list.replaceChildren();
      cancelledGroup.hidden = true;
      showError(err.detail || "Could not load your bookings.");
    } finally {
      if (mine === generation) list.setAttribute("aria-busy", "false");
    }
  }

  function select(tab, { focus = false } = {}) {
    when = tab.dataset.when;
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", tab.id);
    if (focus) tab.focus();
    history.replaceState(null, "", when === "past" ? "/bookings?when=past" : "/bookings");
    load();
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(tab);
      let next = null;
      if (event.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
      else if (event.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (event.key === "Home") next = tabs[0];
      else if (event.key === "End") next = tabs[tabs.length - 1];
      if (next) {
        event.preventDefault();
        select(next, { focus: true });
      }
    });
  }
  load();
}

const bookingList = document.getElementById("my-bookings");
if (bookingList) initBookingsPage(bookingList);
