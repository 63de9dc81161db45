// The musician's profile and weekly availability editor.
import { apiFetch } from "./api.js";
import { $, $$, clearErrors, currencyDigits, formatRange, goToLogin, h, setBusy, showProblem } from "./ui.js";

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const profileForm = $("#profile-form");
const availabilityForm = $("#availability-form");
const weekly = $("#weekly");
const exceptions = $("#exceptions");

const splitList = (text, sep = ",") => text.split(sep).map((s) => s.trim()).filter(Boolean);

function succeeded(form, message) {
  const ok = $(".form-success", form);
  ok.textContent = message;
  ok.hidden = false;
}

// --- profile ---------------------------------------------------------------------------------

function fillProfile(p) {
  const f = profileForm.elements;
  f.instruments.value = p.instruments.join(", ");
  f.genres.value = p.genres.join(", ");
  f.bio.value = p.bio;
  f.city.value = p.location.city || "";
  f.coords.value = p.location.lat !== null && p.location.lon !== null ? `${p.location.lat}, ${p.location.lon}` : "";
  if (p.rate) {
    f.currency.value = p.rate.currency;
    f.rate.value = String(p.rate.amount / 10 ** currencyDigits(p.rate.currency));
    f.rate_per.value = p.rate.per;
  }
  f.links.value = p.links.join("\n");
  f.photo_url.value = p.photo_url || "";
  const link = $("#public-profile-link");
  if (link) link.hidden = false;
}

function readProfile() {
  const f = profileForm.elements;
  const [lat, lon] = splitList(f.coords.value).map(Number);
  const currency = f.currency.value;
  return {
    instruments: splitList(f.instruments.value),
    genres: splitList(f.genres.value),
    bio: f.bio.value.trim(),
    location: { city: f.city.value.trim(), lat: Number.isFinite(lat) ? lat : null, lon: Number.isFinite(lon) ? lon : null },
    rate: f.rate.value === ""
      ? null
      : { amount: Math.round(Number(f.rate.value) * 10 ** currencyDigits(currency)), currency, per: f.rate_per.value },
    links: splitList(f.links.value, "\n"),
    photo_url: f.photo_url.value.trim() || null,
  };
}

profileForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(profileForm);
  const submit = profileForm.querySelector('button[type="submit"]');
  setBusy(submit, true, "Saving…");
  try {
    fillProfile(await apiFetch("/api/musicians/me", { method: "PUT", body: readProfile() }));
    succeeded(profileForm, "Profile saved.");
    loadPreview();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    // The API names location.lat / location.lon; the form has one coordinates field.
    showProblem(profileForm, err, { "location.lat": "coords", "location.lon": "coords" });
  } finally {
    setBusy(submit, false);
  }
});

// --- availability ----------------------------------------------------------------------------

function timeInput(name, value, label) {
  return h("input", { type: "time", name, value: value || "", "aria-label": label, required: true });
}

function windowRow(day, start = "18:00", end = "23:00") {
  return h("span", { class: "window my-session-side", dataset: { weekday: day } },
    timeInput("start", start, `${DAYS[day]} from`), "–", timeInput("end", end === "24:00" ? "23:59" : end, `${DAYS[day]} until`),
    h("button", { type: "button", class: "btn btn-ghost btn-small remove-window", "aria-label": `Remove ${DAYS[day]} window` }, "×"));
}

function drawWeekly(windows) {
  weekly.replaceChildren(...DAYS.map((name, day) => h("li", { class: "my-session day-row", dataset: { weekday: day } },
    h("strong", { class: "my-session-title" }, name),
    h("div", { class: "my-session-main windows" },
      windows.filter((w) => w.weekday === day).map((w) => windowRow(day, w.start, w.end))),
    h("button", { type: "button", class: "btn btn-ghost btn-small add-window", dataset: { weekday: day } }, "Add hours"))));
}

function exceptionRow(item = {}) {
  const available = item.available === true;
  return h("li", { class: "my-session exception-row" },
    h("input", { type: "date", name: "date", value: item.date || "", "aria-label": "Date", required: true }),
    h("select", { name: "available", "aria-label": "Available or not" },
      h("option", { value: "false", selected: !available }, "Unavailable"),
      h("option", { value: "true", selected: available }, "Available")),
    h("input", { type: "time", name: "start", value: item.start || "", "aria-label": "From (empty: all day)" }),
    h("input", { type: "time", name: "end", value: item.end && item.end !== "24:00" ? item.end : "", "aria-label": "Until (empty: all day)" }),
    h("button", { type: "button", class: "btn btn-ghost btn-small remove-exception", "aria-label": "Remove this date" }, "×"));
}

