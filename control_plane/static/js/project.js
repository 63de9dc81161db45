// A project's page: its requests (live), the form that sends a new one, and the project's
// conversation with the musicians it asked (conversation.js).
import { apiFetch } from "./api.js";
import { mountConversation } from "./conversation.js";
import { bindRequestActions, poll, requestItem } from "./requests_inbox.js";
import { $, clearErrors, currencyDigits, goToLogin, h, localInputToIso, localizeTimes, setBusy, showProblem, toLocalInput } from "./ui.js";

localizeTimes();

const root = $("#project");
const projectId = Number(root.dataset.projectId);
const list = $("#project-requests");
const form = $("#request-form");
const musicianSelect = form.elements.musician_id;

// --- requests --------------------------------------------------------------------------------

function draw(requests) {
  list.setAttribute("aria-busy", "false");
  if (!requests.length) {
    list.replaceChildren(h("li", { class: "muted empty-row" }, "No requests yet. Send the first one."));
    return;
  }
  list.replaceChildren(...requests.map((req) => requestItem(req, { asMusician: false })));
}

async function load() {
  try {
    const project = await apiFetch(`/api/projects/${projectId}`);
    draw(project.requests);
  } catch (err) {
    if (err.status === 401) return goToLogin();
    list.replaceChildren(h("li", { class: "form-error", role: "alert" }, err.detail || "Could not load the requests."));
  }
}

bindRequestActions(list, load);
$("#reload-requests").addEventListener("click", load);
load();
poll(list, load);

// --- the request form ------------------------------------------------------------------------

async function loadMusicians() {
  const instrument = form.elements.instrument.value.trim();
  const query = new URLSearchParams({ limit: "200" });
  if (instrument) query.set("instrument", instrument);
  musicianSelect.disabled = true;
  try {
    const page = await apiFetch(`/api/musicians?${query}`);
    const options = page.items.map((m) => {
      const rate = m.rate ? ` · ${m.rate.amount / 10 ** currencyDigits(m.rate.currency)} ${m.rate.currency}/${m.rate.per}` : "";
      const city = m.location && m.location.city ? ` · ${m.location.city}` : "";
      return h("option", { value: m.id }, `${m.name}${city}${rate}`);
    });
    musicianSelect.replaceChildren(
      h("option", { value: "" }, options.length ? "Choose a musician" : `Nobody plays ${instrument || "that"} yet`),
      ...options);
  } catch (err) {
    if (err.status === 401) return goToLogin();
    musicianSelect.replaceChildren(h("option", { value: "" }, "Could not load musicians"));
  } finally {
    musicianSelect.disabled = false;
  }
}

const DAY_MS = 24 * 3600 * 1000;

function prefill() {
  const start = new Date(root.dataset.startsAt);
  let end = new Date(root.dataset.endsAt);
  if (end - start > DAY_MS) {
    // A project over several days: nobody is available for all of it at once, so offer its
    // first day (until the hour the project ends each day, or three hours).
    const firstDay = new Date(start);
    firstDay.setHours(end.getHours(), end.getMinutes(), 0, 0);
    end = firstDay > start ? firstDay : new Date(start.getTime() + 3 * 3600 * 1000);
  }
  if (!Number.isNaN(start.getTime()) && start > new Date()) form.elements.starts_at.value = toLocalInput(start);
  if (!Number.isNaN(end.getTime())) form.elements.ends_at.value = toLocalInput(end);
}

prefill();
loadMusicians();
form.elements.instrument.addEventListener("change", loadMusicians);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const ok = $(".form-success", form);
  ok.hidden = true;
  const f = form.elements;
  const currency = f.currency.value;
  const major = f.offer.value === "" ? 0 : Number(f.offer.value);
  const body = {
    musician_id: f.musician_id.value ? Number(f.musician_id.value) : null,
    instrument: f.instrument.value.trim(),
    starts_at: localInputToIso(f.starts_at.value),
    ends_at: localInputToIso(f.ends_at.value),
    offer: { amount: Number.isFinite(major) ? Math.round(major * 10 ** currencyDigits(currency)) : null, currency },
    message: f.message.value.trim(),
  };
  const submit = form.querySelector('button[type="submit"]');
  setBusy(submit, true, "Sending…");
  try {
    const sent = await apiFetch(`/api/projects/${projectId}/requests`, {
      method: "POST",
      body,
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    ok.textContent = `Request sent to ${sent.musician.name}.`;
    ok.hidden = false;
    f.message.value = "";
    load();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(form, err, { "offer.amount": "offer", "offer.currency": "offer", body: "ends_at" });
  } finally {
    setBusy(submit, false);
  }
});

// --- the project's conversation ---------------------------------------------------------------

mountConversation($("#project-conversation"), {
  load: () => apiFetch(`/api/projects/${projectId}/conversation`),
  heading: "Conversation",
  embedded: true,
});
