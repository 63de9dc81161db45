// Resumable uploads (docs/FILES.md, "Resumable uploads"), with progress.
//
//   const upload = new ResumableUpload({projectId, file, note, fileId, onProgress, onState});
//   const result = await upload.start();   // the 201 answer of the last PATCH: {..., file}
//
// Each chunk goes as one XHR PATCH (XHR, not fetch: only XHR reports upload progress). When a
// connection drops (or the server answers 5xx), the offset to go on from is asked again with
// HEAD /api/uploads/{id} (what reached the server's disk counts, even half a chunk) and the
// upload resumes from there, after a short backoff; after a few failures in a row it stops and
// `resume()` (a Retry button) goes on later from the server's offset, with the same upload.
import { ApiError, apiFetch, getCookie, refreshTokens } from "./api.js";

const MAX_TRIES = 6;
const MAX_CHUNK = 8 * 1024 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

export class ResumableUpload {
  constructor({ projectId, file, note = "", fileId = null, onProgress = () => {}, onState = () => {} }) {
    this.projectId = projectId;
    this.file = file;
    this.note = note;
    this.fileId = fileId;
    this.onProgress = onProgress;
    this.onState = onState;
    this.upload = null; // the server's upload: {id, offset, size, chunk_bytes, url, ...}
    this.offset = 0;
    this.xhr = null;
    this.cancelled = false;
    this.running = false;
  }

  get url() {
    return this.upload ? this.upload.url || `/api/uploads/${this.upload.id}` : null;
  }

  /** Create the upload on the server (once), then send every chunk. */
  async start() {
    if (!this.upload) {
      this.onState("starting");
      const body = { name: this.file.name, size: this.file.size };
      if (this.note) body.note = this.note;
      if (this.fileId) body.file_id = this.fileId;
      this.upload = await apiFetch(`/api/projects/${this.projectId}/uploads`, { method: "POST", body });
      this.offset = Number(this.upload.offset) || 0;
    }
    return this.run();
  }

  /** After a stop (or a page that lost its connection): ask the offset, then go on. */
  async resume() {
    if (!this.upload) return this.start();
    this.offset = await this.serverOffset();
    return this.run();
  }

  /** Stop sending and remove the upload (and its bytes so far) on the server. */
  async cancel() {
    this.cancelled = true;
    if (this.xhr) this.xhr.abort();
    if (this.upload) {
      try {
        await apiFetch(this.url, { method: "DELETE" });
      } catch { /* expired or already gone: nothing is kept either way */ }
    }
    this.onState("cancelled");
  }

  async run() {
    if (this.running) throw new Error("this upload is already running");
    this.running = true;
    this.cancelled = false;
    let failures = 0;
    try {
      this.onProgress(this.offset, this.file.size);
      for (;;) {
        if (this.cancelled) throw new ApiError(0, { title: "Cancelled", detail: "The upload was cancelled." });
        this.onState(failures ? "resuming" : "sending");
        let answer;
        try {
          answer = await this.sendChunk();
        } catch (err) {
          if (this.cancelled) throw err;
          const retryable = err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.code === "upload-busy");
          if (!retryable) throw err;
          failures += 1;
          if (failures >= MAX_TRIES) throw err;
          this.onState("waiting");
          await sleep(Math.min(8000, 400 * 2 ** failures));
          try {
            this.offset = await this.serverOffset();
          } catch (headErr) {
            if (!(headErr instanceof ApiError) || (headErr.status !== 0 && headErr.status < 500)) throw headErr;
          }
          continue;
        }
        failures = 0;
        if (answer.status === 201) {
          this.onProgress(this.file.size, this.file.size);
          this.onState("done");
          return answer.data;
        }
        this.offset = Number(answer.data && answer.data.offset);
        if (!Number.isFinite(this.offset)) this.offset = await this.serverOffset();
        this.onProgress(this.offset, this.file.size);
      }
    } finally {
      this.running = false;
      this.xhr = null;
    }
  }

  /** HEAD /api/uploads/{id}: Upload-Offset (GET's JSON when a proxy drops the header). */
  async serverOffset() {
    let response;
    try {
      response = await fetch(this.url, { method: "HEAD", credentials: "same-origin" });
    } catch {
      throw new ApiError(0, { title: "Network error", detail: "Could not reach the server to resume the upload." });
    }
    if (response.status === 401 && (await refreshTokens())) {
      response = await fetch(this.url, { method: "HEAD", credentials: "same-origin" });
    }
    const header = response.headers.get("Upload-Offset");
    if (response.ok && header !== null && Number.isFinite(Number(header))) return Number(header);
    const upload = await apiFetch(this.url);
    return Number(upload.offset) || 0;
  }

  /** One PATCH from the current offset: {status, data}; a refused PATCH throws ApiError. */
  async sendChunk(refreshed = false) {
    const chunkBytes = Math.max(1, Math.min(Number(this.upload.chunk_bytes) || MAX_CHUNK, MAX_CHUNK));
    const start = this.offset;
    const blob = this.file.slice(start, Math.min(this.file.size, start + chunkBytes));
    const { status, data } = await new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("PATCH", this.url);
      xhr.setRequestHeader("Upload-Offset", String(start));
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.setRequestHeader("Accept", "application/json, application/problem+json");
      const csrf = getCookie("csrf_access_token");
      if (csrf) xhr.setRequestHeader("X-CSRF-TOKEN", csrf);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) this.onProgress(start + event.loaded, this.file.size);
      });
      xhr.addEventListener("load", () => resolve({ status: xhr.status, data: parseJson(xhr.responseText) }));
      xhr.addEventListener("error", () => resolve({ status: 0, data: null }));
      xhr.addEventListener("abort", () => resolve({ status: 0, data: null }));
      xhr.addEventListener("timeout", () => resolve({ status: 0, data: null }));
      xhr.send(blob);
    });
    if (status === 200 || status === 201) return { status, data };
    if (status === 401 && data && data.code === "token-expired" && !refreshed && (await refreshTokens())) {
      // Whatever arrived was kept: ask where to go on.
      this.offset = await this.serverOffset();
      return this.sendChunk(true);
    }
    if (status === 409 && data && data.code === "upload-offset-mismatch" && Number.isFinite(Number(data.offset))) {
      this.offset = Number(data.offset);
      return { status: 200, data: { offset: this.offset } };
    }
    if (status === 0) {
      throw new ApiError(0, { title: "Network error", detail: "The connection dropped; the upload goes on from where it stopped." });
    }
    const problem = data && typeof data === "object" ? data : {};
    if (!problem.status) problem.status = status;
    throw new ApiError(status, problem);
  }
}

