// A project's Files tab: its files (live), resumable uploads with progress, and the
// deliverables of its accepted requests.
import { apiFetch } from "./api.js";
import {
  commentIcon, debounce, formatBytes, KIND_NAMES, kindIcon, openFilesSocket, showError, timeTag,
} from "./files_common.js";
import { ResumableUpload, uploadRow } from "./files_upload.js";
import { $, clearErrors, goToLogin, h, setBusy, showProblem } from "./ui.js";

const root = $("#project-files");
const projectId = Number(root.dataset.projectId);
const isOwner = root.dataset.role === "owner";

const fileList = $("#file-list");
const filesError = $("#files-error");
const kindFilter = $("#kind-filter");
const moreRow = $("#files-more-row");
const uploadForm = $("#upload-form");
const uploadInput = $("#upload-input");
const uploadList = $("#upload-list");
const dropZone = $("#drop-zone");
const deliverableList = $("#deliverable-list");
const deliverablesError = $("#deliverables-error");

let files = [];
let nextCursor = null;

// --- files ---------------------------------------------------------------------------------

function fileItem(file) {
  const current = (file.versions || []).find((v) => v.number === file.current_version) || null;
  const analysis = current && current.analysis;
  const open = Number(file.open_comment_count) || 0;
  return h("li", { class: "file-row", dataset: { fileId: file.id, kind: file.kind } },
    kindIcon(file.kind),
    h("div", { class: "file-row-main" },
      h("a", { class: "file-name", href: `/files/${file.id}` }, file.name),
      h("span", { class: "muted small file-meta" },
        `${KIND_NAMES[file.kind] || "File"} · v${file.current_version}`,
        current ? ` · ${formatBytes(current.size)}` : "",
        " · ", file.created_by ? `${file.created_by.name} · ` : "", timeTag(file.updated_at)),
      current && current.note ? h("span", { class: "small file-note" }, current.note) : null),
    h("div", { class: "file-row-side" },
      analysis && (analysis.status === "pending" || analysis.status === "running")
        ? h("span", { class: "badge badge-draft analysis-badge" }, "analysing") : null,
      analysis && analysis.status === "failed" ? h("span", { class: "badge badge-retreat" }, "analysis failed") : null,
      h("span", {
        class: `count-badge comment-count${open ? " has-open" : ""}`,
        title: `${open} open of ${Number(file.comment_count) || 0} comments`,
        "aria-label": `${open} open comments`,
      }, commentIcon(), String(open))));
}

function drawFiles() {
  fileList.setAttribute("aria-busy", "false");
  moreRow.hidden = !nextCursor;
  if (!files.length) {
    const kind = kindFilter.value;
    fileList.replaceChildren(h("li", { class: "muted empty-row" },
      kind ? `No ${KIND_NAMES[kind].toLowerCase()} files yet.` : "No files yet. Upload the first chart, stem or take."));
    return;
  }
  fileList.replaceChildren(...files.map(fileItem));
}

async function loadFiles({ more = false } = {}) {
  const query = new URLSearchParams({ limit: "50" });
  if (kindFilter.value) query.set("kind", kindFilter.value);
  if (more && nextCursor) query.set("cursor", nextCursor);
  try {
    const page = await apiFetch(`/api/projects/${projectId}/files?${query}`);
    files = more ? [...files, ...page.items.filter((f) => !files.some((g) => g.id === f.id))] : page.items;
    nextCursor = page.next_cursor || null;
    showError(filesError, "");
    drawFiles();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showError(filesError, err.detail || "Could not load the files.");
  }
}

/** One file changed: refetch it alone when it is shown, else the first page (it moved up). */
async function refreshFile(fileId) {
  if (!fileId || !files.some((f) => f.id === fileId)) return loadFiles();
  try {
    const file = await apiFetch(`/api/files/${fileId}`);
    files = [file, ...files.filter((f) => f.id !== fileId)];
    if (kindFilter.value && file.kind !== kindFilter.value) files = files.filter((f) => f.id !== fileId);
    drawFiles();
  } catch (err) {
    if (err.status === 404) {
      files = files.filter((f) => f.id !== fileId);
      drawFiles();
    }
  }
}

kindFilter.addEventListener("change", () => loadFiles());
$("#reload-files").addEventListener("click", () => loadFiles());
$("#files-more").addEventListener("click", () => loadFiles({ more: true }));

// --- uploads -------------------------------------------------------------------------------

function startUploads(chosen) {
  const note = uploadForm.elements.note.value.trim();
  for (const file of chosen) {
    const upload = new ResumableUpload({ projectId, file, note });
    uploadList.append(uploadRow(h, upload, {
      onDone: (result) => {
        const made = result && result.file;
        if (made) {
          files = [made, ...files.filter((f) => f.id !== made.id)];
          drawFiles();
        } else {
          loadFiles();
        }
      },
    }));
  }
}

