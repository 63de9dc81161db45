import { apiFetch } from "./api.js";
import { openSocket } from "./socket.js";
import { $, flash, goToLogin, h } from "./ui.js";

const root = $("#room");
const code = root.dataset.code;
const participants = $("#participants");
const participantCount = $("#participant-count");
const roomStatus = $("#room-status");
const roomError = $("#room-error");
const meter = $("#level-meter");
const meterFill = $(".level-fill", meter);
const meterPeak = $(".level-peak", meter);
const goLive = $("#go-live");
const goLiveLabel = $(".go-live-label", goLive);
const liveStatus = $("#live-status");
const streamError = $("#stream-error");

// --- participants -------------------------------------------------------------------------

function renderParticipants(items) {
  participants.replaceChildren(...items.map((p) =>
    h("li", { dataset: { userId: p.id } },
      h("span", { class: "avatar", "aria-hidden": "true" }, (p.name || "?").slice(0, 1).toUpperCase()),
      h("span", { class: "participant-name" }, p.name),
      p.is_host ? h("span", { class: "badge" }, "host") : null)));
  participantCount.textContent = String(items.length);
}

function showRoomError(message) {
  roomError.textContent = message;
  roomError.hidden = !message;
}

// --- copy link / leave --------------------------------------------------------------------

$("#copy-link").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const url = `${location.origin}/rooms/${code}`;
  let ok = false;
  try {
    await navigator.clipboard.writeText(url);
    ok = true;
  } catch {
    const scratch = h("textarea", { class: "visually-hidden", readonly: true });
    scratch.value = url;
    document.body.append(scratch);
    scratch.select();
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    scratch.remove();
  }
  button.textContent = ok ? "Copied!" : "Copy failed";
  if (!ok) flash(`Share this link: ${url}`, "info", { timeout: 15000 });
  setTimeout(() => { button.textContent = "Copy link"; }, 2000);
});

$("#leave-room").addEventListener("click", async () => {
  await stopStream();
  try {
    await apiFetch(`/api/rooms/${code}/leave`, { method: "POST" });
  } catch { /* leaving anyway */ }
  location.assign("/rooms");
});

// --- level meter (visual frames, drawn at most once per animation frame) --------------------

let frames = 0;
let latest = null;
let pendingBeat = false;
let drawScheduled = false;
let peakHold = 0;
let beatTimer = null;

/** RMS (0..1, linear) -> 0..100 on a -60..0 dBFS scale. */
function rmsToPercent(rms) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(100, ((db + 60) / 60) * 100));
}

function draw() {
  drawScheduled = false;
  const frame = latest;
  if (!frame) return;
  meter.dataset.frames = String(frames);
  const rms = Number(frame.rms) || 0;
  meter.dataset.rms = String(rms);
  const pct = rmsToPercent(rms);
  meterFill.style.width = `${pct.toFixed(1)}%`;
  meter.setAttribute("aria-valuenow", String(Math.round(pct)));
  const peakPct = rmsToPercent(Number(frame.peak) || rms);
  peakHold = Math.max(peakPct, peakHold - 1.5);
  meterPeak.style.left = `${peakHold.toFixed(1)}%`;
  meter.classList.toggle("is-hot", pct > 90);

  if (Number.isFinite(frame.bpm) && frame.bpm > 0) $("#bpm").textContent = Math.round(frame.bpm);
  if (Number.isFinite(frame.loudness_lufs)) $("#loudness").textContent = frame.loudness_lufs.toFixed(1);
  if (frame.key) $("#key").textContent = frame.key;
  if (frame.energy && typeof frame.energy === "object") {
    for (const band of ["low", "mid", "high"]) {
      const value = Number(frame.energy[band]);
      const el = document.querySelector(`.band-fill[data-band="${band}"]`);
      if (el && Number.isFinite(value)) el.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
    }
  }
  if (pendingBeat) {
    pendingBeat = false;
    const dot = $("#beat-dot");
    dot.classList.add("on");
    clearTimeout(beatTimer);
    beatTimer = setTimeout(() => dot.classList.remove("on"), 90);
  }
}

function scheduleDraw() {
  if (drawScheduled) return;
  drawScheduled = true;
  // Background tabs get no animation frames; still keep the numbers current there.
  if (document.hidden) setTimeout(draw, 250);
  else requestAnimationFrame(draw);
}

