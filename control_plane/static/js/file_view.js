// One file's page: its versions (upload a new one), the viewer of the version shown (audio
// waveform with A/B compare, PDF pages, image, or a download), and its comments (pins,
// replies, resolve/reopen, @mentions). Live through /ws/projects/{id}/files.
import { apiFetch } from "./api.js";
import { AbPlayer, gainFor } from "./files_ab.js";
import {
  bodyWithMentions, debounce, formatBytes, formatTime, openFilesSocket, parseTime, problemText, showError, timeTag,
} from "./files_common.js";
import { attachMentions } from "./files_mentions.js";
import { ResumableUpload, uploadRow } from "./files_upload.js";
import { $, clearErrors, goToLogin, h, setBusy, showProblem } from "./ui.js";

const root = $("#file-view");
const fileId = Number(root.dataset.fileId);
const projectId = Number(root.dataset.projectId);
const kind = root.dataset.kind;

const versionSelect = $("#version-select");
const downloadLink = $("#download-link");
const commentForm = $("#comment-form");
const commentBody = $("#comment-body");
const commentList = $("#comment-list");
const commentsError = $("#comments-error");
const showResolved = $("#show-resolved");
const versionList = $("#version-list");

let file = null;
let viewed = Number(new URLSearchParams(location.search).get("version")) || Number(root.dataset.currentVersion);
let comments = [];
let members = [];
let gone = false;
let pick = null; // the pin of the comment being written: {at, until} or {page, x, y}
let commentsFor = null; // the version the comments shown belong to

const versionOf = (n) => (file ? file.versions.find((v) => v.number === n) : null) || null;
const viewedVersion = () => versionOf(viewed);
const isPdf = (version) => Boolean(version && version.content_type === "application/pdf");

// --- the file and its versions ---------------------------------------------------------------

async function loadFile() {
  try {
    const fresh = await apiFetch(`/api/files/${fileId}`);
    const previousCurrent = file ? file.current_version : null;
    const before = viewed;
    file = fresh;
    // Someone uploaded a new version while the current one was shown: show the new one.
    if (previousCurrent !== null && file.current_version !== previousCurrent && viewed === previousCurrent) {
      viewed = file.current_version;
    }
    if (!versionOf(viewed)) viewed = file.current_version;
    drawFile();
    if (viewed !== before && commentsFor !== null) {
      setPick(null);
      loadComments();
    }
  } catch (err) {
    if (err.status === 401) return goToLogin();
    if (err.status === 404) return markGone();
    showError(commentsError, err.detail || "Could not load the file.");
  }
}

function markGone() {
  gone = true;
  $("#file-gone").hidden = false;
  for (const form of [commentForm, $("#version-form")]) {
    for (const el of form.elements) el.disabled = true;
  }
}

function drawFile() {
  $("#file-name").textContent = file.name;
  document.title = document.title.replace(/^[^·]*·/, `${file.name} ·`);
  const creator = file.created_by ? ` · added by ${file.created_by.name}` : "";
  $("#file-summary").textContent = `${file.versions.length === 1 ? "1 version" : `${file.versions.length} versions`}, current v${file.current_version}${creator}`;
  const options = [...file.versions].reverse().map((v) =>
    h("option", { value: v.number }, `v${v.number}${v.number === file.current_version ? " (current)" : ""}`));
  versionSelect.replaceChildren(...options);
  versionSelect.value = String(viewed);
  drawVersions();
  showVersion();
}

function analysisBadge(version) {
  const a = version.analysis;
  if (!a) return null;
  if (a.status === "done") return null;
  if (a.status === "failed") return h("span", { class: "badge badge-retreat" }, "analysis failed");
  return h("span", { class: "badge badge-draft" }, a.status === "running" ? `analysing ${Math.round((a.progress || 0) * 100)}%` : "analysis pending");
}