uploadForm.addEventListener("submit", (event) => {
  event.preventDefault();
  clearErrors(uploadForm);
  const chosen = Array.from(uploadInput.files || []);
  if (!chosen.length) {
    showProblem(uploadForm, { detail: "Choose one or more files first." });
    uploadInput.focus();
    return;
  }
  startUploads(chosen);
  uploadForm.reset();
});

for (const name of ["dragenter", "dragover"]) {
  dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.add("is-over");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropZone.addEventListener(name, () => dropZone.classList.remove("is-over"));
}
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  const dropped = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
  if (dropped.length) startUploads(dropped);
});

// --- deliverables --------------------------------------------------------------------------

const STATUS_BADGE = { open: "badge-draft", submitted: "badge-session", approved: "badge-ok", changes_requested: "badge-retreat" };
const STATUS_TEXT = { open: "open", submitted: "submitted", approved: "approved", changes_requested: "changes asked" };

let deliverables = [];
let acceptedRequests = []; // the owner's: [{id, musician: {name}, instrument}]

const fieldError = (name) => h("p", { class: "field-error", dataset: { field: name }, hidden: true });

function submitForm(item) {
  const options = files.map((f) => h("option", { value: f.id, dataset: { versions: f.current_version } },
    `${f.name} (v${f.current_version})`));
  const fileSelect = h("select", { name: "file_id", required: true },
    h("option", { value: "" }, options.length ? "Choose a file" : "Upload the file first"), ...options);
  const versionInput = h("input", { type: "number", name: "version", min: "1", step: "1", required: true, inputmode: "numeric" });
  fileSelect.addEventListener("change", () => {
    const chosen = fileSelect.selectedOptions[0];
    versionInput.value = chosen && chosen.dataset.versions ? chosen.dataset.versions : "";
  });
  return h("form", { class: "form deliverable-submit", hidden: true, novalidate: true, dataset: { action: "submit" } },
    h("div", { class: "field-row" },
      h("label", { class: "field" }, "File", fileSelect, fieldError("file_id")),
      h("label", { class: "field" }, "Version", versionInput, fieldError("version"))),
    h("div", { class: "form-error", role: "alert", hidden: true }),
    h("div", { class: "my-session-side" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Submit"),
      h("button", { type: "button", class: "btn btn-ghost btn-small form-close" }, "Close")));
}

function decisionForm(action) {
  const approve = action === "approve";
  return h("form", { class: "form deliverable-decide", hidden: true, novalidate: true, dataset: { action } },
    h("label", { class: "field" }, approve ? "Note (optional)" : "What should change?",
      h("textarea", { name: "note", rows: "2", maxlength: "2000", required: !approve }), fieldError("note")),
    h("div", { class: "form-error", role: "alert", hidden: true }),
    h("div", { class: "my-session-side" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, approve ? "Approve" : "Ask for changes"),
      h("button", { type: "button", class: "btn btn-ghost btn-small form-close" }, "Close")));
}

function deliverableItem(d) {
  const request = acceptedRequests.find((r) => r.id === d.request_id);
  const who = request ? `${request.musician.name} · ${request.instrument}` : null;
  const canSubmit = !isOwner && d.status !== "approved";
  const canDecide = isOwner && d.status === "submitted";
  const submitted = d.file_id
    ? h("a", { href: `/files/${d.file_id}?version=${d.version}`, class: "small deliverable-file" },
      (files.find((f) => f.id === d.file_id) || { name: "Submitted file" }).name, ` · v${d.version}`)
    : null;
  return h("li", { class: "my-session deliverable", dataset: { deliverableId: d.id, status: d.status } },
    h("div", { class: "my-session-main" },
      h("strong", { class: "my-session-title deliverable-title" }, d.title),
      who ? h("span", { class: "muted small" }, who) : null,
      d.description ? h("span", { class: "muted small" }, d.description) : null,
      submitted,
      d.note ? h("span", { class: "small deliverable-note" }, h("strong", {}, "Note: "), d.note) : null),
    h("div", { class: "my-session-side" },
      h("span", { class: `badge ${STATUS_BADGE[d.status] || "badge-draft"} deliverable-status` }, STATUS_TEXT[d.status] || d.status)),
    canSubmit || canDecide ? h("div", { class: "my-session-side my-session-actions" },
      canSubmit ? h("button", { type: "button", class: "btn btn-primary btn-small", dataset: { open: "submit" } },
        d.status === "open" ? "Submit a file" : "Submit again") : null,
      canDecide ? h("button", { type: "button", class: "btn btn-primary btn-small", dataset: { open: "approve" } }, "Approve") : null,
      canDecide ? h("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { open: "request-changes" } },
        "Ask for changes") : null) : null,
    canSubmit ? submitForm(d) : null,
    canDecide ? decisionForm("approve") : null,
    canDecide ? decisionForm("request-changes") : null);
}

function drawDeliverables() {
  deliverableList.setAttribute("aria-busy", "false");
  if (!deliverables.length) {
    deliverableList.replaceChildren(h("li", { class: "muted empty-row" },
      isOwner ? "No deliverables yet. Add what each accepted booking should hand in." : "Nothing to deliver yet."));
    return;
  }
  deliverableList.replaceChildren(...deliverables.map(deliverableItem));
}

async function loadDeliverables() {
  try {
    const answer = await apiFetch(`/api/projects/${projectId}/deliverables`);
    deliverables = Array.isArray(answer) ? answer : answer.items || [];
    showError(deliverablesError, "");
    drawDeliverables();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showError(deliverablesError, err.detail || "Could not load the deliverables.");
  }
}

async function loadRequests() {
  if (!isOwner) return;
  const select = $("#d-request");
  try {
    const project = await apiFetch(`/api/projects/${projectId}`);
    acceptedRequests = (project.requests || []).filter((r) => r.status === "accepted");
    const previous = select.value;
    select.replaceChildren(
      h("option", { value: "" }, acceptedRequests.length ? "Choose an accepted booking" : "No accepted bookings yet"),
      ...acceptedRequests.map((r) => h("option", { value: r.id }, `${r.musician.name} · ${r.instrument}`)));
    if (acceptedRequests.some((r) => String(r.id) === previous)) select.value = previous;
    drawDeliverables();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    select.replaceChildren(h("option", { value: "" }, "Could not load bookings"));
  }
}

deliverableList.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  const li = button && button.closest(".deliverable");
  if (!li) return;
  if (button.classList.contains("form-close")) {
    button.closest("form").hidden = true;
    return;
  }
  const which = button.dataset.open;
  if (!which) return;
  for (const form of li.querySelectorAll("form")) form.hidden = form.dataset.action !== which;
  const first = li.querySelector(`form[data-action="${which}"] select, form[data-action="${which}"] textarea`);
  if (first) first.focus();
});

