import { apiFetch } from "./api.js";
import { confirmAction } from "./bookings.js";
import { openSocket } from "./socket.js";
import {
  $, clearErrors, currencyDigits, flash, formatMoney, formatRange, goToLogin, h, localInputToIso, plural, setBusy,
  showProblem, toLocalInput, viewerTimeZone,
} from "./ui.js";

const form = $("#session-form");
const list = $("#my-sessions");
const alerts = $("#alerts");
const alertsStatus = $("#alerts-status");
const editDialog = $("#edit-dialog");
const editForm = $("#edit-form");

// --- messages: one at a time, each with a close button ------------------------------------------

const formSuccess = $(".form-success", form);

function dismissible(item) {
  if (!item || item.querySelector(".flash-close")) return item;
  item.classList.add("is-dismissible");
  item.append(h("button", { type: "button", class: "flash-close", "aria-label": "Dismiss message", title: "Dismiss" }, "×"));
  return item;
}

/** Replace whatever message is showing (the #flash area and the form's own line) with this one. */
function notify(message, kind = "success", { inForm = false } = {}) {
  const area = $("#flash");
  if (area) area.replaceChildren();
  formSuccess.hidden = true;
  formSuccess.replaceChildren();
  if (inForm) {
    formSuccess.textContent = message;
    dismissible(formSuccess).hidden = false;
    return;
  }
  // Success fades on its own; anything needing attention stays until dismissed or replaced.
  flash(message, kind, { timeout: kind === "success" ? 8000 : 0 });
  if (area) dismissible(area.lastElementChild);
}

document.addEventListener("click", (event) => {
  const close = event.target.closest(".flash-close");
  if (!close) return;
  const item = close.parentElement;
  if (item === formSuccess) {
    formSuccess.hidden = true;
    formSuccess.replaceChildren();
  } else item.remove();
});
for (const item of document.querySelectorAll("#flash .flash")) dismissible(item); // the server's, if any

// --- the new-session form ----------------------------------------------------------------

function prefill() {
  form.elements.timezone.value = viewerTimeZone();
  const start = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  start.setHours(19, 0, 0, 0);
  const end = new Date(start.getTime() + 2 * 3600 * 1000);
  form.elements.starts_at.value = toLocalInput(start);
  form.elements.ends_at.value = toLocalInput(end);
  if (typeof Intl.supportedValuesOf === "function") {
    const datalist = $("#tz-list");
    for (const zone of Intl.supportedValuesOf("timeZone")) datalist.append(h("option", { value: zone }));
  }
}
prefill();

// Keep the end after the start when the start moves (both the new-session and the edit form).
function keepEndAfterStart(f) {
  f.starts_at.addEventListener("change", () => {
    const start = new Date(f.starts_at.value);
    const end = new Date(f.ends_at.value);
    if (!Number.isNaN(start.getTime()) && (Number.isNaN(end.getTime()) || end <= start)) {
      f.ends_at.value = toLocalInput(new Date(start.getTime() + 2 * 3600 * 1000));
    }
  });
}
keepEndAfterStart(form.elements);

// Problem fields that are shown under another input.
const ALIASES = { "price.amount": "price", "price.currency": "currency", body: "ends_at" };

/** The price inputs as the API's {amount (minor units), currency}. */
function readPrice(f) {
  const currency = f.currency.value;
  const major = f.price.value === "" ? 0 : Number(f.price.value);
  const amount = Number.isFinite(major) ? Math.round(major * 10 ** currencyDigits(currency)) : NaN;
  return { amount: Number.isFinite(amount) ? amount : null, currency };
}

/** A price with more decimals than its currency has (10.555 EUR) would be rounded without a word: say so instead. */
function priceProblem(f) {
  const digits = currencyDigits(f.currency.value);
  const text = f.price.value.trim();
  const decimals = text.includes(".") ? text.split(".")[1].length : 0;
  if (text === "" || decimals <= digits) return null;
  const what = digits === 0 ? `${f.currency.value} has no cents: use a whole amount` : `use at most ${digits} decimals`;
  return { detail: "Please fix the marked field.", errors: { price: [what] } };
}

function readRefundPolicy(f) {
  const whole = (input) => (input.value === "" ? null : Number(input.value));
  return {
    full_until_hours: whole(f["refund_policy.full_until_hours"]),
    partial_until_hours: whole(f["refund_policy.partial_until_hours"]),
    partial_percent: whole(f["refund_policy.partial_percent"]),
  };
}