function drawVersions() {
  versionList.replaceChildren(...[...file.versions].reverse().map((v) => {
    const current = v.number === file.current_version;
    return h("li", { class: `version-item${v.number === viewed ? " is-viewed" : ""}`, dataset: { version: v.number } },
      h("div", { class: "version-head" },
        h("strong", {}, `v${v.number}`),
        current ? h("span", { class: "badge badge-ok" }, "current") : null,
        analysisBadge(v),
        h("span", { class: "muted small" }, formatBytes(v.size))),
      v.note ? h("p", { class: "version-note" }, v.note) : null,
      h("p", { class: "muted small version-by" }, v.uploaded_by ? `${v.uploaded_by.name} · ` : "", timeTag(v.created_at)),
      h("div", { class: "version-actions" },
        v.number === viewed ? h("span", { class: "small muted" }, "shown")
          : h("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { show: v.number },
            "aria-label": `Show version ${v.number}` }, "Show"),
        h("a", { class: "btn btn-ghost btn-small", href: v.content_url, download: file.name,
          "aria-label": `Download version ${v.number}` }, "Download")));
  }));
}

versionList.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-show]");
  if (button) setViewed(Number(button.dataset.show));
});
versionSelect.addEventListener("change", () => setViewed(Number(versionSelect.value)));

function setViewed(number) {
  if (!versionOf(number) || number === viewed) return;
  viewed = number;
  const url = new URL(location.href);
  if (number === file.current_version) url.searchParams.delete("version");
  else url.searchParams.set("version", String(number));
  history.replaceState(null, "", url);
  setPick(null);
  drawFile();
  loadComments();
}

// --- the viewer ------------------------------------------------------------------------------

let shownUrl = null;

function showVersion() {
  const version = viewedVersion();
  if (!version) return;
  $("#viewer-version").textContent = String(version.number);
  $("#comment-submit").textContent = `Comment on v${version.number}`;
  downloadLink.href = version.content_url;
  downloadLink.setAttribute("download", file.name);
  if (kind === "audio") audioView.show(version);
  else if (kind === "score") pdfView.show(version);
  else if (kind === "image") {
    if (shownUrl !== version.content_url) $("#image").src = version.content_url;
  } else {
    const link = $("#other-download");
    link.href = version.content_url;
    link.setAttribute("download", file.name);
  }
  shownUrl = version.content_url;
}

function seekTo(comment) {
  if (kind === "audio" && Number.isFinite(comment.at_ms)) audioView.seek(comment.at_ms);
  if (kind === "score" && Number.isInteger(comment.page)) pdfView.showPin(comment);
  flashComment(comment.id);
}

function flashComment(id) {
  const item = commentList.querySelector(`.comment[data-comment-id="${id}"]`);
  if (!item) return;
  item.classList.remove("flash-row");
  void item.offsetWidth;
  item.classList.add("flash-row");
}

