import { apiFetch } from "./api.js";
import { clearErrors, homeFor, safeNext, setBusy, showProblem } from "./ui.js";

const form = document.getElementById("register-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const button = form.querySelector('button[type="submit"]');
  const roles = Array.from(form.querySelectorAll('input[name="roles"]:checked'), (el) => el.value);
  const body = {
    email: form.elements.email.value.trim(),
    password: form.elements.password.value,
    name: form.elements.name.value.trim(),
    roles,
  };
  // The browser knows the person's time zone; the server checks it against the tz database.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) body.timezone = zone;
  setBusy(button, true, "Creating account…");
  let answer;
  try {
    try {
      answer = await apiFetch("/api/auth/register", { method: "POST", body });
    } catch (err) {
      const onlyZone = err.status === 422 && Object.keys(err.errors).join() === "timezone";
      if (!onlyZone) throw err;
      delete body.timezone; // a zone this server's tz database lacks: fall back to UTC
      answer = await apiFetch("/api/auth/register", { method: "POST", body });
    }
    location.assign(safeNext(homeFor(answer.user?.roles || roles)));
  } catch (err) {
    setBusy(button, false);
    showProblem(form, err);
  }
});
