// The room's player panel: now playing, analysis (BPM, key, waveform, progress), seek bar and
// host controls. Playback itself is the SyncedPlayer of sync.js; this module is its DOM face and
// also turns the playing track's beat grid into `downbeat:visual` frames for the visualiser.

import { beatGridFrame, playheadAt, SyncedPlayer } from "./sync.js";
import { $ } from "./ui.js";

const panel = $("#player");
const title = $("#np-title");
const artist = $("#np-artist");
const bpm = $("#np-bpm");
const keyName = $("#np-key");
const analysisBox = $("#analysis-progress");
const analysisLabel = $("#analysis-label");
const analysisBar = $("#analysis-bar");
const canvas = $("#waveform");
const waveformEmpty = $("#waveform-empty");
const seek = $("#seek");
const timeNow = $("#time-now");
const timeTotal = $("#time-total");
const playButton = $("#ctl-play");
const prevButton = $("#ctl-previous");
const nextButton = $("#ctl-next");
const voteButton = $("#vote-skip");
const skipCount = $("#skip-count");
const volume = $("#volume");
const controlHint = $("#control-hint");
const enableAudio = $("#enable-audio");
const playerError = $("#player-error");

export function formatTime(ms) {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** Decoded buffers by track id; the next queue entry is fetched ahead so `next` starts at once. */
class BufferCache {
  constructor(player, limit = 3) {
    this.player = player;
    this.limit = limit;
    this.entries = new Map();
  }

  get(track) {
    const key = track.id;
    if (!this.entries.has(key)) {
      const promise = this.fetchAndDecode(track);
      promise.catch(() => this.entries.delete(key));
      this.entries.set(key, promise);
      while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value);
    }
    return this.entries.get(key);
  }

  async fetchAndDecode(track) {
    const ctx = await this.player.ensureContext();
    const response = await fetch(track.url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`the audio answered ${response.status}`);
    const data = await response.arrayBuffer();
    return await ctx.decodeAudioData(data);
  }
}