const audioView = kind === "audio" ? (() => {
  const state = $("#analysis-state");
  const label = $("#analysis-label");
  const bar = $("#analysis-bar");
  const timeNow = $("#time-now");
  const timeTotal = $("#time-total");
  const play = $("#play");
  const audioError = $("#audio-error");
  const abEnable = $("#ab-enable");
  const abPickers = $("#ab-pickers");
  const abA = $("#ab-a");
  const abB = $("#ab-b");
  const abToggle = $("#ab-toggle");
  const abNote = $("#ab-note");
  const pinAt = $("#pin-at");
  const pinUntil = $("#pin-until");
  let analysisDuration = 0;
  let wave = null;

  const player = new AbPlayer({
    a: $("#audio-a"),
    b: $("#audio-b"),
    onTime: (ms) => {
      timeNow.textContent = formatTime(ms);
      if (wave) wave.setPosition(ms);
    },
    onPlaying: (playing) => {
      play.setAttribute("aria-label", playing ? "Pause" : "Play");
      play.dataset.playing = String(playing);
    },
    onDuration: (ms) => {
      if (!analysisDuration) {
        timeTotal.textContent = formatTime(ms);
        if (wave) wave.setDuration(ms);
      }
    },
    onError: (message) => showError(audioError, message),
  });

  import("./waveform.js").then(({ Waveform }) => {
    wave = new Waveform({
      canvas: $("#waveform"),
      regions: $("#wave-regions"),
      markers: $("#wave-markers"),
      selection: $("#wave-selection"),
      cursor: $("#wave-cursor"),
      onPick: (at, until) => {
        pinAt.value = formatTime(at, { tenths: true });
        pinUntil.value = until === null ? "" : formatTime(until, { tenths: true });
        pick = { at, until };
        player.seek(at);
      },
      onMarker: (comment) => seekTo(comment),
    });
    if (player.durationMs) wave.setDuration(player.durationMs); // the metadata came first
    const version = viewedVersion();
    if (version) show(version);
    drawPins();
  });

  function show(version) {
    const analysis = version.analysis || null;
    const result = (analysis && analysis.result) || null;
    const running = analysis && (analysis.status === "pending" || analysis.status === "running");
    state.hidden = !running && !(analysis && analysis.status === "failed");
    state.classList.toggle("is-failed", Boolean(analysis && analysis.status === "failed"));
    if (running) {
      bar.hidden = false;
      bar.value = Math.max(0, Math.min(1, Number(analysis.progress) || 0));
      label.textContent = analysis.status === "pending" ? "Waiting for analysis… the waveform appears when it is done."
        : `Analysing… ${Math.round(bar.value * 100)}%`;
    } else if (analysis && analysis.status === "failed") {
      bar.hidden = true;
      label.textContent = `Analysis failed${analysis.error ? `: ${analysis.error}` : ""}. Playback and comments still work.`;
    }
    analysisDuration = result && Number(result.duration_s) > 0 ? Number(result.duration_s) * 1000 : 0;
    if (wave) {
      wave.setPeaks(result && result.waveform);
      if (analysisDuration) wave.setDuration(analysisDuration);
    }
    if (analysisDuration) timeTotal.textContent = formatTime(analysisDuration);
    player.setSource("a", version.content_url, result ? Number(result.loudness_lufs) : null);
    drawAbPickers();
  }

  function drawAbPickers() {
    const options = (selected) => [...file.versions].reverse().map((v) =>
      h("option", { value: v.number, selected: v.number === selected }, `v${v.number}`));
    abA.replaceChildren(...options(viewed));
    const others = file.versions.filter((v) => v.number !== viewed);
    let b = Number(abB.value);
    if (!b || b === viewed || !versionOf(b)) b = others.length ? others[others.length - 1].number : viewed;
    abB.replaceChildren(...options(b));
    abEnable.disabled = file.versions.length < 2;
    abEnable.parentElement.title = file.versions.length < 2 ? "Upload a second version to compare" : "";
    if (abEnable.checked) setB(b);
  }

  function setB(number) {
    const version = versionOf(number);
    if (!version) return;
    const lufs = version.analysis && version.analysis.result ? Number(version.analysis.result.loudness_lufs) : null;
    player.setSource("b", version.content_url, lufs);
    describeMatch();
  }

  function describeMatch() {
    if (!abEnable.checked) {
      abNote.hidden = true;
      return;
    }
    const gains = player.applyVolumes();
    const a = player.lufs.a;
    const b = player.lufs.b;
    abNote.hidden = false;
    abNote.textContent = gains.matched
      ? `Loudness matched: A ${a.toFixed(1)} LUFS (×${gainFor(a, Math.min(a, b)).toFixed(2)}), B ${b.toFixed(1)} LUFS (×${gainFor(b, Math.min(a, b)).toFixed(2)}).`
      : "Not loudness-matched yet: both versions need their analysis.";
  }

  abEnable.addEventListener("change", () => {
    abPickers.hidden = !abEnable.checked;
    if (abEnable.checked) setB(Number(abB.value));
    player.setCompare(abEnable.checked);
    abToggle.textContent = player.active.toUpperCase();
    abToggle.setAttribute("aria-pressed", String(player.active === "b"));
    describeMatch();
  });
  abA.addEventListener("change", () => setViewed(Number(abA.value)));
  abB.addEventListener("change", () => setB(Number(abB.value)));
  abToggle.addEventListener("click", () => {
    const now = player.toggle();
    abToggle.textContent = now.toUpperCase();
    abToggle.setAttribute("aria-pressed", String(now === "b"));
    abToggle.setAttribute("aria-label", `Hearing version ${now.toUpperCase()}; switch to ${now === "a" ? "B" : "A"}`);
  });
  play.addEventListener("click", () => {
    showError(audioError, "");
    if (player.playing) player.pause();
    else player.play();
  });

  const typedPin = () => {
    const at = parseTime(pinAt.value);
    const until = parseTime(pinUntil.value);
    pick = at === null ? null : { at, until };
    if (wave) wave.setPick(pick);
  };
  pinAt.addEventListener("input", typedPin);
  pinUntil.addEventListener("input", typedPin);
  pinAt.addEventListener("change", () => { if (pick) player.seek(pick.at); });
  $("#pin-playhead").addEventListener("click", () => {
    pinAt.value = formatTime(player.positionMs, { tenths: true });
    pinUntil.value = "";
    typedPin();
    commentBody.focus();
  });
  $("#pin-clear").addEventListener("click", () => setPick(null));

  function drawPins() {
    if (wave) wave.setComments(pinned().filter((c) => Number.isFinite(c.at_ms)));
  }

  return {
    show,
    drawPins,
    seek: (ms) => player.seek(ms),
    clearPick: () => {
      pinAt.value = "";
      pinUntil.value = "";
      if (wave) wave.setPick(null);
    },
    readPick: () => {
      const atText = pinAt.value.trim();
      const untilText = pinUntil.value.trim();
      const at = parseTime(atText);
      const until = parseTime(untilText);
      if (atText && at === null) return { error: { at_ms: ["Write the time as minutes:seconds, e.g. 0:42."] } };
      if (untilText && until === null) return { error: { until_ms: ["Write the time as minutes:seconds, e.g. 1:05."] } };
      if (until !== null && at === null) return { error: { at_ms: ["A span needs its start too."] } };
      if (at === null) return { pin: {} };
      return { pin: until === null ? { at_ms: at } : { at_ms: at, until_ms: until } };
    },
  };
})() : null;

