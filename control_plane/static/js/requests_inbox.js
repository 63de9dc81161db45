// The musician's request inbox; also exports the request cards the project page reuses.
import { apiFetch } from "./api.js";
import {
  $, clearErrors, currencyDigits, flash, formatMoney, formatRange, goToLogin, h, localInputToIso, showFieldErrors,
  toLocalInput,
} from "./ui.js";

const viewerId = Number(document.body.dataset.userId);
const POLL_MS = 5000;

const STATUS_BADGE = {
  pending: "badge-draft",
  accepted: "badge-ok",
  declined: "badge-retreat",
  cancelled: "badge-retreat",
  expired: "badge-draft",
};

const button = (action, label, primary = false) =>
  h("button", { type: "button", class: `btn ${primary ? "btn-primary" : "btn-ghost"} btn-small request-action`, dataset: { action } }, label);

function actionsFor(req, asMusician) {
  if (req.status !== "pending" && req.status !== "accepted") return [];
  const proposal = req.reschedule;
  const mine = proposal && proposal.proposed_by === viewerId;
  const actions = [];
  if (proposal && !mine) {
    actions.push(button("reschedule/accept", "Accept new time", true), button("reschedule/decline", "Keep current time"));
  }
  if (asMusician && req.status === "pending" && !proposal) {
    actions.push(button("accept", "Accept", true), button("decline", "Decline"));
  }
  if (!proposal || mine) {
    actions.push(button("propose", asMusician ? "Counter-propose" : "Propose new time"));
  }
  // A musician answering a fresh request has Decline; a second "Cancel" doing the same only puzzles.
  const declineShown = asMusician && req.status === "pending" && !proposal;
  if (!declineShown) {
    actions.push(button("cancel", req.status === "accepted" ? "Cancel engagement" : asMusician ? "Cancel request" : "Withdraw"));
  }
  return actions;
}

function proposalText(req) {
  const p = req.reschedule;
  if (!p) return null;
  const who = p.proposed_by === viewerId ? "You proposed" : p.proposed_by === req.musician_id ? `${req.musician.name} proposes` : `${req.requester.name} proposes`;
  return h("span", { class: "small request-proposal" },
    h("strong", {}, `${who}: `), formatRange(p.starts_at, p.ends_at), " · ", formatMoney(p.offer.amount, p.offer.currency));
}

const fieldError = (name) => h("p", { class: "field-error", dataset: { field: name }, hidden: true });

