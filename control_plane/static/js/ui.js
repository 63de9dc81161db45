// Small DOM helpers shared by the page modules.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Element builder: h("li", {class: "x", dataset: {id: 1}}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A dismissable message in the #flash area. */
export function flash(message, kind = "info", { timeout = 6000 } = {}) {
  const area = document.getElementById("flash");
  if (!area) return;
  const item = h("p", { class: `flash flash-${kind}` }, message);
  area.append(item);
  if (timeout) setTimeout(() => item.remove(), timeout);
}

/** The `next` query parameter, accepted only for same-site paths. */
export function safeNext(fallback = "/sessions") {
  const raw = new URLSearchParams(location.search).get("next");
  if (!raw || !raw.startsWith("/")) return fallback;
  try {
    // Resolve as the browser will (it drops tabs and newlines): same origin only.
    const url = new URL(raw, location.origin);
    if (url.origin === location.origin) return url.pathname + url.search + url.hash;
  } catch (_) {
    /* fall through */
  }
  return fallback;
}

export function goToLogin() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// --- forms -------------------------------------------------------------------------------

export function clearErrors(form) {
  for (const el of $$(".field-error", form)) {
    el.textContent = "";
    el.hidden = true;
  }
  for (const el of $$("[aria-invalid]", form)) el.removeAttribute("aria-invalid");
  const general = $(".form-error", form);
  if (general) {
    general.textContent = "";
    general.hidden = true;
  }
}

export function showFormError(form, message) {
  const general = $(".form-error", form);
  if (!general) return;
  general.textContent = message;
  general.hidden = false;
}

/**
 * Show a problem's `errors` map next to the fields ("price.amount" -> data-field="price" when
 * there is no exact match); returns the messages that had no field to go to.
 */
export function showFieldErrors(form, errors = {}, aliases = {}) {
  const leftovers = [];
  let first = null;
  for (const [key, messages] of Object.entries(errors || {})) {
    const text = (Array.isArray(messages) ? messages : [messages]).join(" ");
    const candidates = [aliases[key], key, key.split(".")[0], aliases[key.split(".")[0]]].filter(Boolean);
    const target = candidates.map((name) => form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`)).find(Boolean);
    if (!target) {
      leftovers.push(key === "body" ? text : `${key}: ${text}`);
      continue;
    }
    target.textContent = target.textContent ? `${target.textContent} ${text}` : text;
    target.hidden = false;
    const name = target.dataset.field;
    for (const input of $$(`[name="${CSS.escape(name)}"]`, form)) {
      input.setAttribute("aria-invalid", "true");
      if (!first) first = input;
    }
  }
  if (first) first.focus();
  return leftovers;
}

/** Show an ApiError (or anything thrown) on a form: per-field messages plus the detail. */
export function showProblem(form, err, aliases = {}) {
  const leftovers = showFieldErrors(form, err && err.errors, aliases);
  let detail = (err && (err.detail || err.message)) || "Something went wrong. Please try again.";
  // "Invalid fields: ends_at, title" is for API clients; here each message is at its field.
  if (err && err.code === "validation-error" && !leftovers.length) detail = "Please fix the marked fields.";
  showFormError(form, leftovers.length ? `${detail} (${leftovers.join("; ")})` : detail);
}

export function setBusy(button, busy, busyText) {
  if (!button) return;
  if (busy) {
    button.dataset.label = button.dataset.label || button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    if (busyText) button.textContent = busyText;
  } else {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (button.dataset.label) button.textContent = button.dataset.label;
  }
}

// --- formatting --------------------------------------------------------------------------

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit",
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "numeric", day: "numeric" });

export const viewerTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** "Sat, 1 Jun 2025, 19:30 – 21:00" in the viewer's locale and time zone. */
export function formatRange(startIso, endIso) {
  const start = new Date(startIso);
  if (Number.isNaN(start.getTime())) return startIso;
  const end = endIso ? new Date(endIso) : null;
  if (!end || Number.isNaN(end.getTime())) return dateTimeFormat.format(start);
  const sameDay = dayFormat.format(start) === dayFormat.format(end);
  return `${dateTimeFormat.format(start)} – ${sameDay ? timeFormat.format(end) : dateTimeFormat.format(end)}`;
}

/** Turn every <time class="local-time"> into the viewer's locale (server renders UTC). */
export function localizeTimes(root = document) {
  const here = viewerTimeZone();
  for (const el of $$("time.local-time", root)) {
    el.textContent = formatRange(el.getAttribute("datetime"), el.dataset.end);
    const zone = el.dataset.tz;
    if (zone && zone !== here) {
      try {
        const there = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZone: zone, timeZoneName: "short" });
        el.title = `${there.format(new Date(el.getAttribute("datetime")))} local time (${zone})`;
      } catch { /* unknown zone in this browser */ }
    }
  }
}

export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** {amount: 2500, currency: "EUR"} (minor units) -> "€25.00"; 0 -> "Free". */
export function formatMoney(amount, currency) {
  if (!amount) return "Free";
  const digits = currencyDigits(currency);
  const value = amount / 10 ** digits;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${currency}`;
  }
}

export function localizePrices(root = document) {
  for (const el of $$(".price[data-amount]", root)) {
    el.textContent = formatMoney(Number(el.dataset.amount), el.dataset.currency);
  }
}

export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** A datetime-local value ("2025-06-01T19:30") as ISO 8601 with the browser's offset. */
export function localInputToIso(value) {
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const pad = (n, w = 2) => String(Math.abs(Math.trunc(n))).padStart(w, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** A Date as a datetime-local input value in the browser's time zone. */
export function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Where each kind of person starts after logging in or registering: the page of the work they came to do. */
export function homeFor(roles) {
  if (roles.includes("facilitator") || roles.includes("creator")) return "/facilitator";
  if (roles.includes("producer") || roles.includes("band_manager")) return "/projects";
  if (roles.includes("musician")) return "/requests";
  return "/sessions";
}
