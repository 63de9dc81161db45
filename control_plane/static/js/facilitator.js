import { apiFetch } from "./api.js";
import { openSocket } from "./socket.js";
import {
  $, clearErrors, currencyDigits, flash, formatMoney, formatRange, h, localInputToIso, setBusy,
  showProblem, toLocalInput, viewerTimeZone,
} from "./ui.js";

const form = $("#session-form");
const list = $("#my-sessions");
const alerts = $("#alerts");
const alertsStatus = $("#alerts-status");

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

// Keep the end after the start when the start moves.
form.elements.starts_at.addEventListener("change", () => {
  const start = new Date(form.elements.starts_at.value);
  const end = new Date(form.elements.ends_at.value);
  if (!Number.isNaN(start.getTime()) && (Number.isNaN(end.getTime()) || end <= start)) {
    form.elements.ends_at.value = toLocalInput(new Date(start.getTime() + 2 * 3600 * 1000));
  }
});

function readForm() {
  const f = form.elements;
  const currency = f.currency.value;
  const major = f.price.value === "" ? 0 : Number(f.price.value);
  const amount = Number.isFinite(major) ? Math.round(major * 10 ** currencyDigits(currency)) : NaN;
  const capacity = f.capacity.value === "" ? NaN : Number(f.capacity.value);
  return {
    title: f.title.value.trim(),
    description: f.description.value.trim(),
    kind: f.kind.value,
    starts_at: localInputToIso(f.starts_at.value),
    ends_at: localInputToIso(f.ends_at.value),
    timezone: f.timezone.value.trim() || viewerTimeZone(),
    capacity: Number.isFinite(capacity) ? capacity : null,
    price: { amount: Number.isFinite(amount) ? amount : null, currency },
    location: f.location.value.trim(),
    status: f.publish.checked ? "published" : "draft",
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const ok = $(".form-success", form);
  ok.hidden = true;
  const button = form.querySelector('button[type="submit"]');
  setBusy(button, true, "Creating…");
  try {
    const created = await apiFetch("/api/sessions", { method: "POST", body: readForm() });
    ok.textContent = created.status === "published" ? `“${created.title}” is published.` : `“${created.title}” saved as a draft.`;
    ok.hidden = false;
    upsertSession(created, { prepend: true });
    form.elements.title.value = "";
    form.elements.description.value = "";
  } catch (err) {
    showProblem(form, err, { "price.amount": "price", "price.currency": "currency", body: "ends_at" });
  } finally {
    setBusy(button, false);
  }
});

// --- my sessions -------------------------------------------------------------------------

const rows = new Map(); // session id -> {li, session}
let listLoadedAt = 0; // server clock (ms) when the list was read

function seatsText(session) {
  return `${session.seats_taken}/${session.capacity}`;
}

function renderRow(session) {
  const li = h("li", { class: "my-session", dataset: { sessionId: session.id, status: session.status } },
    h("div", { class: "my-session-main" },
      h("strong", { class: "my-session-title" }, session.title),
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
  );
  li.dataset.seatsTaken = String(session.seats_taken);
  return li;
}

function upsertSession(session, { prepend = false } = {}) {
  const empty = list.querySelector(".empty-row, .loading-row");
  if (empty) empty.remove();
  const li = renderRow(session);
  const existing = rows.get(session.id);
  if (existing) existing.li.replaceWith(li);
  else if (prepend) list.prepend(li);
  else list.append(li);
  rows.set(session.id, { li, session });
}

async function loadSessions() {
  list.setAttribute("aria-busy", "true");
  try {
    let serverDate = null;
    const page = await apiFetch("/api/sessions?mine=true&limit=200", {
      onResponse: (response) => { serverDate = response.headers.get("Date"); },
    });
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
    apiFetch("/api/sessions?mine=true&limit=200").then((page) => {
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
      flash("Alerts are delayed: the notification service is catching up.", "warn");
    }
  },
});