export function createPlayerView({ send, clock }) {
  let state = null;
  let track = null;
  let canControl = false;
  let seeking = false;
  let previousVisualMs = null;
  let votedFor = null;
  let lastDrawn = null;
  let beatTimer = null;

  const player = new SyncedPlayer({
    clock,
    loadBuffer: (t) => cache.get(t),
    onStatus: (status) => {
      enableAudio.hidden = status.context_state === "running";
      if (status.error) showError(status.error);
    },
  });
  const cache = new BufferCache(player);

  function showError(message) {
    playerError.textContent = message || "";
    playerError.hidden = !message;
  }

  const durationMs = () => Number(track && track.duration_ms) || (player.buffer ? player.buffer.duration * 1000 : 0);

  /** What the room hears now: our own output when playing, else the server's playhead. */
  function playheadNow() {
    const heard = player.positionAt();
    if (heard !== null) return heard;
    const position = playheadAt(state, clock.serverNow());
    return Math.min(position, durationMs() || position);
  }

  // --- analysis & waveform --------------------------------------------------------------------

  function renderAnalysis() {
    const analysis = (track && track.analysis) || {};
    bpm.textContent = Number.isFinite(analysis.bpm) && analysis.bpm > 0 ? analysis.bpm.toFixed(1) : "—";
    keyName.textContent = analysis.key || "—";
    const running = track && (analysis.status === "pending" || analysis.status === "running");
    analysisBox.hidden = !running;
    if (running) {
      const progress = Math.max(0, Math.min(1, Number(analysis.progress) || 0));
      analysisBar.value = progress;
      analysisLabel.textContent = analysis.status === "pending" ? "Waiting for analysis…" : `Analysing… ${Math.round(progress * 100)}%`;
    }
    const failed = track && analysis.status === "failed";
    waveformEmpty.hidden = Boolean(track && Array.isArray(analysis.waveform) && analysis.waveform.length);
    waveformEmpty.textContent = !track ? "Add a track to the queue to start."
      : failed ? `Analysis failed${analysis.error ? `: ${analysis.error}` : ""}.`
      : "The waveform appears once the track is analysed.";
    lastDrawn = null;
  }

  function drawWaveform(positionMs) {
    const width = Math.max(1, Math.round(canvas.clientWidth * devicePixelRatio));
    const height = Math.max(1, Math.round(canvas.clientHeight * devicePixelRatio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    const peaks = (track && track.analysis && track.analysis.waveform) || [];
    const total = durationMs();
    const playedX = total > 0 ? (positionMs / total) * width : 0;
    if (peaks.length) {
      const bar = width / peaks.length;
      const style = getComputedStyle(document.documentElement);
      const played = style.getPropertyValue("--accent").trim() || "#8b6cff";
      const rest = style.getPropertyValue("--surface-3").trim() || "#272c3d";
      for (let i = 0; i < peaks.length; i += 1) {
        const x = i * bar;
        const amplitude = Math.max(0.02, Math.min(1, Number(peaks[i]) || 0));
        const h = amplitude * (height - 4);
        g.fillStyle = x < playedX ? played : rest;
        g.fillRect(x, (height - h) / 2, Math.max(1, bar - devicePixelRatio), h);
      }
    }
    if (total > 0) {
      g.fillStyle = "#ffffff";
      g.fillRect(Math.min(width - 2, playedX), 0, 2 * devicePixelRatio, height);
    }
  }

  // --- the animation loop: position, waveform cursor, beat-grid visuals --------------------------

  function frame() {
    requestAnimationFrame(frame);
    if (!track) {
      if (lastDrawn !== -1) { drawWaveform(0); lastDrawn = -1; }
      return;
    }
    const position = playheadNow();
    if (!seeking) {
      seek.value = String(Math.round(position));
      timeNow.textContent = formatTime(position);
    }
    // Redraw only when the cursor moves by a pixel: six rooms on one laptop add up.
    const msPerPixel = durationMs() / Math.max(1, canvas.clientWidth * devicePixelRatio);
    if (lastDrawn === null || Math.abs(position - lastDrawn) >= Math.max(16, msPerPixel)) {
      drawWaveform(position);
      lastDrawn = position;
    }
    const heard = player.positionAt();
    const analysis = track.analysis;
    if (heard !== null && analysis && analysis.status === "done" && Array.isArray(analysis.beats)) {
      const visual = beatGridFrame({ ...analysis, duration_s: durationMs() / 1000 }, heard, previousVisualMs, clock.serverNow());
      previousVisualMs = heard;
      if (visual.beat) {
        panel.classList.add("beat-flash");
        clearTimeout(beatTimer);
        beatTimer = setTimeout(() => panel.classList.remove("beat-flash"), 90);
      }
      document.dispatchEvent(new CustomEvent("downbeat:visual", { detail: visual }));
    } else {
      previousVisualMs = null;
    }
  }
  requestAnimationFrame(frame);

  // --- controls -------------------------------------------------------------------------------

  function renderControls() {
    const playing = Boolean(state && state.playing);
    panel.dataset.playing = String(playing);
    panel.dataset.canControl = String(canControl);
    playButton.setAttribute("aria-label", playing ? "Pause" : "Play");
    for (const button of [playButton, prevButton, nextButton]) {
      button.disabled = !canControl;
      button.title = canControl ? "" : "Only the host (or people the host allows) can control playback";
    }
    seek.disabled = !canControl || !track;
    controlHint.hidden = canControl;
    voteButton.disabled = !track;
  }

  playButton.addEventListener("click", () => {
    player.ensureContext();
    send(state && state.playing ? { type: "pause" } : { type: "play" });
  });
  prevButton.addEventListener("click", () => send({ type: "previous" }));
  nextButton.addEventListener("click", () => send({ type: "next" }));
  voteButton.addEventListener("click", () => {
    votedFor = state ? state.entry_id : null;
    voteButton.setAttribute("aria-pressed", "true");
    send({ type: "vote_skip" });
  });
  seek.addEventListener("input", () => {
    seeking = true;
    timeNow.textContent = formatTime(Number(seek.value));
  });
  seek.addEventListener("change", () => {
    seeking = false;
    send({ type: "seek", position_ms: Number(seek.value) });
  });
  canvas.addEventListener("click", (event) => {
    if (!canControl || !track) return;
    const rect = canvas.getBoundingClientRect();
    const fraction = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    send({ type: "seek", position_ms: Math.round(fraction * durationMs()) });
  });
  volume.addEventListener("input", () => player.setVolume(Number(volume.value)));
  enableAudio.addEventListener("click", async () => {
    await player.ensureContext();
    player.apply();
  });
  // Browsers that require a gesture before sound: the first click anywhere unlocks audio.
  document.addEventListener("pointerdown", () => { if (!player.audible) player.ensureContext(); }, { once: true });
  window.addEventListener("resize", () => { lastDrawn = null; });

  // --- inputs from the room socket ------------------------------------------------------------

  function setTrack(next) {
    track = next;
    panel.dataset.trackId = track ? String(track.id) : "";
    title.textContent = track ? track.title || "Untitled" : "Nothing playing";
    artist.textContent = track ? track.artist || (track.source === "url" ? track.url : "") : "";
    const total = durationMs();
    seek.max = String(Math.max(0, Math.round(total)));
    timeTotal.textContent = formatTime(total);
    renderAnalysis();
  }

  return {
    player,
    /** A server `state` message (older versions are ignored by the player). */
    async setState(message) {
      if (state && Number(message.version) <= Number(state.version)) return;
      state = message;
      const nextTrack = message.track || null;
      if ((nextTrack && nextTrack.id) !== (track && track.id)) setTrack(nextTrack);
      else if (nextTrack) setTrack({ ...track, ...nextTrack });
      if (votedFor !== message.entry_id) voteButton.setAttribute("aria-pressed", "false");
      showError("");
      renderControls();
      await player.ensureContext();
      await player.setState(message);
    },
    /** A `track` message: analysis progress or result of some track. */
    updateTrack(updated) {
      if (track && updated && updated.id === track.id) {
        setTrack({ ...track, ...updated });
        if (player.state && player.state.track && player.state.track.id === updated.id) player.state.track = track;
      }
    },
    setQueue(queue, nextTrack) {
      skipCount.textContent = `${Number(queue.skip_votes) || 0}/${Number(queue.skip_needed) || 0}`;
      if (nextTrack) cache.get(nextTrack).catch(() => {});
    },
    setPermissions({ control }) {
      canControl = Boolean(control);
      renderControls();
    },
    probe: () => player.probe(),
    close: () => player.close(),
  };
}
