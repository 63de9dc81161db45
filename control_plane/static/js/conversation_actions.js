// What a member does in a conversation (conversation.js): write (the composer: Enter sends,
// Shift+Enter is a new line), reply to a message, and edit, delete or report one from the
// buttons under it. A message being sent shows at once as a placeholder; it carries a client
// id of its own, so a retry after a failure is stored once, and the placeholder gives way to
// the stored message whichever arrives first (the POST's answer or the socket). Edit, delete
// and report open inline under their message; their errors show there too.

import { apiFetch } from "./api.js";
import { isNewer } from "./conversation_log.js";
import { MAX_BODY, excerptOf, fill, pendingNode } from "./conversation_render.js";
import { h } from "./ui.js";

/** A fresh id for one message: a retry sends the same one, so the server stores it once. */
export function newClientId() {
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The actions' part of the component `c` (conversation.js): wires the composer and the
 * message buttons; adds no methods. */
export function mountActions(c) {
  const { emptyEl, form, input, list, replyBar, replyCancel, replyText } = c.el;
  let replyTo = null;

  // --- sending ----------------------------------------------------------------------------

  async function transmit(entry) {
    entry.state = "sending";
    pendingNode(entry);
    try {
      const message = await apiFetch(`${c.messagesPath()}`, {
        method: "POST",
        body: { body: entry.body, client_id: entry.clientId, reply_to: entry.replyTo },
      });
      if (c.destroyed) return;
      c.addAll([message], { fromMe: true });
      c.pending.delete(entry.clientId); // the socket may have brought it first
      entry.node.remove();
    } catch (err) {
      if (c.destroyed || !c.pending.has(entry.clientId)) return;
      entry.state = "failed";
      entry.error = c.problem(err, "Could not send.");
      pendingNode(entry);
    }
  }

  function send() {
    const body = input.value.trim();
    if (!body || !c.id) return;
    const entry = {
      clientId: newClientId(),
      body,
      replyTo: replyTo ? replyTo.id : null,
      reply: replyTo ? { sender: { name: replyTo.sender.name }, excerpt: excerptOf(replyTo) } : null,
      state: "sending",
      error: null,
      node: null,
    };
    c.pending.set(entry.clientId, entry);
    list.append(pendingNode(entry));
    emptyEl.hidden = true;
    input.value = "";
    setReply(null);
    c.toBottom();
    transmit(entry);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape" && replyTo) {
      setReply(null);
    }
  });

  function setReply(message) {
    replyTo = message;
    replyBar.hidden = !message;
    if (message) {
      replyText.replaceChildren("Replying to ", h("strong", {}, message.sender.id === c.me ? "yourself" : message.sender.name), `: ${excerptOf(message)}`);
      input.focus();
    }
  }
  replyCancel.addEventListener("click", () => setReply(null));

  // --- edit, delete, report ---------------------------------------------------------------

  function extraOf(node) {
    return node.querySelector(".msg-extra");
  }

  function inlineError(node, text) {
    const extra = extraOf(node);
    extra.replaceChildren(h("p", { class: "form-error msg-error", role: "alert" }, text));
  }

  function startEdit(entry) {
    const { node, message } = entry;
    const bodyEl = node.querySelector(".msg-body");
    if (!bodyEl) return; // already being edited
    const field = h("textarea", { class: "msg-edit-input", rows: "2", maxlength: String(MAX_BODY), "aria-label": "Edit your message" });
    field.value = message.body;
    const save = h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Save");
    const cancel = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "Cancel");
    const editor = h("form", { class: "msg-edit-form", novalidate: true }, field, h("div", { class: "msg-edit-actions" }, save, cancel));
    bodyEl.replaceWith(editor);
    field.focus();
    const close = () => fill(node, entry.message, c);
    cancel.addEventListener("click", close);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
      else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        editor.requestSubmit();
      }
    });
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      try {
        const changed = await apiFetch(`/api/messages/${message.id}`, { method: "PATCH", body: { body: field.value } });
        // The server's answer, unless the socket already brought something newer (a deletion).
        if (!isNewer(entry.message, changed)) entry.message = changed;
        close();
      } catch (err) {
        save.disabled = false;
        inlineError(node, c.problem(err, "Could not save."));
      }
    });
  }

  function askDelete(entry) {
    const { node, message } = entry;
    const yes = h("button", { type: "button", class: "btn btn-danger btn-small" }, "Delete");
    const no = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "Keep");
    extraOf(node).replaceChildren(h("div", { class: "msg-confirm", role: "group", "aria-label": "Delete this message?" },
      h("span", {}, "Delete this message for everyone?"), yes, no));
    yes.focus();
    no.addEventListener("click", () => extraOf(node).replaceChildren());
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await apiFetch(`/api/messages/${message.id}`, { method: "DELETE" });
        // The socket brings the tombstone as well; show it now either way.
        c.upsert({ ...entry.message, deleted: true, body: "", html: "", attachments: [], mentions: [] });
      } catch (err) {
        inlineError(node, c.problem(err, "Could not delete."));
      }
    });
  }

  function askReport(entry) {
    const { node, message } = entry;
    const fieldId = `${c.uid}-report-${message.id}`;
    const reason = h("textarea", { id: fieldId, rows: "2", maxlength: "1000", required: true });
    const submit = h("button", { type: "submit", class: "btn btn-danger btn-small" }, "Report");
    const cancel = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "Cancel");
    const errorLine = h("p", { class: "form-error", role: "alert", hidden: true });
    const reportForm = h("form", { class: "msg-report-form", novalidate: true },
      h("label", { for: fieldId }, `Why are you reporting this message from ${message.sender.name}?`),
      reason, errorLine, h("div", { class: "msg-edit-actions" }, submit, cancel));
    extraOf(node).replaceChildren(reportForm);
    reason.focus();
    cancel.addEventListener("click", () => extraOf(node).replaceChildren());
    reportForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!reason.value.trim()) {
        errorLine.textContent = "Tell the moderators what is wrong with it.";
        errorLine.hidden = false;
        return;
      }
      submit.disabled = true;
      try {
        await apiFetch(`/api/messages/${message.id}/report`, { method: "POST", body: { reason: reason.value } });
        extraOf(node).replaceChildren(h("p", { class: "msg-reported", role: "status" }, "Reported. Thank you: the moderators will look at it."));
      } catch (err) {
        submit.disabled = false;
        errorLine.textContent = c.problem(err, "Could not report.");
        errorLine.hidden = false;
      }
    });
  }

  // One listener for every message's buttons, including those drawn later.
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || !list.contains(button)) return;
    const node = button.closest("li");
    const action = button.dataset.action;
    if (action === "retry") {
      const entry = c.pending.get(node.dataset.clientId);
      if (entry) transmit(entry);
      return;
    }
    const entry = c.shown.get(Number(node.dataset.id));
    if (!entry) return;
    if (action === "reply") setReply(entry.message);
    else if (action === "edit") startEdit(entry);
    else if (action === "delete") askDelete(entry);
    else if (action === "report") askReport(entry);
  });

  return {};
}
