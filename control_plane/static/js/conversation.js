// One conversation: its messages (history loads upward as you scroll), the composer (Enter
// sends, Shift+Enter is a new line), reply, edit, delete, report, read ticks, typing, mute and
// block. The messages page (messages.js) opens one at a time; the project and session pages
// embed their own (project.js, session.js). The API: the shared API.md, "Messages".
//
// This module is the component: its shared state, its head (title, members, mute, block),
// its start and its public API. The rest lives beside it, one concept a module:
//   conversation_render.js   the markup and how a message looks (ticks, quotes, icons, times)
//   conversation_log.js      the messages shown, once each and in id order; history upward
//   conversation_actions.js  the composer (send, retry, reply) and edit, delete, report
//   conversation_sync.js     the socket, catch-up by ?after=, read markers, typing
// Each part gets the same state object `c` and adds its methods to it, so the parts call
// one another as c.addAll(), c.markRead()... whichever module they live in.
//
// Safety: `html` is the server's rendering of safe Markdown (it escapes everything written);
// it is the only text ever inserted as HTML. Names, excerpts, file names and errors go in as
// text (ui.js h).

import { apiFetch } from "./api.js";
import { mountActions } from "./conversation_actions.js";
import { PAGE, mountLog } from "./conversation_log.js";
import { buildShell, others } from "./conversation_render.js";
import { mountSync } from "./conversation_sync.js";
import { goToLogin } from "./ui.js";

// What the messages page's list shares with the component; same names as ever.
export { newClientId } from "./conversation_actions.js";
export { excerptOf, icon, shortTime } from "./conversation_render.js";

const me = Number(document.body.dataset.userId) || null;
let instances = 0; // unique element ids when a page holds more than one component

/**
 * Render a conversation into `host`.
 * - load(): the conversation (GET /api/conversations/{id}, /api/projects/{id}/conversation...)
 * - heading: a fixed heading ("Conversation") for pages that embed it; else the conversation's title
 * - embedded: adds an "Open in Messages" link
 * - onBack(): shows a back button (the phone layout of the messages page)
 * - onChange(conversation): after something the page's list shows changed (mute, read)
 * - onUnavailable(error): the conversation cannot be opened (404: not a member); default: shown inline
 * -> {destroy(), conversation, id}
 */