function onVisual(frame) {
  frames += 1;
  latest = frame;
  if (frame.beat) pendingBeat = true;
  scheduleDraw();
}

// --- the room socket ----------------------------------------------------------------------

function onMessage(message) {
  switch (message.type) {
    case "visual":
      onVisual(message);
      break;
    case "participants":
      if (Array.isArray(message.items)) renderParticipants(message.items);
      break;
    case "error":
      if (message.code === "room-not-found") showRoomError("This room no longer exists.");
      else if (message.code !== "not-supported") console.warn("room socket:", message.code, message.detail);
      break;
    default:
      break; // state, queue, pong: playback arrives later
  }
}

function setRoomStatus(status) {
  roomStatus.textContent = status;
  roomStatus.dataset.status = status;
}

// --- go live (WebRTC offer -> /api/rooms/CODE/stream -> answer) -----------------------------

let pc = null;
let localStream = null;
let starting = false;

function setLive(streamId) {
  if (streamId) {
    liveStatus.textContent = "Live";
    liveStatus.dataset.streamId = streamId;
    liveStatus.classList.add("is-live");
    goLive.classList.add("is-live");
    goLive.setAttribute("aria-pressed", "true");
    goLiveLabel.textContent = "Stop";
  } else {
    liveStatus.textContent = "Off air";
    delete liveStatus.dataset.streamId;
    liveStatus.classList.remove("is-live");
    goLive.classList.remove("is-live");
    goLive.setAttribute("aria-pressed", "false");
    goLiveLabel.textContent = "Go live";
  }
}

function showStreamError(message) {
  streamError.textContent = message || "";
  streamError.hidden = !message;
}

function waitForIceGathering(connection, capMs = 3000) {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      connection.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => { if (connection.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, capMs);
    connection.addEventListener("icegatheringstatechange", check);
  });
}

async function stopStream() {
  if (localStream) for (const track of localStream.getTracks()) track.stop();
  localStream = null;
  if (pc) {
    try { pc.close(); } catch { /* already closed */ }
  }
  pc = null;
  setLive(null);
}

async function startStream() {
  showStreamError("");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showStreamError("This browser cannot capture audio here (a secure connection — https or localhost — is required).");
    return;
  }
  starting = true;
  goLive.disabled = true;
  goLiveLabel.textContent = "Starting…";
  liveStatus.textContent = "Connecting…";
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    pc = new RTCPeerConnection();
    const connection = pc;
    for (const track of localStream.getTracks()) connection.addTrack(track, localStream);
    connection.addEventListener("connectionstatechange", () => {
      if (pc !== connection) return;
      if (connection.connectionState === "failed") {
        showStreamError("The live connection dropped. Press “Go live” to try again.");
        stopStream();
      }
    });
    const offer = await connection.createOffer();
    await connection.setLocalDescription(offer);
    await waitForIceGathering(connection, 3000);
    const answer = await apiFetch(`/api/rooms/${code}/stream`, {
      method: "POST",
      body: { sdp: connection.localDescription.sdp, type: "offer" },
    });
    if (pc !== connection) return; // stopped meanwhile
    await connection.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    setLive(answer.stream_id);
  } catch (err) {
    const message =
      err && err.name === "NotAllowedError" ? "Microphone access was blocked. Allow it in your browser to go live."
      : err && err.name === "NotFoundError" ? "No microphone was found."
      : (err && (err.detail || err.message)) || "Could not go live.";
    showStreamError(message);
    await stopStream();
  } finally {
    starting = false;
    goLive.disabled = false;
  }
}

goLive.addEventListener("click", () => {
  if (starting) return;
  if (pc) stopStream();
  else startStream();
});

window.addEventListener("pagehide", () => {
  if (localStream) for (const track of localStream.getTracks()) track.stop();
  if (pc) pc.close();
});

// --- start: join, then listen -------------------------------------------------------------

try {
  const snapshot = await apiFetch(`/api/rooms/${code}/join`, { method: "POST" });
  if (snapshot && Array.isArray(snapshot.participants)) renderParticipants(snapshot.participants);
} catch (err) {
  if (err.status === 401) goToLogin();
  else showRoomError(err.detail || "Could not join this room.");
}

openSocket(`/ws/rooms/${encodeURIComponent(code)}`, { onMessage, onStatus: setRoomStatus });