function readForm() {
  const f = form.elements;
  const capacity = f.capacity.value === "" ? NaN : Number(f.capacity.value);
  return {
    title: f.title.value.trim(),
    description: f.description.value.trim(),
    kind: f.kind.value,
    starts_at: localInputToIso(f.starts_at.value),
    ends_at: localInputToIso(f.ends_at.value),
    timezone: f.timezone.value.trim() || viewerTimeZone(),
    capacity: Number.isFinite(capacity) ? capacity : null,
    price: readPrice(f),
    location: f.location.value.trim(),
    status: f.publish.checked ? "published" : "draft",
    refund_policy: readRefundPolicy(f),
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const button = form.querySelector('button[type="submit"]');
  const tooPrecise = priceProblem(form.elements);
  if (tooPrecise) {
    showProblem(form, tooPrecise, ALIASES);
    return;
  }
  setBusy(button, true, "Creating…");
  try {
    const created = await apiFetch("/api/sessions", { method: "POST", body: readForm() });
    notify(created.status === "published" ? `“${created.title}” is published.` : `“${created.title}” saved as a draft.`,
      "success", { inForm: true });
    changesHere += 1;
    upsertSession(created, { prepend: true });
    form.elements.title.value = "";
    form.elements.description.value = "";
  } catch (err) {
    showProblem(form, err, ALIASES);
  } finally {
    setBusy(button, false);
  }
});

// --- my sessions -------------------------------------------------------------------------

const rows = new Map(); // session id -> {li, session}
// Bumped by every change this page makes. A list read that was in flight across a change may
// predate it (a deleted draft would come back, a published one turn draft again): read again.
let changesHere = 0;
let listLoadedAt = 0; // server clock (ms) when the list was read

function seatsText(session) {
  return `${session.seats_taken}/${session.capacity}`;
}

function renderRow(session) {
  const actions = [];
  if (session.status === "draft" || session.status === "published") {
    actions.push(h("button", {
      type: "button", class: "btn btn-ghost btn-small edit-session", "aria-haspopup": "dialog",
      "aria-label": `Edit “${session.title}”`,
    }, "Edit"));
  }
  if (session.status === "draft") {
    actions.push(h("button", { type: "button", class: "btn btn-primary btn-small publish-session" }, "Publish"));
    actions.push(h("button", { type: "button", class: "btn btn-ghost btn-small delete-session" }, "Delete"));
  } else if (session.status === "published") {
    actions.push(h("button", { type: "button", class: "btn btn-danger btn-small cancel-session" }, "Cancel session"));
  }
  const li = h("li", { class: "my-session", dataset: { sessionId: session.id, status: session.status } },
    h("div", { class: "my-session-main" },
      h("a", { class: "my-session-title", href: `/sessions/${session.id}` }, session.title),
      h("span", { class: "muted small" }, formatRange(session.starts_at, session.ends_at)),
    ),
    h("div", { class: "my-session-side" },
      h("span", { class: `badge badge-${session.status}` }, session.status),
      h("span", { class: "seats", "aria-label": `${session.seats_taken} of ${session.capacity} seats taken` },
        h("span", { class: "seats-taken" }, session.seats_taken), "/",
        h("span", { class: "seats-capacity" }, session.capacity),
        h("small", { class: "muted" }, " seats")),
      h("span", { class: "muted small" }, formatMoney(session.price.amount, session.price.currency)),
    ),
    actions.length ? h("div", { class: "my-session-actions" }, actions) : null,
    session.status === "draft" ? null : h("details", { class: "attendees-box" },
      h("summary", {}, "Attendees & waitlist"),
      h("div", { class: "attendees-body", "aria-live": "polite" }, h("p", { class: "muted small" }, "Loading…"))),
    h("p", { class: "my-session-error form-error", role: "alert", hidden: true }),
  );
  li.dataset.seatsTaken = String(session.seats_taken);
  return li;
}

// --- attendees, waitlist and the session's own actions ---------------------------------------

function renderAttendees(items) {
  const holding = items.filter((b) => b.status === "confirmed" || b.status === "pending_payment");
  const waiting = items.filter((b) => b.status === "waitlisted"); // already in waitlist order (by id)
  const person = (b, cls) => h("li", { class: cls, dataset: { bookingId: b.id, userId: b.user.id, status: b.status } },
    h("span", { class: "attendee-name" }, b.user.name),
    b.seats > 1 ? h("small", { class: "muted" }, ` ×${b.seats}`) : null,
    b.status === "pending_payment" ? h("span", { class: "badge badge-pending_payment" }, "awaiting payment") : null);
  return [
    h("h3", { class: "attendees-heading" }, `Attendees (${holding.reduce((n, b) => n + b.seats, 0)})`),
    holding.length
      ? h("ul", { class: "attendee-list" }, holding.map((b) => person(b, "attendee")))
      : h("p", { class: "muted small" }, "Nobody has booked yet."),
    h("h3", { class: "attendees-heading" }, `Waitlist (${waiting.length})`),
    waiting.length
      ? h("ol", { class: "waitlist-list" }, waiting.map((b) => person(b, "waitlist-entry")))
      : h("p", { class: "muted small" }, "Nobody is waiting."),
  ];
}

