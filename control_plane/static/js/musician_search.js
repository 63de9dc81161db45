// Musician search: filters in the URL, results from GET /api/musicians, "Load more" by cursor.
import { apiFetch } from "./api.js";
import { musicianCard } from "./musician_cards.js";
import { $, clearErrors, currencyDigits, localInputToIso, setBusy, showProblem, toLocalInput } from "./ui.js";

const form = $("#musician-filters");
const results = $("#musician-results");
const summary = $("#results-summary");
const empty = $("#no-musicians");
const more = $("#load-more");
const f = form.elements;
let nextCursor = null;
let lastQuery = null;
let generation = 0;

const digits = () => (f.currency.value ? currencyDigits(f.currency.value) : 2);

function fillFromUrl() {
  // The server echoes the query string into the form; money and times need converting back.
  const rate = $("#initial-max-rate").value;
  if (rate !== "" && !Number.isNaN(Number(rate))) f.max_rate.value = String(Number(rate) / 10 ** digits());
  for (const [input, hidden] of [[f.available_from, "#initial-from"], [f.available_to, "#initial-to"]]) {
    const when = new Date($(hidden).value);
    if ($(hidden).value && !Number.isNaN(when.getTime())) input.value = toLocalInput(when);
  }
}

function readQuery() {
  const query = new URLSearchParams();
  const text = (name) => f[name].value.trim();
  for (const name of ["q", "instrument", "genre", "currency", "sort"]) if (text(name)) query.set(name, text(name));
  if (text("near")) query.set("near", text("near").replace(/\s+/g, ""));
  if (text("radius_km")) query.set("radius_km", text("radius_km"));
  if (text("max_rate")) query.set("max_rate", String(Math.round(Number(text("max_rate")) * 10 ** digits())));
  for (const name of ["available_from", "available_to"]) {
    const iso = localInputToIso(f[name].value);
    if (iso) query.set(name, iso);
  }
  return query;
}

function describe(count, hasMore, query) {
  const who = count === 1 ? "1 musician" : `${count} musicians`;
  const near = query.has("near") ? ` within ${query.get("radius_km") || 50} km` : "";
  return `${hasMore ? `Showing ${who}${near}; more below.` : `${who}${near}.`}`;
}

async function load({ append = false } = {}) {
  const mine = ++generation;
  const query = append ? new URLSearchParams(lastQuery) : readQuery();
  if (!append) {
    lastQuery = query.toString();
    history.replaceState(null, "", query.toString() ? `/musicians?${query}` : "/musicians");
  }
  const page = new URLSearchParams(query);
  page.set("limit", "20");
  if (append && nextCursor) page.set("cursor", nextCursor);
  results.setAttribute("aria-busy", "true");
  setBusy($("#apply-filters"), true, "Searching…");
  try {
    const answer = await apiFetch(`/api/musicians?${page}`);
    if (mine !== generation) return; // a newer search started meanwhile
    clearErrors(form);
    const cards = answer.items.map(musicianCard);
    if (append) results.append(...cards);
    else results.replaceChildren(...cards);
    nextCursor = answer.next_cursor;
    more.hidden = !nextCursor;
    const shown = results.children.length;
    empty.hidden = shown > 0 || Boolean(nextCursor);
    summary.textContent = describe(shown, Boolean(nextCursor), query);
  } catch (err) {
    if (mine !== generation) return;
    clearErrors(form);
    showProblem(form, err);
    if (!append) {
      results.replaceChildren();
      summary.textContent = "";
      more.hidden = true;
    }
  } finally {
    results.setAttribute("aria-busy", "false");
    setBusy($("#apply-filters"), false);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
form.addEventListener("reset", () => setTimeout(() => load(), 0));
more.addEventListener("click", () => load({ append: true }));

$("#use-location").addEventListener("click", () => {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition((position) => {
    const { latitude, longitude } = position.coords;
    f.near.value = `${latitude.toFixed(4)}, ${longitude.toFixed(4)}`;
    if (!f.sort.value) f.sort.value = "distance";
    load();
  }, () => showProblem(form, { detail: "Your browser did not share a location; type lat, lon instead." }));
});

fillFromUrl();
load();