/**
 * A progress row for one upload, with Cancel and Retry; `onDone(result)` when it finishes.
 * Returns the <li>; the upload starts at once.
 */
export function uploadRow(h, upload, { onDone, label }) {
  const bar = h("progress", { max: "1", value: "0", "aria-label": `Upload progress of ${upload.file.name}` });
  const status = h("span", { class: "upload-status muted small" }, "Waiting…");
  const error = h("p", { class: "form-error upload-error", role: "alert", hidden: true });
  const retry = h("button", { type: "button", class: "btn btn-ghost btn-small", hidden: true,
    "aria-label": `Retry the upload of ${upload.file.name}` }, "Retry");
  const cancel = h("button", { type: "button", class: "btn btn-ghost btn-small",
    "aria-label": `Cancel the upload of ${upload.file.name}` }, "Cancel");
  const li = h("li", { class: "upload-item", dataset: { state: "starting" } },
    h("div", { class: "upload-head" },
      h("strong", { class: "upload-name" }, label || upload.file.name),
      status),
    bar,
    h("div", { class: "upload-actions" }, retry, cancel),
    error);

  const states = {
    starting: "Starting…", sending: "Uploading…", resuming: "Resuming…", waiting: "Connection lost, retrying…",
    done: "Uploaded", cancelled: "Cancelled", failed: "Stopped",
  };
  let percent = "";
  upload.onState = (state) => {
    li.dataset.state = state;
    status.textContent = `${states[state] || state}${state === "sending" || state === "resuming" ? ` ${percent}` : ""}`;
  };
  upload.onProgress = (sent, total) => {
    const fraction = total > 0 ? Math.min(1, sent / total) : 1;
    bar.value = fraction;
    percent = `${Math.floor(fraction * 100)}%`;
    if (li.dataset.state === "sending" || li.dataset.state === "resuming") status.textContent = `Uploading… ${percent}`;
  };

  const go = async (first) => {
    error.hidden = true;
    retry.hidden = true;
    cancel.hidden = false;
    try {
      const result = first ? await upload.start() : await upload.resume();
      cancel.hidden = true;
      li.classList.add("is-done");
      if (onDone) onDone(result);
      setTimeout(() => li.remove(), 4000);
    } catch (err) {
      if (upload.cancelled) return;
      upload.onState("failed");
      error.textContent = (err && (err.detail || err.message)) || "The upload stopped.";
      error.hidden = false;
      // A refusal (too big, wrong kind) does not get better by trying again; a dropped
      // connection does.
      retry.hidden = !(err instanceof ApiError) || !(err.status === 0 || err.status >= 500 || err.code === "upload-busy");
    }
  };
  retry.addEventListener("click", () => go(false));
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    await upload.cancel();
    setTimeout(() => li.remove(), 1500);
  });
  go(true);
  return li;
}
