// The room's queue panel: list with drag-and-drop and arrow reordering, remove, and adding by
// upload (POST /api/tracks, multipart) or by URL (POST /api/tracks, JSON), then `queue_add`.

import { ApiError, apiFetch, getCookie, refreshTokens } from "./api.js";
import { $, h } from "./ui.js";
import { formatTime } from "./player.js";

const list = $("#queue");
const count = $("#queue-count");
const form = $("#queue-add");
const fileInput = $("#track-file");
const urlInput = $("#track-url");
const progress = $("#upload-progress");
const queueError = $("#queue-error");
const queueHint = $("#queue-hint");
const help = $("#queue-help");

/** Index an entry should move to when dropped before/after `target` (indices of the old list). */
export function dropIndex(fromIndex, targetIndex, after) {
  let to = targetIndex + (after ? 1 : 0);
  if (fromIndex < to) to -= 1; // the dragged entry leaves a gap above the target
  return to;
}

function actionButton(label, ariaLabel, disabled, onClick, extraClass = "") {
  const button = h("button", { type: "button", class: `btn btn-ghost ${extraClass}`.trim(), "aria-label": ariaLabel, disabled }, label);
  button.addEventListener("click", onClick);
  return button;
}

function analysisLabel(analysis) {
  if (!analysis) return null;
  if (analysis.status === "done") {
    const parts = [];
    if (Number.isFinite(analysis.bpm)) parts.push(`${analysis.bpm.toFixed(0)} BPM`);
    if (analysis.key) parts.push(analysis.key);
    return parts.join(" · ") || "analysed";
  }
  if (analysis.status === "failed") return "analysis failed";
  return null;
}

/** POST a file with upload progress (fetch cannot report it), one token refresh on expiry. */
function uploadFile(file, onProgress) {
  const attempt = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/tracks");
    xhr.setRequestHeader("Accept", "application/json, application/problem+json");
    const csrf = getCookie("csrf_access_token");
    if (csrf) xhr.setRequestHeader("X-CSRF-TOKEN", csrf);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText || "{}"); } catch { body = { detail: xhr.responseText.slice(0, 200) }; }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { detail: "Could not reach the server." })));
    const data = new FormData();
    data.append("file", file);
    xhr.send(data);
  });
  return (async () => {
    let { status, body } = await attempt();
    if (status === 401 && body.code === "token-expired" && (await refreshTokens())) ({ status, body } = await attempt());
    if (status < 200 || status >= 300) throw new ApiError(status, { status, ...body });
    return body;
  })();
}

export function createQueueView({ send }) {
  let items = [];
  let currentEntryId = null;
  let canQueue = false;
  let dragging = null;

  function showError(message) {
    queueError.textContent = message || "";
    queueError.hidden = !message;
  }

  function move(entryId, toIndex) {
    if (toIndex < 0 || toIndex >= items.length) return;
    send({ type: "queue_move", entry_id: entryId, to_index: toIndex });
  }

  function renderItem(item, index) {
    const track = item.track || {};
    const analysis = track.analysis || null;
    const running = analysis && (analysis.status === "pending" || analysis.status === "running");
    const label = analysisLabel(analysis);
    const li = h("li", {
      class: `queue-item${item.entry_id === currentEntryId ? " is-current" : ""}`,
      dataset: { entryId: item.entry_id, trackId: track.id },
      draggable: canQueue ? "true" : "false",
    },
      h("span", { class: "queue-grip", "aria-hidden": "true" }, canQueue ? "⠿" : String(index + 1)),
      h("span", { class: "queue-text" },
        h("span", { class: "queue-title" }, track.title || "Untitled"),
        h("span", { class: "queue-meta" },
          track.artist ? h("span", {}, track.artist) : null,
          track.duration_ms ? h("span", { class: "mono" }, formatTime(track.duration_ms)) : null,
          label ? h("span", { class: "queue-analysis" }, label) : null,
          running ? h("progress", { max: "1", value: String(Number(analysis.progress) || 0), "aria-label": "Analysis progress" }) : null,
          item.entry_id === currentEntryId ? h("span", { class: "badge" }, "now") : null)),
      canQueue ? h("span", { class: "queue-actions" },
        actionButton("↑", `Move ${track.title || "track"} up`, index === 0, () => move(item.entry_id, index - 1)),
        actionButton("↓", `Move ${track.title || "track"} down`, index === items.length - 1, () => move(item.entry_id, index + 1)),
        actionButton("✕", `Remove ${track.title || "track"}`, false, () => send({ type: "queue_remove", entry_id: item.entry_id }), "queue-remove"))
        : null);
    if (canQueue) attachDrag(li, index, item.entry_id);
    return li;
  }

  function attachDrag(li, index, entryId) {
    li.addEventListener("dragstart", (event) => {
      dragging = { entryId, index };
      li.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", String(entryId));
    });
    li.addEventListener("dragend", () => {
      dragging = null;
      for (const el of list.children) el.classList.remove("is-dragging", "drop-before", "drop-after");
    });
    li.addEventListener("dragover", (event) => {
      if (!dragging) return;
      event.preventDefault();
      const rect = li.getBoundingClientRect();
      const after = event.clientY > rect.top + rect.height / 2;
      li.classList.toggle("drop-after", after);
      li.classList.toggle("drop-before", !after);
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-before", "drop-after"));
    li.addEventListener("drop", (event) => {
      event.preventDefault();
      if (!dragging) return;
      const after = li.classList.contains("drop-after");
      li.classList.remove("drop-before", "drop-after");
      const to = dropIndex(dragging.index, index, after);
      if (to !== dragging.index) move(dragging.entryId, to);
    });
  }

  function render() {
    count.textContent = String(items.length);
    list.replaceChildren(...(items.length
      ? items.map(renderItem)
      : [h("li", { class: "queue-empty" }, canQueue ? "The queue is empty: upload a track or add a URL." : "The queue is empty.")]));
    help.hidden = !canQueue || items.length < 2;
    form.classList.toggle("is-disabled", !canQueue);
    queueHint.hidden = canQueue;
    for (const el of form.querySelectorAll("input, button")) el.disabled = !canQueue;
  }

  async function addTrack(create) {
    showError("");
    try {
      const track = await create();
      send({ type: "queue_add", track_id: track.id });
      return true;
    } catch (err) {
      showError(err.detail || err.message || "Could not add the track.");
      return false;
    }
  }

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    progress.hidden = false;
    progress.value = 0;
    await addTrack(() => uploadFile(file, (fraction) => { progress.value = fraction; }));
    progress.hidden = true;
    fileInput.value = "";
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = urlInput.value.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) {
      showError("Enter an http(s) link to an audio file.");
      urlInput.focus();
      return;
    }
    if (await addTrack(() => apiFetch("/api/tracks", { method: "POST", body: { url } }))) urlInput.value = "";
  });

  render();
  return {
    /** A `queue` message. Returns the entry after the current one (to prefetch). */
    setQueue(message) {
      items = Array.isArray(message.items) ? message.items : [];
      currentEntryId = message.current_entry_id ?? null;
      render();
      const at = items.findIndex((item) => item.entry_id === currentEntryId);
      return at >= 0 && at + 1 < items.length ? items[at + 1].track : null;
    },
    updateTrack(track) {
      let changed = false;
      items = items.map((item) => {
        if (item.track && track && item.track.id === track.id) {
          changed = true;
          return { ...item, track: { ...item.track, ...track } };
        }
        return item;
      });
      if (changed) render();
    },
    setPermissions({ queue }) {
      canQueue = Boolean(queue);
      render();
    },
    showError,
  };
}
