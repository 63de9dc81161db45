// Shown when the access cookie expired but a refresh cookie exists: rotate, then come back.
import { refreshTokens } from "./api.js";

const box = document.getElementById("refreshing");
const next = box ? box.dataset.next || "/sessions" : "/sessions";
const KEY = "downbeat.refreshAttempt";

const loginUrl = `/login?next=${encodeURIComponent(next)}`;
const last = Number(sessionStorage.getItem(KEY) || 0);
if (Date.now() - last < 10_000) {
  // We refreshed moments ago and still ended up here: the session is not usable.
  sessionStorage.removeItem(KEY);
  location.replace(loginUrl);
} else {
  sessionStorage.setItem(KEY, String(Date.now()));
  refreshTokens().then((ok) => {
    if (ok) location.replace(next);
    else {
      sessionStorage.removeItem(KEY);
      location.replace(loginUrl);
    }
  });
}