deliverableList.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const li = form.closest(".deliverable");
  const id = li.dataset.deliverableId;
  const action = form.dataset.action;
  clearErrors(form);
  let body;
  if (action === "submit") {
    body = { file_id: Number(form.elements.file_id.value) || null, version: Number(form.elements.version.value) || null };
  } else {
    const note = form.elements.note.value.trim();
    body = action === "approve" && !note ? {} : { note };
  }
  const submit = form.querySelector('button[type="submit"]');
  setBusy(submit, true, "Sending…");
  try {
    const changed = await apiFetch(`/api/deliverables/${id}/${action}`, { method: "POST", body });
    deliverables = deliverables.map((d) => (d.id === changed.id ? changed : d));
    drawDeliverables();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(form, err);
  } finally {
    setBusy(submit, false);
  }
});

if (isOwner) {
  const form = $("#deliverable-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const requestId = Number(form.elements.request_id.value);
    if (!requestId) {
      showProblem(form, { detail: "Choose the booking this deliverable belongs to.", errors: { request_id: ["Choose a booking."] } });
      return;
    }
    const body = { title: form.elements.title.value.trim() };
    const description = form.elements.description.value.trim();
    if (description) body.description = description;
    const submit = form.querySelector('button[type="submit"]');
    setBusy(submit, true, "Adding…");
    try {
      const made = await apiFetch(`/api/requests/${requestId}/deliverables`, { method: "POST", body });
      deliverables = [...deliverables.filter((d) => d.id !== made.id), made];
      drawDeliverables();
      form.elements.title.value = "";
      form.elements.description.value = "";
    } catch (err) {
      if (err.status === 401) return goToLogin();
      showProblem(form, err);
    } finally {
      setBusy(submit, false);
    }
  });
}

$("#reload-deliverables").addEventListener("click", () => { loadRequests(); loadDeliverables(); });

// Deliverables change on the other side (a submission, a decision): the socket says so when
// the server publishes it, and a slow poll covers the rest without clobbering an open form.
setInterval(() => {
  const busy = deliverableList.querySelector("form:not([hidden])") || deliverableList.contains(document.activeElement);
  if (!document.hidden && !busy) loadDeliverables();
}, 20_000);

// --- live ----------------------------------------------------------------------------------

const refetchAll = debounce(() => {
  loadFiles();
  loadDeliverables();
  loadRequests();
});
const changedFiles = new Set();
const refetchChanged = debounce(() => {
  const ids = [...changedFiles];
  changedFiles.clear();
  if (ids.length > 3) loadFiles();
  else for (const id of ids) refreshFile(id);
});

openFilesSocket(projectId, {
  badge: $("#files-live"),
  onLive: refetchAll,
  onChange: (message) => {
    if (message.change === "resync") {
      refetchAll();
      return;
    }
    if (message.change === "deliverable") {
      loadDeliverables();
      return;
    }
    if (message.change === "comment" && !files.some((f) => f.id === message.file_id)) return;
    if (!message.file_id || message.change === "added") {
      loadFiles();
      return;
    }
    changedFiles.add(message.file_id);
    refetchChanged();
  },
});

loadFiles();
loadDeliverables();
loadRequests();