const pdfView = kind === "score" ? (() => {
  const container = $("#pdf-pages");
  const pdfError = $("#pdf-error");
  const pinBox = $("#pin-pdf");
  const pinLabel = $("#pin-point-label");
  const pinClear = $("#pin-clear");
  let pins = null;
  let loadedUrl = null;

  async function ensurePins() {
    if (!pins) {
      const { PdfPins } = await import("./pdf_pins.js");
      pins = new PdfPins({
        container,
        onPick: (page, x, y) => {
          setPick({ page, x, y });
          commentBody.focus({ preventScroll: true });
        },
        onPin: (comment) => flashComment(comment.id),
      });
    }
    return pins;
  }

  async function show(version) {
    const pdf = isPdf(version);
    pinBox.hidden = !pdf;
    $(".pdf-hint").hidden = !pdf;
    if (!pdf) {
      if (pins) await pins.close();
      loadedUrl = null;
      container.setAttribute("aria-busy", "false");
      container.replaceChildren(h("p", { class: "muted" }, "This score is MusicXML: ",
        h("a", { href: version.content_url, download: file.name }, "download it"), " to open it in your notation program."));
      return;
    }
    if (loadedUrl === version.content_url) return;
    loadedUrl = version.content_url;
    showError(pdfError, "");
    try {
      const viewer = await ensurePins();
      await viewer.load(version.content_url);
      drawPins();
    } catch (err) {
      loadedUrl = null;
      container.setAttribute("aria-busy", "false");
      container.replaceChildren();
      showError(pdfError, `The PDF could not be shown${err && err.message ? ` (${err.message})` : ""}. You can still download it.`);
    }
  }

  function drawPins() {
    if (!pins) return;
    pins.setComments(pinned().filter((c) => Number.isInteger(c.page)));
    pins.setPick(pick && Number.isInteger(pick.page) ? pick : null);
  }

  pinClear.addEventListener("click", () => setPick(null));

  return {
    show,
    drawPins,
    showPin: (comment) => pins && pins.showPin(comment),
    labelPick: () => {
      const on = pick && Number.isInteger(pick.page);
      pinLabel.textContent = on
        ? `Pinned to page ${pick.page} (${Math.round(pick.x * 100)}% across, ${Math.round(pick.y * 100)}% down).`
        : "No pin: click on a page to pin this comment to a point.";
      pinClear.hidden = !on;
      drawPins();
    },
    readPick: () => (pick && Number.isInteger(pick.page) ? { pin: { page: pick.page, x: pick.x, y: pick.y } } : { pin: {} }),
  };
})() : null;

