// Header behaviour on every page: logout, and the unread count on the "Messages" link.
import { apiFetch } from "./api.js";
import { listenSocket } from "./socket.js";
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

// --- unread messages ---------------------------------------------------------------------------
// The server counts (unmuted conversations, others' messages past the read marker); the page
// asks again whenever the user's socket says a message came, changed or was read somewhere,
// so every tab agrees without counting anything itself.

const count = document.getElementById("messages-unread");
const label = document.getElementById("messages-unread-label");
const BADGE_NEWS = new Set(["message", "message_updated", "read", "conversation", "resync"]);
const REFRESH_AFTER_MS = 200; // a burst of news, one request

function drawUnread(total) {
  count.textContent = total > 99 ? "99+" : String(total);
  count.dataset.count = String(total);
  count.hidden = total === 0;
  label.textContent = total ? `, ${total} unread` : "";
}

async function refreshUnread() {
  try {
    const { total } = await apiFetch("/api/conversations/unread");
    drawUnread(total);
  } catch {
    /* the badge stays as it was; the next news asks again */
  }
}

if (count && label) {
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refreshUnread, REFRESH_AFTER_MS);
  };
  let lastStatus = null;
  listenSocket("/ws/notifications", {
    onMessage(news) {
      if (BADGE_NEWS.has(news.type)) soon();
    },
    onStatus(status) {
      if (status === "live" && lastStatus !== null && lastStatus !== "live") soon(); // back after a drop
      lastStatus = status;
    },
  });
  window.addEventListener("downbeat:messages-read", soon);
  refreshUnread();
}
