// A musician's public profile: the profile, portfolio links, free slots and reviews.
import { apiFetch } from "./api.js";
import { formatRate, portrait, ratingBadge, serviceName, tagList } from "./musician_cards.js";
import { $, formatRange, h } from "./ui.js";

const root = $("#musician");
const id = root.dataset.musicianId;
let reviewCursor = null;

function showError(err) {
  const box = $("#m-error");
  box.textContent = err.detail || "Could not load this profile.";
  box.hidden = false;
}

function fillProfile(m) {
  $("#m-portrait").replaceChildren(portrait(m, "large"));
  $("#m-name").textContent = m.name;
  $("#m-where").textContent = m.location.city || "Location not given";
  $("#m-rating").replaceChildren(ratingBadge(m.rating_avg, m.rating_count));
  $("#m-rate").textContent = formatRate(m.rate);
  $("#m-tags").replaceChildren(
    m.instruments.length ? tagList(m.instruments, "instrument-tags") : "",
    m.genres.length ? tagList(m.genres, "genre-tags") : "");
  $("#m-bio").textContent = m.bio || "No bio yet.";
  $("#m-links").replaceChildren(...(m.portfolio.length
    ? m.portfolio.map((link) => h("li", { class: `portfolio-link portfolio-${link.kind}` },
      h("a", { href: link.url, rel: "noopener noreferrer", target: "_blank" }, serviceName(link.kind))))
    : [h("li", { class: "muted" }, "No links yet.")]));
}

async function loadSlots() {
  const from = new Date();
  from.setSeconds(0, 0);
  const to = new Date(from.getTime() + 7 * 24 * 3600 * 1000);
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), min_minutes: "30" });
  const answer = await apiFetch(`/api/musicians/${id}/availability/slots?${query}`);
  $("#m-zone").textContent = answer.timezone;
  $("#m-slots").replaceChildren(...(answer.slots.length
    ? answer.slots.map((slot) => h("li", { class: "slot" }, formatRange(slot.starts_at, slot.ends_at)))
    : [h("li", { class: "muted" }, "No free time in the next 7 days.")]));
}

function reviewItem(r) {
  return h("li", { class: "review" },
    h("p", { class: "review-head" }, ratingBadge(r.stars, 1), " ", h("strong", {}, r.reviewer.name),
      h("span", { class: "muted" }, ` · ${new Date(r.created_at).toLocaleDateString()}`)),
    r.text ? h("p", { class: "review-text" }, r.text) : null);
}

async function loadReviews() {
  const query = new URLSearchParams({ limit: "10" });
  if (reviewCursor) query.set("cursor", reviewCursor);
  const answer = await apiFetch(`/api/musicians/${id}/reviews?${query}`);
  const list = $("#m-reviews");
  if (!reviewCursor && !answer.items.length) list.replaceChildren(h("li", { class: "muted" }, "No reviews yet."));
  else list.append(...answer.items.map(reviewItem));
  reviewCursor = answer.next_cursor;
  $("#more-reviews").hidden = !reviewCursor;
}

$("#more-reviews").addEventListener("click", () => loadReviews().catch(showError));

async function start() {
  try {
    fillProfile(await apiFetch(`/api/musicians/${id}`));
    await Promise.all([loadSlots(), loadReviews()]);
  } catch (err) {
    showError(err);
  } finally {
    root.setAttribute("aria-busy", "false");
  }
}

start();