function setPick(next) {
  pick = next;
  if (audioView && !next) audioView.clearPick();
  if (pdfView) pdfView.labelPick();
}

// --- comments --------------------------------------------------------------------------------

/** Threads' first comments that have a pin, numbered in order (the pins' labels). */
function pinned() {
  return comments.filter((c) => !c.reply_to && (Number.isFinite(c.at_ms) || Number.isInteger(c.page)));
}

async function loadComments() {
  const version = viewed;
  try {
    const all = [];
    let cursor = null;
    do {
      const query = new URLSearchParams({ version: String(version), limit: "200" });
      if (cursor) query.set("cursor", cursor);
      const page = await apiFetch(`/api/files/${fileId}/comments?${query}`);
      all.push(...page.items);
      cursor = page.next_cursor || null;
    } while (cursor && all.length < 5000);
    if (version !== viewed) return; // another version was chosen meanwhile
    comments = all;
    commentsFor = version;
    showError(commentsError, "");
    drawComments();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    if (err.status === 404) return markGone();
    showError(commentsError, err.detail || "Could not load the comments.");
  }
}

function pinText(c) {
  if (Number.isFinite(c.at_ms)) {
    return Number.isFinite(c.until_ms) ? `${formatTime(c.at_ms)}–${formatTime(c.until_ms)}` : formatTime(c.at_ms);
  }
  if (Number.isInteger(c.page)) return `p. ${c.page}`;
  return null;
}