async function loadAttendees(li) {
  const body = li.querySelector(".attendees-body");
  if (!body) return;
  try {
    // The list is paged (100 a page): read it all, a waitlist's order matters to the host.
    const items = [];
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: "500" });
      if (cursor) query.set("cursor", cursor);
      const page = await apiFetch(`/api/sessions/${li.dataset.sessionId}/bookings?${query}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    body.replaceChildren(...renderAttendees(items));
  } catch (err) {
    body.replaceChildren(h("p", { class: "form-error", role: "alert" }, err.detail || "Could not load the attendees."));
  }
}

function rowError(li, message) {
  const box = li.querySelector(".my-session-error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function sessionAction(li, button, run) {
  rowError(li, "");
  button.disabled = true;
  try {
    await run();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    rowError(li, err.detail || "That did not work. Please try again.");
  } finally {
    button.disabled = false;
  }
}

list.addEventListener("toggle", (event) => {
  const box = event.target;
  if (box.matches && box.matches("details.attendees-box") && box.open) loadAttendees(box.closest(".my-session"));
}, true);

list.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  const li = button && button.closest(".my-session");
  if (!li) return;
  const id = Number(li.dataset.sessionId);
  const row = rows.get(id);
  if (!row) return;
  const { session } = row;
  if (button.classList.contains("edit-session")) {
    openEditor(session, button);
  } else if (button.classList.contains("publish-session")) {
    sessionAction(li, button, async () => {
      const updated = await apiFetch(`/api/sessions/${id}`, { method: "PATCH", body: { status: "published" } });
      changesHere += 1;
      upsertSession(updated);
      notify(`“${updated.title}” is published.`);
    });
  } else if (button.classList.contains("delete-session")) {
    sessionAction(li, button, async () => {
      const answer = await confirmAction({
        title: "Delete this draft?",
        message: `“${session.title}” is removed for good.`,
        confirmLabel: "Delete draft",
        withReason: false,
      });
      if (!answer) return;
      await apiFetch(`/api/sessions/${id}`, { method: "DELETE" });
      changesHere += 1;
      // The list may have been drawn again while the dialog was open: remove the row shown now,
      // not only the element that was clicked (CI saw a deleted draft stay for that reason).
      rows.get(id)?.li.remove();
      rows.delete(id);
      li.remove();
      if (!rows.size) list.append(h("li", { class: "empty-row muted" }, "No sessions yet — create your first one."));
      notify(`Draft “${session.title}” deleted.`);
    });
  } else if (button.classList.contains("cancel-session")) {
    sessionAction(li, button, async () => {
      const taken = session.seats_taken;
      const answer = await confirmAction({
        title: "Cancel this session?",
        message: `Every booking of “${session.title}” is cancelled${taken ? ` (${plural(taken, "seat", "seats")} taken)` : ""}, `
          + "every attendee is told and anyone who paid gets a full refund. This cannot be undone.",
        confirmLabel: "Cancel session",
        dismissLabel: "Keep it",
      });
      if (!answer) return;
      const cancelled = await apiFetch(`/api/sessions/${id}/cancel`, { method: "POST", body: { reason: answer.reason } });
      changesHere += 1;
      upsertSession(cancelled);
      notify(`“${cancelled.title}” is cancelled; attendees are being told.`);
    });
  }
});

// --- editing a session ---------------------------------------------------------------------

const EDITABLE = ["title", "description", "capacity", "location"];
let editing = null; // {id, session, opener} while the dialog is open

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function openEditor(session, opener) {
  editing = { id: session.id, session, opener };
  clearErrors(editForm);
  const f = editForm.elements;
  f.title.value = session.title;
  f.description.value = session.description || "";
  f.capacity.value = String(session.capacity);
  f.location.value = session.location || "";
  f.kind.value = session.kind;
  f.timezone.value = session.timezone;
  f.starts_at.value = toLocalInput(new Date(session.starts_at));
  f.ends_at.value = toLocalInput(new Date(session.ends_at));
  f.currency.value = session.price.currency;
  f.price.value = String(session.price.amount / 10 ** currencyDigits(session.price.currency));
  for (const [key, value] of Object.entries(session.refund_policy)) f[`refund_policy.${key}`].value = String(value);
  f.publish.checked = false;
  $("#e-publish-row", editForm).hidden = session.status !== "draft";
  $("#edit-heading", editForm).textContent = session.status === "draft" ? "Edit draft" : "Edit session";
  $("#e-capacity-hint", editForm).textContent = session.seats_taken
    ? `${plural(session.seats_taken, "seat is", "seats are")} taken; capacity can't go below that.`
    : "Nobody has booked yet.";
  // The terms people book on can change only while nobody holds a place (the server checks too).
  const booked = session.seats_taken > 0;
  $("#e-terms", editForm).disabled = booked;
  $("#e-terms-hint", editForm).textContent = booked
    ? "People have booked on these terms, so they're fixed now. To change them, cancel the session and publish a new one."
    : "These can change until someone books.";
  if (typeof editDialog.showModal === "function") editDialog.showModal();
  else editDialog.setAttribute("open", "");
  f.title.focus();
}