export function mountConversation(host, { load, heading = null, embedded = false, onBack = null, onChange = null, onUnavailable = null } = {}) {
  const uid = `convo-${++instances}`;
  const el = buildShell(uid, { heading, embedded, onBack });
  host.replaceChildren(el.root);

  // The state every part reads and writes (each keeps what only it needs to itself).
  const c = {
    me, uid, el, onChange,
    convo: null,
    id: null,
    destroyed: false,
    loaded: false,
    blocked: false,
    early: [], // socket news that came before the first page did
    shown: new Map(), // message id -> {message, node}
    pending: new Map(), // client_id -> {clientId, body, replyTo, reply, state, error, node}
    markers: new Map(), // user id -> the newest message id they read
    spokeAt: new Map(), // user id -> when their last message arrived here (Date.now())
    oldestId: null, // the oldest message shown: history continues before it
    newestId: 0, // the newest message shown
    syncedId: 0, // the newest id fetched over HTTP with nothing missing before it
    moreBefore: false,
    messagesPath: () => `/api/conversations/${c.id}/messages`,
    showError, problem, takeConversation, unavailable,
  };
  Object.assign(c, mountLog(c), mountActions(c), mountSync(c));

  function showError(text) {
    el.errorEl.textContent = text || "";
    el.errorEl.hidden = !text;
  }
  function problem(err, fallback) {
    if (err && err.status === 401) goToLogin();
    return (err && err.detail) || fallback;
  }

  // --- the head ---------------------------------------------------------------------------

  function drawHead() {
    const { convo, blocked } = c;
    const { blockButton, form, membersEl, mutedBadge, muteButton, openLink, readonlyEl, titleEl } = el;
    if (!heading) titleEl.textContent = convo.title;
    const names = convo.members.map((m) => (m.id === me ? "you" : m.name));
    membersEl.textContent = convo.kind === "direct" ? "" : `With ${names.join(", ")}`;
    membersEl.hidden = !membersEl.textContent;
    if (openLink) {
      openLink.href = `/messages/${convo.id}`;
      openLink.hidden = false;
    }
    muteButton.hidden = false;
    muteButton.setAttribute("aria-pressed", String(Boolean(convo.muted)));
    muteButton.textContent = convo.muted ? "Unmute" : "Mute";
    muteButton.title = convo.muted ? "You are not told about new messages here" : "Stop being told about new messages here";
    const other = convo.kind === "direct" ? others(c)[0] : null;
    blockButton.hidden = !other;
    if (other) blockButton.textContent = blocked ? `Unblock ${other.name}` : `Block ${other.name}`;
    mutedBadge.hidden = !convo.muted;
    form.hidden = !convo.active || blocked;
    readonlyEl.hidden = convo.active && !blocked;
    readonlyEl.textContent = !convo.active
      ? "You are no longer in this conversation: you can read what was said while you were."
      : blocked ? "You blocked this person: neither of you can send messages here." : "";
  }

  /** The conversation as the server has it now: its head, and everyone's read markers. */
  function takeConversation(fresh) {
    c.convo = fresh;
    for (const [userId, upTo] of Object.entries(fresh.read_markers || {})) {
      c.markers.set(Number(userId), Math.max(c.markers.get(Number(userId)) || 0, upTo));
    }
    drawHead();
    c.redrawTicks();
  }

  el.muteButton.addEventListener("click", async () => {
    el.muteButton.disabled = true;
    try {
      const fresh = await apiFetch(`/api/conversations/${c.id}/mute`, { method: "PUT", body: { muted: !c.convo.muted } });
      takeConversation(fresh);
      if (onChange) onChange(c.convo);
      window.dispatchEvent(new CustomEvent("downbeat:messages-read", { detail: { conversation_id: c.id } }));
    } catch (err) {
      showError(problem(err, "Could not change this."));
    } finally {
      el.muteButton.disabled = false;
    }
  });

  el.blockButton.addEventListener("click", async () => {
    const other = others(c)[0];
    if (!other) return;
    el.blockButton.disabled = true;
    try {
      await apiFetch(`/api/users/${other.id}/block`, { method: c.blocked ? "DELETE" : "POST" });
      c.blocked = !c.blocked;
      showError("");
      drawHead();
    } catch (err) {
      showError(problem(err, "Could not change this."));
    } finally {
      el.blockButton.disabled = false;
    }
  });

  if (el.backButton) el.backButton.addEventListener("click", () => onBack());

  // --- opening ----------------------------------------------------------------------------

  function unavailable(err) {
    el.root.dataset.state = "unavailable";
    el.scroller.setAttribute("aria-busy", "false");
    el.loadingEl.hidden = true;
    el.form.hidden = true;
    if (onUnavailable) onUnavailable(err);
    else showError(err.status === 404 ? "This conversation does not exist, or you are not in it." : problem(err, "Could not open this conversation."));
  }

  async function start() {
    let page;
    try {
      const first = await load();
      if (c.destroyed) return;
      c.id = first.id;
      if (first.kind === "direct") {
        const mine = await apiFetch("/api/users/blocked");
        const other = first.members.find((m) => m.id !== me);
        c.blocked = Boolean(other && mine.items.some((b) => b.id === other.id));
      }
      takeConversation(first);
      page = await apiFetch(`${c.messagesPath()}?limit=${PAGE}`);
      if (c.destroyed) return;
    } catch (err) {
      if (c.destroyed) return;
      if (err.status === 401) return goToLogin();
      return unavailable(err);
    }
    for (const message of page.items) c.upsert(message);
    c.moreBefore = page.has_more;
    c.syncedId = c.newestId;
    c.loaded = true;
    el.root.dataset.state = "ready";
    el.loadingEl.hidden = true;
    el.emptyEl.hidden = c.shown.size > 0;
    el.earlierButton.hidden = !c.moreBefore;
    el.scroller.setAttribute("aria-busy", "false");
    for (const news of c.early.splice(0)) c.hear(news);
    c.toBottom();
    await c.fillView();
    c.toBottom();
    c.markRead();
    // Anything posted between the page's read and the socket's subscription.
    c.catchUp();
  }

  start();

  return {
    get id() { return c.id; },
    get conversation() { return c.convo; },
    destroy() {
      c.destroyed = true;
      c.stopSync();
      host.replaceChildren();
    },
  };
}
