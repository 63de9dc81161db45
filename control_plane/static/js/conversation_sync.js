// Keeping one conversation (conversation.js) current: live news, catch-up, read markers and
// who is typing.
//
// Live news comes over the page's one /ws/notifications connection (socket.js listenSocket,
// opened by bell.js): `message`, `message_updated`, `read`, `typing`, `resync`. Sockets may
// drop news while they reconnect, so after every (re)connect and every `resync` the component
// asks GET ?after=<id> from the newest id it last fetched over HTTP (conversation_log.js shows
// whatever arrives twice once).
//
// Read markers: ours go out once the newest message is on screen and scrolled to; everyone's
// come back as `read` news and show as ticks under our own messages.

import { apiFetch } from "./api.js";
import { listenSocket } from "./socket.js";
import { goToLogin } from "./ui.js";

const SOCKET = "/ws/notifications";
const CATCH_UP_PAGE = 100;
const TYPING_EVERY_MS = 1000; // the server drops more than one typing signal a second anyway
const TYPING_SHOWN_MS = 3000; // a typing hint with nothing after it fades after this long
// The server relays typing on its socket loop (up to half a second late) while a message goes
// out right after its commit: a hint this soon after that person's message is the one that
// led to it, not new typing.
const TYPING_LATE_MS = 1500;

/** The sync's part of the component `c` (conversation.js): starts listening at once (news
 * that comes before the first page waits in c.early) and returns the methods it adds. */
export function mountSync(c) {
  const { input, offlineEl, root, scroller, typingEl } = c.el;
  let catching = false;
  let catchAgain = false;
  let readSent = 0;
  let lastTyping = 0;
  let inView = false;
  let lastStatus = null;
  const typers = new Map(); // user id -> timer that forgets them

  // --- catch-up ---------------------------------------------------------------------------

  /** Everything after the newest id fetched over HTTP: after a (re)connect or a `resync`. */
  async function catchUp() {
    if (!c.loaded || c.destroyed) return;
    if (catching) {
      catchAgain = true;
      return;
    }
    catching = true;
    try {
      do {
        catchAgain = false;
        const fresh = await apiFetch(`/api/conversations/${c.id}`);
        if (c.destroyed) return;
        c.takeConversation(fresh);
        const found = [];
        for (;;) {
          const page = await apiFetch(`${c.messagesPath()}?after=${c.syncedId}&limit=${CATCH_UP_PAGE}`);
          if (c.destroyed) return;
          found.push(...page.items);
          if (page.items.length) c.syncedId = Math.max(c.syncedId, page.items[page.items.length - 1].id);
          if (!page.has_more || !page.items.length) break;
        }
        c.addAll(found);
      } while (catchAgain);
      c.showError("");
    } catch (err) {
      if (err.status === 404) return c.unavailable(err);
      // The next reconnect tries again; what is shown stays.
    } finally {
      catching = false;
    }
  }

  // --- read markers -----------------------------------------------------------------------

  const visible = () => inView && document.visibilityState === "visible" && !root.hidden;

  /** Up to the newest message shown, once the conversation is on screen and scrolled to its
   * end (someone reading older messages has not seen the new ones yet). */
  async function markRead() {
    if (!c.loaded || !visible() || !c.newestId || !c.atBottom()) return;
    const upTo = c.newestId;
    if (upTo <= Math.max(c.markers.get(c.me) || 0, readSent)) return;
    readSent = upTo;
    try {
      await apiFetch(`/api/conversations/${c.id}/read`, { method: "POST", body: { up_to: upTo } });
      c.markers.set(c.me, Math.max(c.markers.get(c.me) || 0, upTo));
      if (c.convo) c.convo.unread = 0;
      if (c.onChange) c.onChange(c.convo);
      window.dispatchEvent(new CustomEvent("downbeat:messages-read", { detail: { conversation_id: c.id, up_to: upTo } }));
    } catch (err) {
      readSent = 0; // try again with the next message or glance
      if (err.status === 401) goToLogin();
    }
  }

  const observer = new IntersectionObserver((entries) => {
    inView = entries.some((entry) => entry.isIntersecting);
    if (inView) markRead();
  });
  observer.observe(scroller);
  const onVisibility = () => markRead();
  document.addEventListener("visibilitychange", onVisibility);

  // --- typing -----------------------------------------------------------------------------

  const nameOf = (userId) => {
    const member = c.convo && c.convo.members.find((m) => m.id === userId);
    return member ? member.name : "Someone";
  };

  function drawTyping() {
    const names = [...typers.keys()].map(nameOf);
    typingEl.textContent = !names.length ? ""
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : "Several people are typing…";
  }

  /** Their hint goes (their message came, or time ran out); nothing for someone not typing. */
  function forgetTyper(userId) {
    if (!typers.has(userId)) return;
    clearTimeout(typers.get(userId));
    typers.delete(userId);
    drawTyping();
  }

  function someoneTypes(userId) {
    if (userId === c.me || Date.now() - (c.spokeAt.get(userId) || 0) < TYPING_LATE_MS) return;
    clearTimeout(typers.get(userId));
    typers.set(userId, setTimeout(() => forgetTyper(userId), TYPING_SHOWN_MS));
    drawTyping();
  }

  input.addEventListener("input", () => {
    const now = Date.now();
    if (!c.id || !input.value.trim() || now - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = now;
    socket.send({ type: "typing", conversation_id: c.id });
  });

  // --- live -------------------------------------------------------------------------------

  function hear(news) {
    if (!c.loaded) {
      c.early.push(news);
      return;
    }
    if (news.type === "message") {
      c.addAll([news.message]);
    } else if (news.type === "message_updated") {
      // Only messages shown: an older one would go in above a gap in the history.
      if (news.message && c.shown.has(news.message.id)) c.upsert(news.message);
    } else if (news.type === "read") {
      c.markers.set(news.user_id, Math.max(c.markers.get(news.user_id) || 0, news.up_to));
      c.redrawTicks();
    } else if (news.type === "typing") {
      someoneTypes(news.user_id);
    }
  }

  const socket = listenSocket(SOCKET, {
    onMessage(news) {
      if (c.destroyed) return;
      if (news.type === "resync") {
        catchUp();
        return;
      }
      const about = news.type === "message" || news.type === "message_updated" ? news.message && news.message.conversation_id : news.conversation_id;
      if (c.id === null || about !== c.id) return;
      if (news.type === "conversation") catchUp(); // members or title changed
      else hear(news);
    },
    onStatus(status) {
      // Live again (or for the first time since this opened): fetch whatever went by meanwhile.
      if (status === "live" && lastStatus !== "live") catchUp();
      lastStatus = status;
      root.dataset.socket = status;
      offlineEl.hidden = status !== "offline";
    },
  });

  /** For destroy(): stop listening, watching and timing. */
  function stopSync() {
    socket.stop();
    observer.disconnect();
    document.removeEventListener("visibilitychange", onVisibility);
    for (const timer of typers.values()) clearTimeout(timer);
  }

  return { catchUp, markRead, forgetTyper, hear, stopSync };
}