function closeEditor() {
  const opener = editing && editing.opener;
  editing = null;
  if (editDialog.open) editDialog.close();
  // The row was re-rendered meanwhile: go back to its Edit button, else to the list.
  const target = opener && opener.isConnected ? opener : null;
  if (target) target.focus();
}

/** Only what changed, and only fields PATCH accepts; raw values so the server explains bad ones. */
function readEdits(session) {
  const f = editForm.elements;
  const raw = {
    title: f.title.value.trim(),
    description: f.description.value.trim(),
    capacity: f.capacity.value === "" ? "" : Number(f.capacity.value),
    location: f.location.value.trim(),
  };
  const changes = {};
  for (const key of EDITABLE) if (raw[key] !== session[key]) changes[key] = raw[key];
  if (!$("#e-terms", editForm).disabled) {
    if (f.kind.value !== session.kind) changes.kind = f.kind.value;
    if (f.timezone.value.trim() !== session.timezone) changes.timezone = f.timezone.value.trim();
    for (const key of ["starts_at", "ends_at"]) {
      if (f[key].value !== toLocalInput(new Date(session[key]))) changes[key] = localInputToIso(f[key].value);
    }
    const price = readPrice(f);
    if (!sameJson(price, session.price)) changes.price = price;
    const policy = readRefundPolicy(f);
    if (!sameJson(policy, session.refund_policy)) changes.refund_policy = policy;
  }
  if (session.status === "draft" && f.publish.checked) changes.status = "published";
  return changes;
}

keepEndAfterStart(editForm.elements);
for (const button of editForm.querySelectorAll(".edit-close")) button.addEventListener("click", closeEditor);
editDialog.addEventListener("close", () => { editing = null; });

editForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editing) return;
  clearErrors(editForm);
  const { id } = editing;
  const current = (rows.get(id) || editing).session;
  const tooPrecise = priceProblem(editForm.elements);
  if (tooPrecise) {
    showProblem(editForm, tooPrecise, ALIASES);
    return;
  }
  const changes = readEdits(current);
  if (!Object.keys(changes).length) {
    closeEditor();
    notify(`No changes to “${current.title}”.`, "info");
    return;
  }
  const button = $("#edit-save", editForm);
  setBusy(button, true, "Saving…");
  try {
    const updated = await apiFetch(`/api/sessions/${id}`, { method: "PATCH", body: changes });
    changesHere += 1;
    upsertSession(updated);
    const row = rows.get(id);
    const opener = row && row.li.querySelector(".edit-session");
    if (editing) editing.opener = opener;
    closeEditor();
    if (row) row.li.classList.add("flash-row");
    notify(updated.status === "published" && changes.status ? `“${updated.title}” is saved and published.` : `“${updated.title}” is saved.`);
  } catch (err) {
    if (err.status === 401) return goToLogin();
    // Input stays as typed; the server's words go under the field they are about.
    showProblem(editForm, err, ALIASES);
    if (err.code === "session-cancelled" || err.code === "session-has-bookings") reloadSoon();
  } finally {
    setBusy(button, false);
  }
});

