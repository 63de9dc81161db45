// Shared by the musician search and profile pages: how a musician is shown.
import { formatMoney, h } from "./ui.js";

const SERVICES = { spotify: "Spotify", soundcloud: "SoundCloud", bandcamp: "Bandcamp" };

/** 0.38 -> "380 m away", 4.21 -> "4.2 km away", 254.7 -> "255 km away". */
export function formatDistance(km) {
  if (km === null || km === undefined || Number.isNaN(km)) return "";
  if (km < 1) return `${Math.max(10, Math.round((km * 1000) / 10) * 10)} m away`;
  if (km < 10) return `${km.toFixed(1)} km away`;
  return `${Math.round(km).toLocaleString()} km away`;
}

export function formatRate(rate) {
  if (!rate) return "Rate on request";
  return `${formatMoney(rate.amount, rate.currency)} per ${rate.per}`;
}

/** "★★★★☆ 4.3 (12)" with an accessible label; "No reviews yet" without any. */
export function ratingBadge(avg, count) {
  if (!count) return h("span", { class: "rating muted" }, "No reviews yet");
  const full = Math.round(avg);
  return h("span", { class: "rating", "aria-label": `Rated ${avg} out of 5 from ${count} review${count === 1 ? "" : "s"}` },
    h("span", { class: "stars", "aria-hidden": "true" }, "★".repeat(full) + "☆".repeat(5 - full)),
    ` ${avg.toFixed(1)} (${count})`);
}

export function initials(name) {
  return (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((part) => part[0].toUpperCase()).join("");
}

/** The photo if there is one (https only, checked by the API), otherwise initials. */
export function portrait(musician, size = "small") {
  const box = h("span", { class: `portrait portrait-${size}`, "aria-hidden": "true" }, initials(musician.name));
  if (musician.photo_url) {
    const img = h("img", { src: musician.photo_url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    img.addEventListener("error", () => img.remove());
    box.append(img);
  }
  return box;
}

export function serviceName(kind) {
  return SERVICES[kind] || kind;
}

export function tagList(items, className) {
  return h("ul", { class: `tags ${className}` }, items.map((item) => h("li", { class: "tag" }, item)));
}

export function musicianCard(m) {
  const where = [m.location && m.location.city, m.distance_km !== undefined ? formatDistance(m.distance_km) : ""]
    .filter(Boolean).join(" · ");
  return h("li", { class: "card musician-card", dataset: { musicianId: m.id } },
    h("div", { class: "musician-card-head" },
      portrait(m),
      h("div", {},
        h("h2", { class: "musician-name" }, h("a", { href: `/musicians/${m.id}` }, m.name)),
        h("p", { class: "musician-where muted" }, where || "Location not given"))),
    m.instruments.length ? tagList(m.instruments, "instrument-tags") : null,
    m.genres.length ? tagList(m.genres, "genre-tags") : null,
    m.bio ? h("p", { class: "musician-bio" }, m.bio.length > 160 ? `${m.bio.slice(0, 157)}…` : m.bio) : null,
    h("div", { class: "musician-meta" },
      h("span", { class: "musician-rate" }, formatRate(m.rate)),
      ratingBadge(m.rating_avg, m.rating_count)));
}
