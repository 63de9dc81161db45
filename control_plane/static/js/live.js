// Live sound on the room page.
//
// Performer: choose an input (enumerateDevices), watch its level (a local AnalyserNode, so the meter
// moves before anything reaches the server), go live (WebRTC offer -> POST /api/rooms/CODE/stream
// -> answer), stop.
// Everyone: a canvas visualiser driven by `downbeat:visual` events (room.js re-dispatches every
// `visual` socket message, and beat-grid frames of a playing track with `source: "track"`). Frames
// only update state; one requestAnimationFrame loop draws, so drawing never queues behind the socket.
// The canvas exposes what it shows as data-* attributes (frames, beats, bpm, key, stream id) for
// tests and assistive tooling.

import { apiFetch } from "./api.js";
import { $ } from "./ui.js";

const code = document.getElementById("room").dataset.code;
const canvas = $("#visualiser");
const ctx = canvas.getContext("2d");
const idleNote = $("#visualiser-idle");
const wrap = canvas.parentElement;
const onAir = $("#live-on-air");
const meter = $("#level-meter");
const meterFill = $(".level-fill", meter);
const meterPeak = $(".level-peak", meter);
const deviceSelect = $("#live-device");
const goLive = $("#go-live");
const goLiveLabel = $(".go-live-label", goLive);
const liveStatus = $("#live-status");
const streamError = $("#stream-error");

const PRESETS = ["spectrum", "pulse", "waves", "chroma"];
const PITCH_HUE = [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330]; // C..B around the colour wheel
const HISTORY = 180; // frames of energy history (3 s at 60 fps)

// --- visual state (written by frames, read by the draw loop) -------------------------------------

const vis = {
  frames: 0,
  beats: 0,
  latest: null,
  lastSeq: new Map(), // stream id -> last seq drawn (a rebalanced worker may repeat a few)
  beatFlash: 0, // 1 on a beat, decays per drawn frame
  mel: new Float32Array(40),
  bands: { low: 0, mid: 0, high: 0 },
  history: [],
  lastFrameAt: 0,
  preset: PRESETS.includes(localStorage.getItem("downbeat.visualPreset")) ? localStorage.getItem("downbeat.visualPreset") : "spectrum",
};

function clamp01(x) {
  return Math.max(0, Math.min(1, Number(x) || 0));
}

function levelFromEnergy(x) {
  // band energies are RMS-like (0..~0.5); show them on a -50..0 dB scale
  const v = Number(x) || 0;
  if (v <= 0) return 0;
  return clamp01((20 * Math.log10(v) + 50) / 50);
}

function onVisual(frame) {
  if (!frame || typeof frame !== "object") return;
  const stream = frame.stream_id || "";
  if (frame.ended) {
    vis.lastSeq.delete(stream);
    if (canvas.dataset.streamId === stream) endOfStream(stream);
    return;
  }
  if (Number.isInteger(frame.seq)) {
    const last = vis.lastSeq.get(stream);
    if (last !== undefined && frame.seq <= last) return; // late or repeated
    vis.lastSeq.set(stream, frame.seq);
  }
  vis.frames += 1;
  vis.latest = frame;
  vis.lastFrameAt = performance.now();
  if (frame.beat) {
    vis.beats += 1;
    vis.beatFlash = 1;
  }
  const e = frame.energy || {};
  for (const band of ["low", "mid", "high"]) vis.bands[band] = levelFromEnergy(e[band]);
  if (Array.isArray(frame.mel) && frame.mel.length) {
    if (vis.mel.length !== frame.mel.length) vis.mel = new Float32Array(frame.mel.length);
    // light smoothing so bars fall gracefully but rise at once
    for (let i = 0; i < frame.mel.length; i += 1) vis.mel[i] = Math.max(clamp01(frame.mel[i]), vis.mel[i] * 0.85);
  }
  vis.history.push({ low: vis.bands.low, mid: vis.bands.mid, high: vis.bands.high, beat: !!frame.beat });
  if (vis.history.length > HISTORY) vis.history.shift();

  canvas.dataset.frames = String(vis.frames);
  canvas.dataset.beats = String(vis.beats);
  canvas.dataset.streamId = stream;
  canvas.dataset.ended = "false";
  if (Number.isFinite(frame.bpm) && frame.bpm > 0) canvas.dataset.bpm = String(frame.bpm);
  if (frame.key) canvas.dataset.key = frame.key;
  idleNote.hidden = true;
  if (frame.source !== "track") onAir.hidden = false;
  startLoop();
}

function endOfStream(stream) {
  canvas.dataset.ended = "true";
  canvas.dataset.endedStreamId = stream;
  onAir.hidden = true;
  vis.latest = null;
  vis.history = [];
  vis.mel.fill(0);
  idleNote.hidden = false;
  $("#bpm").textContent = "—";
  $("#key").textContent = "—";
  $("#loudness").textContent = "—";
}

document.addEventListener("downbeat:visual", (event) => onVisual(event.detail));