function upsertSession(session, { prepend = false } = {}) {
  const empty = list.querySelector(".empty-row, .loading-row");
  if (empty) empty.remove();
  const li = renderRow(session);
  const existing = rows.get(session.id);
  const wasOpen = existing && existing.li.querySelector("details.attendees-box[open]");
  if (wasOpen && li.querySelector("details.attendees-box")) {
    // Keep the attendee list open (and fresh) across updates.
    li.querySelector(".attendees-body").replaceChildren(...existing.li.querySelector(".attendees-body").childNodes);
    li.querySelector("details.attendees-box").open = true;
  }
  if (existing) existing.li.replaceWith(li);
  else if (prepend) list.prepend(li);
  else list.append(li);
  rows.set(session.id, { li, session });
}

async function loadSessions() {
  list.setAttribute("aria-busy", "true");
  try {
    let serverDate = null;
    let page;
    for (let tries = 0; ; tries += 1) {
      const before = changesHere;
      page = await apiFetch("/api/sessions?mine=true&limit=200", {
        onResponse: (response) => { serverDate = response.headers.get("Date"); },
      });
      if (changesHere === before || tries >= 3) break; // stale: this page changed something meanwhile
    }
    listLoadedAt = (serverDate && Date.parse(serverDate)) || Date.now();
    list.replaceChildren();
    rows.clear();
    for (const session of page.items) upsertSession(session);
    if (!page.items.length) list.append(h("li", { class: "empty-row muted" }, "No sessions yet — create your first one."));
  } catch (err) {
    list.replaceChildren(h("li", { class: "empty-row form-error", role: "alert" }, err.detail || "Could not load your sessions."));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

let reloadTimer = null;
function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    const before = changesHere;
    apiFetch("/api/sessions?mine=true&limit=200").then((page) => {
      if (changesHere !== before) { reloadSoon(); return; } // read before our own change: read again
      // The API is the source of truth; it already includes every alert we have seen.
      for (const session of page.items) upsertSession(session);
    }).catch(() => {});
  }, 400);
}

function bumpSeats(sessionId, seats) {
  const row = rows.get(sessionId);
  if (!row) return false;
  const taken = Number(row.li.dataset.seatsTaken) + seats;
  row.li.dataset.seatsTaken = String(taken);
  row.session = { ...row.session, seats_taken: taken };
  const span = row.li.querySelector(".seats-taken");
  span.textContent = String(taken);
  row.li.querySelector(".seats").setAttribute("aria-label", `${taken} of ${row.session.capacity} seats taken`);
  row.li.classList.remove("flash-row");
  void row.li.offsetWidth; // restart the highlight animation
  row.li.classList.add("flash-row");
  return true;
}

$("#reload-sessions").addEventListener("click", loadSessions);

// --- live alerts -------------------------------------------------------------------------

const seen = new Set();
const ALERT_LIMIT = 50;

function renderAlert(note) {
  const when = note.created_at ? new Date(note.created_at) : new Date();
  return h("li", { class: `alert-item alert-${(note.kind || "note").replace(/[^a-z0-9]+/gi, "-")}`, dataset: { id: note.id, kind: note.kind || "" } },
    h("div", { class: "alert-head" },
      h("strong", { class: "alert-title" }, note.title || note.kind || "Notification"),
      h("time", { class: "muted small", datetime: when.toISOString() },
        when.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" })),
    ),
    note.body ? h("p", { class: "alert-body" }, note.body) : null,
  );
}

function onNotification(note) {
  if (seen.has(note.id)) return;
  seen.add(note.id);
  const empty = alerts.querySelector(".alerts-empty");
  if (empty) empty.remove();
  alerts.prepend(renderAlert(note));
  while (alerts.children.length > ALERT_LIMIT) alerts.lastElementChild.remove();

  if (note.kind === "booking.created" && note.data) {
    const sessionId = Number(note.data.session_id);
    const created = Date.parse(note.created_at || "");
    // Older alerts (replayed on connect) are already counted in the list we loaded.
    const isNew = !Number.isFinite(created) || !listLoadedAt || created >= listLoadedAt + 1000;
    if (isNew && rows.has(sessionId)) bumpSeats(sessionId, Number(note.data.seats) || 1);
    reloadSoon();
  } else if (note.kind && note.kind.startsWith("booking.")) {
    reloadSoon();
  }
}

function setStatus(status) {
  alertsStatus.textContent = status;
  alertsStatus.dataset.status = status;
}

await loadSessions();

openSocket("/ws/notifications", {
  onStatus: setStatus,
  onMessage(message) {
    if (message.type === "notification") onNotification(message);
    else if (message.type === "error" && message.code === "notifications-unavailable") {
      notify("Alerts are delayed: the notification service is catching up.", "warn");
    }
  },
});
