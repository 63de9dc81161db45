import { apiFetch } from "./api.js";
import { clearErrors, homeFor, safeNext, setBusy, showProblem } from "./ui.js";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const button = form.querySelector('button[type="submit"]');
  const body = {
    email: form.elements.email.value.trim(),
    password: form.elements.password.value,
  };
  setBusy(button, true, "Logging in…");
  try {
    const answer = await apiFetch("/api/auth/login", { method: "POST", body });
    location.assign(safeNext(homeFor(answer.user?.roles || [])));
  } catch (err) {
    setBusy(button, false);
    showProblem(form, err);
    if (err.status === 401) form.elements.password.select();
    if (err.status === 429) {
      // Locked for a while (too many attempts): keep the button off until it may be tried again.
      const seconds = Number(err.problem.retry_after) || 1;
      button.disabled = true;
      setTimeout(() => { button.disabled = false; }, seconds * 1000);
    }
  }
});