// --- drawing ---------------------------------------------------------------------------------------

let looping = false;

function startLoop() {
  if (looping) return;
  looping = true;
  requestAnimationFrame(tick);
}

function fitCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

function tick() {
  // Stop drawing two seconds after the last frame: an idle room costs no CPU.
  if (!vis.latest || performance.now() - vis.lastFrameAt > 2000) {
    looping = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  fitCanvas();
  DRAW[vis.preset](ctx, canvas.width, canvas.height);
  drawReadouts();
  vis.beatFlash *= 0.86;
  requestAnimationFrame(tick);
}

function hueOfFrame(frame) {
  const chroma = Array.isArray(frame.chroma) ? frame.chroma : null;
  if (!chroma) return 200;
  let best = 0;
  for (let i = 1; i < 12; i += 1) if (chroma[i] > chroma[best]) best = i;
  return PITCH_HUE[best];
}

function background(g, w, h, hue) {
  g.fillStyle = `hsl(${hue} 45% ${6 + vis.beatFlash * 14}%)`;
  g.fillRect(0, 0, w, h);
}

const DRAW = {
  spectrum(g, w, h) {
    const hue = hueOfFrame(vis.latest);
    background(g, w, h, hue);
    const n = vis.mel.length;
    const gap = Math.max(1, w / n / 6);
    const bw = w / n - gap;
    for (let i = 0; i < n; i += 1) {
      const v = vis.mel[i];
      const bh = v * h * 0.9;
      g.fillStyle = `hsl(${(hue + i * 4) % 360} 85% ${45 + v * 25}%)`;
      g.fillRect(i * (bw + gap), h - bh, bw, bh);
    }
  },
  pulse(g, w, h) {
    const hue = hueOfFrame(vis.latest);
    background(g, w, h, hue);
    const cx = w / 2;
    const cy = h / 2;
    const r0 = Math.min(w, h) * 0.18;
    const rings = [
      ["low", 0], ["mid", 60], ["high", 120],
    ];
    rings.forEach(([band, shift], i) => {
      const r = r0 * (1 + i * 0.55) * (0.6 + vis.bands[band] * 0.8 + vis.beatFlash * 0.25);
      g.beginPath();
      g.arc(cx, cy, r, 0, Math.PI * 2);
      g.lineWidth = Math.max(2, r * 0.12 * (0.4 + vis.bands[band]));
      g.strokeStyle = `hsl(${(hue + shift) % 360} 90% ${50 + vis.beatFlash * 30}%)`;
      g.stroke();
    });
  },
  waves(g, w, h) {
    background(g, w, h, 220);
    const hist = vis.history;
    const step = w / Math.max(1, HISTORY - 1);
    const lanes = [["low", "#ff5d73"], ["mid", "#b18cff"], ["high", "#43e6c5"]];
    for (const [band, colour] of lanes) {
      g.beginPath();
      hist.forEach((point, i) => {
        const x = w - (hist.length - 1 - i) * step;
        const y = h - point[band] * h * 0.9 - 4;
        if (i === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.lineWidth = 2;
      g.strokeStyle = colour;
      g.stroke();
    }
    g.fillStyle = "rgba(255,255,255,0.5)";
    hist.forEach((point, i) => {
      if (point.beat) g.fillRect(w - (hist.length - 1 - i) * step, 0, 2, h);
    });
  },
  chroma(g, w, h) {
    background(g, w, h, hueOfFrame(vis.latest));
    const chroma = Array.isArray(vis.latest.chroma) ? vis.latest.chroma : new Array(12).fill(0);
    const cw = w / 12;
    const names = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"];
    g.font = `${Math.max(10, Math.round(h / 14))}px system-ui, sans-serif`;
    g.textAlign = "center";
    for (let i = 0; i < 12; i += 1) {
      const v = clamp01(chroma[i]);
      g.fillStyle = `hsl(${PITCH_HUE[i]} 85% ${20 + v * 45}%)`;
      g.fillRect(i * cw + 2, h * (1 - v * 0.85) - 16, cw - 4, h * v * 0.85);
      g.fillStyle = "rgba(255,255,255,0.8)";
      g.fillText(names[i], i * cw + cw / 2, h - 4);
    }
  },
};

let shownBpm = null;
let shownKey = null;
let beatTimer = null;

function drawReadouts() {
  const frame = vis.latest;
  if (Number.isFinite(frame.bpm) && frame.bpm > 0 && Math.round(frame.bpm) !== shownBpm) {
    shownBpm = Math.round(frame.bpm);
    $("#bpm").textContent = String(shownBpm);
  }
  if (frame.key && frame.key !== shownKey) {
    shownKey = frame.key;
    $("#key").textContent = frame.key;
  }
  if (Number.isFinite(frame.loudness_lufs)) $("#loudness").textContent = frame.loudness_lufs.toFixed(1);
  for (const band of ["low", "mid", "high"]) {
    const el = document.querySelector(`.band-fill[data-band="${band}"]`);
    if (el) el.style.width = `${(vis.bands[band] * 100).toFixed(1)}%`;
  }
  if (vis.beatFlash > 0.95) {
    const dot = $("#beat-dot");
    dot.classList.add("on");
    clearTimeout(beatTimer);
    beatTimer = setTimeout(() => dot.classList.remove("on"), 90);
  }
}

function choosePreset(name) {
  if (!PRESETS.includes(name)) return;
  vis.preset = name;
  wrap.dataset.preset = name;
  localStorage.setItem("downbeat.visualPreset", name);
  for (const button of document.querySelectorAll(".visual-presets .preset")) {
    button.setAttribute("aria-checked", String(button.dataset.preset === name));
  }
}

for (const button of document.querySelectorAll(".visual-presets .preset")) {
  button.addEventListener("click", () => choosePreset(button.dataset.preset));
}
choosePreset(vis.preset);

// --- performer: devices and the local level meter -------------------------------------------------

let audioContext = null;
let meterSource = null;
let analyser = null;
let meterFrames = 0;
let peakHold = 0;

/** RMS (0..1, linear) -> 0..100 on a -60..0 dBFS scale. */
function rmsToPercent(rms) {
  if (!(rms > 0)) return 0;
  return Math.max(0, Math.min(100, ((20 * Math.log10(rms) + 60) / 60) * 100));
}

async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const chosen = deviceSelect.value;
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput");
  const options = [new Option("Default input", "")];
  devices.forEach((d, i) => {
    if (d.deviceId && d.deviceId !== "default") options.push(new Option(d.label || `Input ${i + 1}`, d.deviceId));
  });
  deviceSelect.replaceChildren(...options);
  if ([...deviceSelect.options].some((o) => o.value === chosen)) deviceSelect.value = chosen;
}

function startMeter(stream) {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  audioContext = audioContext || new Context();
  audioContext.resume().catch(() => {});
  meterSource = audioContext.createMediaStreamSource(stream);
  analyser = audioContext.createAnalyser();
  analyser.fftSize = 2048;
  meterSource.connect(analyser);
  const buffer = new Float32Array(analyser.fftSize);
  const step = () => {
    if (!analyser) return;
    analyser.getFloatTimeDomainData(buffer);
    let sum = 0;
    let top = 0;
    for (const x of buffer) {
      sum += x * x;
      top = Math.max(top, Math.abs(x));
    }
    const rms = Math.sqrt(sum / buffer.length);
    meterFrames += 1;
    meter.dataset.frames = String(meterFrames);
    meter.dataset.rms = rms.toFixed(4);
    const pct = rmsToPercent(rms);
    meterFill.style.width = `${pct.toFixed(1)}%`;
    meter.setAttribute("aria-valuenow", String(Math.round(pct)));
    peakHold = Math.max(rmsToPercent(top), peakHold - 1.5);
    meterPeak.style.left = `${peakHold.toFixed(1)}%`;
    meter.classList.toggle("is-hot", top > 0.98);
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

function stopMeter() {
  if (meterSource) meterSource.disconnect();
  meterSource = null;
  analyser = null;
  meterFill.style.width = "0%";
  meter.setAttribute("aria-valuenow", "0");
}

// --- go live (WebRTC offer -> /api/rooms/CODE/stream -> answer) -----------------------------------

let pc = null;
let localStream = null;
let starting = false;

function setLive(streamId) {
  const live = Boolean(streamId);
  liveStatus.textContent = live ? "Live" : "Off air";
  if (live) liveStatus.dataset.streamId = streamId;
  else delete liveStatus.dataset.streamId;
  liveStatus.classList.toggle("is-live", live);
  goLive.classList.toggle("is-live", live);
  goLive.setAttribute("aria-pressed", String(live));
  goLiveLabel.textContent = live ? "Stop" : "Go live";
  deviceSelect.disabled = live;
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

function stopStream() {
  if (localStream) for (const track of localStream.getTracks()) track.stop();
  localStream = null;
  stopMeter();
  if (pc) {
    try { pc.close(); } catch { /* already closed */ }
  }
  pc = null;
  setLive(null);
  liveStatus.dataset.stopped = "true";
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
  delete liveStatus.dataset.stopped;
  try {
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    if (deviceSelect.value) audio.deviceId = { exact: deviceSelect.value };
    localStream = await navigator.mediaDevices.getUserMedia({ audio });
    listDevices().catch(() => {}); // labels become readable once permission is granted
    startMeter(localStream);
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
      : err && err.name === "OverconstrainedError" ? "That input is no longer available; choose another."
      : (err && (err.detail || err.message)) || "Could not go live.";
    showStreamError(message);
    stopStream();
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

if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener("devicechange", () => listDevices().catch(() => {}));
}
listDevices().catch(() => {});

// room.js announces a deliberate leave; stop streaming before it navigates away.
document.addEventListener("downbeat:leave", () => stopStream());

window.addEventListener("pagehide", () => {
  if (localStream) for (const track of localStream.getTracks()) track.stop();
  if (pc) pc.close();
});