function replyForm() {
  const list = h("ul", { class: "mention-list", role: "listbox", "aria-label": "People to mention", hidden: true });
  const area = h("textarea", { name: "body", rows: "2", maxlength: "5000", required: true, "aria-label": "Reply",
    placeholder: "Reply… (@ to mention)", autocomplete: "off", "aria-autocomplete": "list", "aria-expanded": "false" });
  const form = h("form", { class: "form reply-form", hidden: true, novalidate: true },
    h("div", { class: "field mention-field" }, area, list, h("p", { class: "field-error", dataset: { field: "body" }, hidden: true })),
    h("div", { class: "form-error", role: "alert", hidden: true }),
    h("div", { class: "comment-actions" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Reply"),
      h("button", { type: "button", class: "btn btn-ghost btn-small form-close" }, "Cancel")));
  attachMentions(area, list, () => members);
  return form;
}

function commentItem(c, numbers, replies) {
  const number = numbers.get(c.id);
  const pin = pinText(c);
  const isReply = Boolean(c.reply_to);
  const actions = isReply ? [] : [
    h("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { act: "reply" },
      "aria-label": `Reply to ${c.author ? c.author.name : "this comment"}` }, "Reply"),
    h("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { act: c.resolved ? "reopen" : "resolve" },
      "aria-label": `${c.resolved ? "Reopen" : "Resolve"} the comment by ${c.author ? c.author.name : "someone"}` },
    c.resolved ? "Reopen" : "Resolve"),
  ];
  return h("li", {
    class: `comment${isReply ? " is-reply" : ""}${c.resolved ? " is-resolved" : ""}`,
    dataset: { commentId: c.id, resolved: String(Boolean(c.resolved)) },
  },
  h("div", { class: "comment-head" },
    number ? h("span", { class: "pin-number", "aria-label": `Pin ${number}` }, String(number)) : null,
    h("strong", { class: "comment-author" }, c.author ? c.author.name : "Someone"),
    pin ? h("button", { type: "button", class: "pin-link", dataset: { act: "seek" },
      "aria-label": Number.isFinite(c.at_ms) ? `Play from ${pin}` : `Show the pin on page ${c.page}` }, pin) : null,
    timeTag(c.created_at),
    c.resolved ? h("span", { class: "badge badge-ok comment-resolved" },
      c.resolved_by ? `resolved by ${c.resolved_by.name}` : "resolved") : null),
  h("p", { class: "comment-body" }, ...bodyWithMentions(c.body, members)),
  actions.length ? h("div", { class: "comment-actions" }, ...actions) : null,
  h("p", { class: "form-error comment-error", role: "alert", hidden: true }),
  replies && replies.length ? h("ol", { class: "replies" }, ...replies.map((r) => commentItem(r, numbers, null))) : null,
  isReply ? null : replyForm());
}

function drawComments() {
  commentList.setAttribute("aria-busy", "false");
  const numbers = new Map(pinned().map((c, i) => [c.id, i + 1]));
  for (const c of comments) c.pinNumber = numbers.get(c.id) || null;
  const threads = comments.filter((c) => !c.reply_to);
  const open = threads.filter((c) => !c.resolved).length;
  $("#comment-counts").textContent = threads.length ? `${open} open · ${threads.length - open} resolved` : "";
  const shown = threads.filter((c) => showResolved.checked || !c.resolved);
  // Keep replies being written: a live refresh must not wipe a half-typed reply.
  const drafts = new Map();
  for (const form of commentList.querySelectorAll(".reply-form:not([hidden])")) {
    const id = form.closest(".comment").dataset.commentId;
    drafts.set(id, { text: form.elements.body.value, focused: form.contains(document.activeElement) });
  }
  if (!shown.length) {
    commentList.replaceChildren(h("li", { class: "muted empty-row" },
      threads.length ? "Every comment is resolved." : `No comments on v${viewed} yet.`));
  } else {
    commentList.replaceChildren(...shown.map((c) => commentItem(c, numbers, comments.filter((r) => r.reply_to === c.id))));
  }
  for (const [id, draft] of drafts) {
    const form = commentList.querySelector(`.comment[data-comment-id="${id}"] > .reply-form`);
    if (!form) continue;
    form.hidden = false;
    form.elements.body.value = draft.text;
    if (draft.focused) form.elements.body.focus();
  }
  if (audioView) audioView.drawPins();
  if (pdfView) pdfView.drawPins();
}

showResolved.addEventListener("change", drawComments);

commentList.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  const item = button && button.closest(".comment");
  if (!item) return;
  const id = Number(item.dataset.commentId);
  const comment = comments.find((c) => c.id === id);
  if (button.classList.contains("form-close")) {
    button.closest("form").hidden = true;
    return;
  }
  const act = button.dataset.act;
  if (act === "seek" && comment) return seekTo(comment);
  if (act === "reply") {
    const form = item.querySelector(":scope > .reply-form");
    form.hidden = false;
    form.elements.body.focus();
    return;
  }
  if (act === "resolve" || act === "reopen") {
    const box = item.querySelector(":scope > .comment-error");
    showError(box, "");
    setBusy(button, true);
    try {
      const changed = await apiFetch(`/api/comments/${id}/${act}`, { method: "POST" });
      comments = comments.map((c) => (c.id === changed.id ? changed : c));
      drawComments();
    } catch (err) {
      if (err.status === 401) return goToLogin();
      setBusy(button, false);
      showError(box, problemText(err));
    }
  }
});

