// The messages one conversation shows (conversation.js), and where the reader is in them.
// Every message is kept by id, so whatever arrives twice (socket and fetch, or the server's
// two delivery paths) is shown once, always in id order; a newer version of a message
// replaces the one shown. History loads upward as you scroll (or by the "Load earlier"
// button), keeping in place what the reader looks at; the reader who was at the bottom stays
// there as messages come in, one who scrolled up gets a button to jump down.

import { apiFetch } from "./api.js";
import { excerptOf, fill, ticks } from "./conversation_render.js";
import { h } from "./ui.js";

export const PAGE = 30; // messages per history request
const NEAR_EDGE_PX = 80;

// A newer version of the same message: a deletion beats anything, a later edit an earlier one.
const editedAt = (message) => (message.edited_at ? Date.parse(message.edited_at) : 0);
export function isNewer(next, known) {
  if (next.deleted !== known.deleted) return next.deleted;
  return editedAt(next) > editedAt(known);
}

/** The log's part of the component `c` (conversation.js): returns the methods it adds. */
export function mountLog(c) {
  const { announcer, earlierButton, emptyEl, jumpButton, list, scroller } = c.el;
  let loadingEarlier = false;

  // In id order; messages still being sent stay after every stored one.
  function place(node, messageId) {
    for (let el = list.lastElementChild; el; el = el.previousElementSibling) {
      if (el.dataset.id && Number(el.dataset.id) < messageId) {
        el.after(node);
        return;
      }
    }
    list.prepend(node);
  }

  /** Show a message, or its newer version; false when it was shown already. */
  function upsert(message) {
    if (!message || message.conversation_id !== c.id) return false;
    const known = c.shown.get(message.id);
    if (known) {
      if (isNewer(message, known.message)) {
        known.message = message;
        if (!known.node.querySelector(".msg-edit-form")) fill(known.node, message, c);
      }
      return false;
    }
    // One of ours being sent: its placeholder becomes the stored message.
    const own = message.sender.id === c.me && message.client_id ? c.pending.get(message.client_id) : null;
    if (own) {
      c.pending.delete(message.client_id);
      own.node.remove();
    }
    const node = h("li", { dataset: { id: message.id } });
    fill(node, message, c);
    c.shown.set(message.id, { message, node });
    place(node, message.id);
    c.newestId = Math.max(c.newestId, message.id);
    c.oldestId = c.oldestId === null ? message.id : Math.min(c.oldestId, message.id);
    // The server moves the sender's own marker with each post: nothing to mark read for it.
    if (message.sender.id === c.me) c.markers.set(c.me, Math.max(c.markers.get(c.me) || 0, message.id));
    c.forgetTyper(message.sender.id);
    emptyEl.hidden = true;
    return true;
  }

  function redrawTicks() {
    for (const { message, node } of c.shown.values()) {
      const old = node.querySelector(".msg-ticks");
      if (old) old.replaceWith(ticks(message, c));
    }
  }

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_EDGE_PX;
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
    jumpButton.hidden = true;
  };

  /** Show messages (from the socket, a catch-up or our own send); the reader who was at
   * the bottom stays there, one who scrolled up gets a button to jump down. */
  function addAll(messages, { fromMe = false } = {}) {
    const stick = fromMe || atBottom();
    const added = messages.filter((m) => upsert(m));
    if (!added.length) return;
    if (stick) toBottom();
    else jumpButton.hidden = false;
    const theirs = added.filter((m) => m.sender.id !== c.me && !m.deleted);
    for (const m of theirs) c.spokeAt.set(m.sender.id, Date.now());
    if (theirs.length) {
      const last = theirs[theirs.length - 1];
      announcer.textContent = theirs.length === 1
        ? `New message from ${last.sender.name}: ${excerptOf(last)}`
        : `${theirs.length} new messages, the last from ${last.sender.name}: ${excerptOf(last)}`;
    }
    c.markRead();
  }

  // --- history ----------------------------------------------------------------------------

  async function loadEarlier() {
    if (!c.loaded || loadingEarlier || !c.moreBefore || c.oldestId === null) return;
    loadingEarlier = true;
    earlierButton.disabled = true;
    scroller.setAttribute("aria-busy", "true");
    try {
      const page = await apiFetch(`${c.messagesPath()}?before=${c.oldestId}&limit=${PAGE}`);
      if (c.destroyed) return;
      // Keep what the reader looks at in place while older messages go in above it.
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      for (const message of page.items) upsert(message);
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      c.moreBefore = page.has_more;
    } catch (err) {
      c.showError(c.problem(err, "Could not load earlier messages."));
    } finally {
      loadingEarlier = false;
      earlierButton.disabled = false;
      earlierButton.hidden = !c.moreBefore;
      scroller.setAttribute("aria-busy", "false");
    }
  }

  /** Until the log can scroll (or history ends): otherwise nothing could trigger loading upward. */
  async function fillView() {
    while (!c.destroyed && c.moreBefore && scroller.scrollHeight <= scroller.clientHeight + NEAR_EDGE_PX && scroller.clientHeight > 0) {
      const before = c.oldestId;
      await loadEarlier();
      if (c.oldestId === before) return;
    }
  }

  earlierButton.addEventListener("click", loadEarlier);
  jumpButton.addEventListener("click", () => {
    toBottom();
    c.markRead();
  });
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_EDGE_PX) loadEarlier();
    if (atBottom()) {
      jumpButton.hidden = true;
      c.markRead();
    }
  }, { passive: true });

  return { upsert, redrawTicks, atBottom, toBottom, addAll, fillView };
}
