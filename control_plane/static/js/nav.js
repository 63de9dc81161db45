// Header behaviour on every page: logout.
import { apiFetch } from "./api.js";
import { flash } from "./ui.js";

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    logout.disabled = true;
    try {
      await apiFetch("/api/auth/logout", { method: "POST" });
    } catch (err) {
      if (err.status && err.status !== 401) {
        flash(err.detail || "Could not log out. Please try again.", "error");
        logout.disabled = false;
        return;
      }
    }
    location.assign("/");
  });
}