commentList.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const item = form.closest(".comment");
  clearErrors(form);
  const body = form.elements.body.value.trim();
  if (!body) {
    showProblem(form, { detail: "Write something first.", errors: { body: ["Write your reply."] } });
    return;
  }
  const submit = form.querySelector('button[type="submit"]');
  setBusy(submit, true, "Sending…");
  try {
    const made = await apiFetch(`/api/files/${fileId}/comments`, {
      method: "POST",
      body: { version: commentsFor || viewed, body, reply_to: Number(item.dataset.commentId) },
    });
    form.elements.body.value = "";
    form.hidden = true;
    if (!comments.some((c) => c.id === made.id)) comments = [...comments, made];
    drawComments();
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(form, err);
  } finally {
    setBusy(submit, false);
  }
});

commentForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (gone) return;
  clearErrors(commentForm);
  const body = commentBody.value.trim();
  const read = audioView ? audioView.readPick() : pdfView ? pdfView.readPick() : { pin: {} };
  const errors = { ...(read.error || {}) };
  if (!body) errors.body = ["Write your comment."];
  if (Object.keys(errors).length) {
    showProblem(commentForm, { code: "validation-error", detail: "Please fix the marked fields.", errors });
    return;
  }
  const submit = $("#comment-submit");
  submit.disabled = true; // not setBusy: the label names the version and may change meanwhile
  submit.setAttribute("aria-busy", "true");
  try {
    const made = await apiFetch(`/api/files/${fileId}/comments`, {
      method: "POST",
      body: { version: viewed, body, ...read.pin },
    });
    commentBody.value = "";
    setPick(null);
    if (made.version === viewed && !comments.some((c) => c.id === made.id)) comments = [...comments, made];
    drawComments();
    flashComment(made.id);
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(commentForm, err, { at: "at_ms", until: "until_ms", x: "page", y: "page" });
  } finally {
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
  }
});

attachMentions(commentBody, $("#mention-list"), () => members);

async function loadMembers() {
  try {
    const answer = await apiFetch(`/api/projects/${projectId}/members`);
    members = Array.isArray(answer) ? answer : answer.items || [];
  } catch (err) {
    if (err.status === 401) goToLogin();
  }
}

// --- a new version -----------------------------------------------------------------------

const versionForm = $("#version-form");
versionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  clearErrors(versionForm);
  const chosen = versionForm.elements.file.files[0];
  if (!chosen) {
    showProblem(versionForm, { detail: "Choose the file of the new version." });
    return;
  }
  const upload = new ResumableUpload({ projectId, file: chosen, fileId, note: versionForm.elements.note.value.trim() });
  $("#version-uploads").append(uploadRow(h, upload, {
    label: `New version: ${chosen.name}`,
    onDone: async () => {
      const before = file ? file.current_version : null;
      await loadFile();
      if (file && file.current_version !== before) setViewed(file.current_version);
    },
  }));
  versionForm.reset();
});

// --- live ------------------------------------------------------------------------------------

const refetchComments = debounce(loadComments);
const refetchFile = debounce(loadFile);
const refetchAll = debounce(async () => {
  await Promise.all([loadFile(), loadMembers()]);
  await loadComments();
});

openFilesSocket(projectId, {
  badge: $("#files-live"),
  onLive: refetchAll,
  onChange: (message) => {
    if (message.change === "resync") return refetchAll(); // the server may have missed some
    if (message.file_id !== fileId || gone) return;
    if (message.change === "deleted") return markGone();
    if (message.change === "comment") return refetchComments();
    refetchFile(); // a new version, an analysis, a new name: the file's own answer has it
  },
});

(async () => {
  await Promise.all([loadFile(), loadMembers()]);
  await loadComments();
})();