// <input type=time> cannot say 24:00; 23:59 there means "until midnight".
const endValue = (value) => (value === "23:59" ? "24:00" : value);

function readAvailability() {
  const windows = $$(".window", weekly).map((row) => ({
    weekday: Number(row.dataset.weekday),
    start: row.querySelector('[name="start"]').value,
    end: endValue(row.querySelector('[name="end"]').value),
  }));
  const dated = $$(".exception-row", exceptions).map((row) => {
    const start = row.querySelector('[name="start"]').value;
    const end = row.querySelector('[name="end"]').value;
    return {
      date: row.querySelector('[name="date"]').value,
      available: row.querySelector('[name="available"]').value === "true",
      ...(start || end ? { start, end: endValue(end) } : {}),
    };
  });
  const zone = availabilityForm.elements.timezone.value.trim();
  return { timezone: zone || null, weekly: windows, exceptions: dated };
}

function fillAvailability(a) {
  availabilityForm.elements.timezone.value = a.follows_account_timezone ? "" : a.timezone;
  drawWeekly(a.weekly);
  exceptions.replaceChildren(...a.exceptions.map(exceptionRow));
}

weekly.addEventListener("click", (event) => {
  const add = event.target.closest(".add-window");
  if (add) {
    const day = Number(add.dataset.weekday);
    add.closest(".day-row").querySelector(".windows").append(windowRow(day));
    return;
  }
  const remove = event.target.closest(".remove-window");
  if (remove) remove.closest(".window").remove();
});
exceptions.addEventListener("click", (event) => {
  const remove = event.target.closest(".remove-exception");
  if (remove) remove.closest(".exception-row").remove();
});
$("#add-exception").addEventListener("click", () => exceptions.append(exceptionRow()));

availabilityForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(availabilityForm);
  const submit = availabilityForm.querySelector('button[type="submit"]');
  setBusy(submit, true, "Saving…");
  try {
    const saved = await apiFetch("/api/musicians/me/availability", { method: "PUT", body: readAvailability() });
    fillAvailability(saved);
    loadPreview();
    succeeded(availabilityForm, saved.is_set ? `Availability saved (${saved.timezone}).` : "Saved. With no hours set, every request is refused.");
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(availabilityForm, err);
  } finally {
    setBusy(submit, false);
  }
});

// --- what producers see: free slots from the public API ------------------------------------

async function loadPreview() {
  const preview = $("#availability-preview");
  const me = document.body.dataset.userId;
  if (!preview || !me) return;
  const from = new Date();
  from.setSeconds(0, 0);
  const to = new Date(from.getTime() + 7 * 24 * 3600 * 1000);
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  try {
    const answer = await apiFetch(`/api/musicians/${me}/availability/slots?${query}`);
    preview.replaceChildren(...(answer.slots.length
      ? answer.slots.map((slot) => h("li", { class: "slot" }, formatRange(slot.starts_at, slot.ends_at)))
      : [h("li", { class: "muted" }, "Nothing free in the next 7 days.")]));
  } catch (err) {
    // 404 until the profile exists: producers cannot find you yet either.
    preview.replaceChildren(h("li", { class: "muted" }, err.status === 404
      ? "Save your profile first: without one, nobody finds you."
      : err.detail || "Could not load the preview."));
  }
}

async function start() {
  if (typeof Intl.supportedValuesOf === "function") {
    $("#tz-list").replaceChildren(...Intl.supportedValuesOf("timeZone").map((zone) => h("option", { value: zone })));
  }
  try {
    fillAvailability(await apiFetch("/api/musicians/me/availability"));
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(availabilityForm, err);
  }
  try {
    fillProfile(await apiFetch("/api/musicians/me"));
  } catch (err) {
    if (err.status === 401) return goToLogin();
    if (err.status !== 404) showProblem(profileForm, err);
  }
  loadPreview();
}

start();