function rescheduleForm(req) {
  const start = toLocalInput(new Date(req.starts_at));
  const end = toLocalInput(new Date(req.ends_at));
  const digits = currencyDigits(req.offer.currency);
  return h("form", { class: "form reschedule-form", hidden: true, novalidate: true },
    h("div", { class: "field-row" },
      h("label", { class: "field" }, "New start", h("input", { type: "datetime-local", name: "starts_at", value: start, required: true }),
        fieldError("starts_at")),
      h("label", { class: "field" }, "New end", h("input", { type: "datetime-local", name: "ends_at", value: end, required: true }),
        fieldError("ends_at"))),
    h("label", { class: "field" }, `Offer (${req.offer.currency})`,
      h("input", { type: "number", name: "offer", min: "0", step: "0.01", value: String(req.offer.amount / 10 ** digits) }),
      fieldError("offer")),
    h("div", { class: "my-session-side" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Send proposal"),
      h("button", { type: "button", class: "btn btn-ghost btn-small form-close" }, "Close")));
}

function reasonForm(action) {
  return h("form", { class: "form reason-form", hidden: true, novalidate: true, dataset: { action } },
    h("label", { class: "field" }, "Reason (optional)", h("input", { type: "text", name: "reason", maxlength: "500" })),
    h("div", { class: "my-session-side" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, action === "decline" ? "Confirm decline" : "Confirm cancel"),
      h("button", { type: "button", class: "btn btn-ghost btn-small form-close" }, "Close")));
}

/** One request as a list item; `asMusician` picks the musician's or the requester's view. */
export function requestItem(req, { asMusician }) {
  const title = asMusician
    ? `${req.project.title} · from ${req.requester.name}`
    : `${req.musician.name} · ${req.instrument}`;
  const actions = actionsFor(req, asMusician);
  return h("li", { class: "my-session request-card", dataset: { requestId: req.id, status: req.status, currency: req.offer.currency } },
    h("div", { class: "my-session-main" },
      h("strong", { class: "my-session-title request-title" }, title),
      h("span", { class: "muted small request-when" }, formatRange(req.starts_at, req.ends_at)),
      h("span", { class: "small" }, asMusician ? `${req.instrument} · ` : "", formatMoney(req.offer.amount, req.offer.currency)),
      req.message ? h("span", { class: "muted small request-message" }, req.message) : null,
      req.reason ? h("span", { class: "muted small" }, `Reason: ${req.reason}`) : null,
      proposalText(req),
      // Members (pending or accepted) share the project's charts, stems and takes.
      asMusician && (req.status === "pending" || req.status === "accepted")
        ? h("a", { class: "small request-files", href: `/projects/${req.project_id}/files` }, "Project files")
        : null,
      // ...and its conversation (made the first time someone opens it).
      asMusician && (req.status === "pending" || req.status === "accepted")
        ? h("a", { class: "small request-messages", href: `/messages?project=${req.project_id}` }, "Project conversation")
        : null),
    h("div", { class: "my-session-side" },
      h("span", { class: `badge ${STATUS_BADGE[req.status] || "badge-draft"} request-status` }, req.status)),
    actions.length ? h("div", { class: "my-session-side my-session-actions" }, actions) : null,
    actions.length ? rescheduleForm(req) : null,
    actions.length ? reasonForm("decline") : null,
    actions.length ? reasonForm("cancel") : null,
    h("p", { class: "form-error request-error", role: "alert", hidden: true }));
}

function showError(li, message) {
  const box = li.querySelector(".request-error");
  box.textContent = message || "";
  box.hidden = !message;
}

/** POST the action; a refusal shows at the form's fields where it names one, the rest under the card. */
async function send(li, action, body, form = null) {
  showError(li, "");
  if (form) clearErrors(form);
  try {
    const changed = await apiFetch(`/api/requests/${li.dataset.requestId}/${action}`, { method: "POST", body });
    return changed;
  } catch (err) {
    if (err.status === 401) goToLogin();
    const left = form ? showFieldErrors(form, err.errors) : null;
    const fields = left || Object.entries(err.errors || {}).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`);
    const detail = form && err.code === "validation-error" && !fields.length
      ? "Please fix the marked fields."
      : err.detail || "That did not work. Please try again.";
    showError(li, [detail, ...fields].join(" — "));
    return null;
  }
}

/** Wire the buttons and forms of a list of request cards; `onChanged(request)` redraws. */
export function bindRequestActions(list, onChanged) {
  list.addEventListener("click", async (event) => {
    const target = event.target.closest("button");
    const li = target && target.closest(".request-card");
    if (!li) return;
    if (target.classList.contains("form-close")) {
      target.closest("form").hidden = true;
      return;
    }
    const action = target.dataset.action;
    if (!action) return;
    if (action === "propose") {
      li.querySelector(".reschedule-form").hidden = false;
      return;
    }
    if (action === "decline" || action === "cancel") {
      li.querySelector(`.reason-form[data-action="${action}"]`).hidden = false;
      return;
    }
    target.disabled = true;
    const changed = await send(li, action);
    target.disabled = false;
    if (changed) onChanged(changed);
  });
  list.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const li = form.closest(".request-card");
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    let changed;
    if (form.classList.contains("reschedule-form")) {
      const currency = li.dataset.currency;
      const amount = Number(form.elements.offer.value);
      changed = await send(li, "reschedule", {
        starts_at: localInputToIso(form.elements.starts_at.value),
        ends_at: localInputToIso(form.elements.ends_at.value),
        ...(Number.isFinite(amount) && form.elements.offer.value !== "" && currency
          ? { offer: { amount: Math.round(amount * 10 ** currencyDigits(currency)), currency } }
          : {}),
      }, form);
    } else {
      changed = await send(li, form.dataset.action, { reason: form.elements.reason.value.trim() });
    }
    submit.disabled = false;
    if (changed) onChanged(changed);
  });
}

/** Keep a list fresh without clobbering a form someone is typing in. */
export function poll(list, load) {
  setInterval(() => {
    const busy = list.querySelector("form:not([hidden])") || list.contains(document.activeElement);
    if (!document.hidden && !busy) load();
  }, POLL_MS);
}

// --- the inbox page --------------------------------------------------------------------------

const inbox = $("#inbox");
if (inbox) {
  const filter = $("#status-filter");

  const draw = (items) => {
    inbox.setAttribute("aria-busy", "false");
    if (!items.length) {
      inbox.replaceChildren(h("li", { class: "muted empty-row" }, filter.value ? `No ${filter.value} requests.` : "No requests yet."));
      return;
    }
    inbox.replaceChildren(...items.map((req) => requestItem(req, { asMusician: true })));
  };

  const load = async () => {
    const query = new URLSearchParams({ role: "musician", limit: "100" });
    if (filter.value) query.set("status", filter.value);
    try {
      const page = await apiFetch(`/api/requests?${query}`);
      draw(page.items);
    } catch (err) {
      if (err.status === 401) return goToLogin();
      inbox.replaceChildren(h("li", { class: "form-error", role: "alert" }, err.detail || "Could not load your requests."));
    }
  };

  bindRequestActions(inbox, (changed) => {
    flash(`Request for “${changed.project.title}” is now ${changed.status}.`, "success");
    load();
  });
  filter.addEventListener("change", load);
  $("#reload-inbox").addEventListener("click", load);
  load();
  poll(inbox, load);
}
