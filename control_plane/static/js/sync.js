// Synchronised playback for listening rooms (see docs/SYNC.md).
//
// The server holds the authoritative state {position_ms at server_time_ms, playing, rate, version}.
// Every client
//   1. estimates its offset to the server clock NTP-style over the room socket (ping/pong),
//      keeping the lowest-delay samples of a sliding window, with performance.now() as the
//      local monotonic base (a wall-clock jump on either side cannot move our timeline);
//   2. maps server instants onto the Web Audio clock through AudioContext.getOutputTimestamp()
//      (the instant a sample is actually heard), and starts AudioBufferSourceNodes there;
//   3. measures its own error at the output and corrects it with tiny playbackRate nudges,
//      re-seeking only beyond a threshold.
// The top half of this module is pure math (no DOM, no Web Audio) so that it can be read and
// tested on its own; the classes below wire it to the socket and the AudioContext.

// --- tuning ---------------------------------------------------------------------------------

export const SYNC_DEFAULTS = Object.freeze({
  windowSize: 96, // clock samples kept (sliding window: about 48 s at the steady rate)
  bestCount: 4, // at most this many of the lowest-delay samples are averaged ...
  bestMarginMs: 2, // ... and only those within this (or bestMarginFraction of the minimum) of it
  bestMarginFraction: 0.03,
  agingMsPerS: 0.05, // older samples count as this much slower per second (route changes)
  burstPings: 30, // pings sent quickly after (re)connecting: about a second
  burstSpacingMs: 31, // odd spacing so pings do not phase-lock to anything periodic
  warmPings: 40, // then a denser refresh for a few seconds: the minimum keeps dropping fast
  warmSpacingMs: 113,
  refreshMs: 500, // steady ping period
  jumpThresholdMs: 50, // a sample disagreeing by more than this (beyond its own delay) is suspicious
  jumpConfirmations: 3, // consecutive suspicious samples that mean "the server clock jumped"
  seekAboveMs: 25, // errors beyond this re-seek (one small glitch) instead of nudging
  settleS: 2, // for this long after a start (play, seek, join) ...
  settleSeekAboveMs: 3, // ... errors beyond this re-seek at once instead of nudging slowly
  settleMaxSeeks: 4, // ... but at most this many times per start
  settleMinErrors: 3, // measurements needed before a settling re-seek
  deadbandMs: 0.5, // errors below this are left alone
  maxNudge: 0.005, // +-0.5 % playbackRate: ~8.6 cents, inaudible on music
  nudgeHorizonMs: 400, // aim to cancel the error over about this long
  startMarginS: 0.03, // never schedule closer than this to the audio thread's "now"
  correctEveryMs: 100,
  errorMedianOf: 5, // measured errors are median-filtered before acting on them
});

// --- pure functions: clock ----------------------------------------------------------------------

/** One ping/pong exchange -> {offsetMs, delayMs, atMs}; offset = server - local (NTP's formula).
 *  t0 ping sent (local), t1 ping received (server), t2 pong sent (server), t3 pong received
 *  (local). Without t1 the server's holding time counts as network delay. */
export function clockSample(t0, t1, t2, t3) {
  const serverReceive = Number.isFinite(t1) ? t1 : t2;
  const held = Math.max(0, t2 - serverReceive);
  const delayMs = Math.max(0, t3 - t0 - held);
  const offsetMs = (serverReceive - t0 + (t2 - t3)) / 2;
  return { offsetMs, delayMs, atMs: t3 };
}

/** Offset estimate from a window of samples (NTP's clock filter): queueing delay only ever
 *  adds, and it adds asymmetrically (one direction queues, the other does not; a busy page
 *  stamps the pong late), so a sample's offset error is bounded by half its excess delay over
 *  the true minimum. Only the lowest-delay samples count: the fastest one, averaged with at
 *  most `best - 1` others whose delay is within a small margin of it. Older samples are aged
 *  (their delay counts as slightly longer) so a route change is followed within the window. */
export function estimateOffset(samples, options = {}) {
  if (!samples.length) return null;
  const { bestCount: best, bestMarginMs, bestMarginFraction, agingMsPerS } = { ...SYNC_DEFAULTS, ...options };
  const newest = samples.reduce((at, s) => Math.max(at, s.atMs), -Infinity);
  const aged = samples.map((s) => ({ s, cost: s.delayMs + Math.max(0, newest - s.atMs) / 1000 * agingMsPerS }));
  aged.sort((a, b) => a.cost - b.cost);
  const margin = Math.max(bestMarginMs, aged[0].cost * bestMarginFraction);
  const fastest = aged.filter((a) => a.cost <= aged[0].cost + margin).slice(0, Math.max(1, best)).map((a) => a.s);
  const offsetMs = fastest.reduce((sum, s) => sum + s.offsetMs, 0) / fastest.length;
  return { offsetMs, rttMs: fastest[0].delayMs, spreadMs: fastest[fastest.length - 1].delayMs - fastest[0].delayMs, used: fastest.length };
}

/** Sliding-window clock filter with jump detection. Pure: feed it samples, read the estimate. */
export class ClockFilter {
  constructor(options = {}) {
    this.options = { ...SYNC_DEFAULTS, ...options };
    this.samples = [];
    this.suspicious = 0;
    this.jumps = 0;
    this.estimate = null;
  }

  /** Add a sample; returns {jumped} (true when the window was flushed for a server clock jump). */
  add(sample) {
    const { windowSize, jumpThresholdMs, jumpConfirmations } = this.options;
    let jumped = false;
    if (this.estimate) {
      // A sample can disagree with the estimate by at most half its round trip unless a clock
      // moved. One odd sample is noise; several in a row mean the server's wall clock jumped.
      const disagreement = Math.abs(sample.offsetMs - this.estimate.offsetMs) - sample.delayMs / 2;
      this.suspicious = disagreement > jumpThresholdMs ? this.suspicious + 1 : 0;
      if (this.suspicious >= jumpConfirmations) {
        this.samples = this.samples.slice(-(jumpConfirmations - 1));
        this.suspicious = 0;
        this.jumps += 1;
        jumped = true;
      }
    }
    this.samples.push(sample);
    if (this.samples.length > windowSize) this.samples.splice(0, this.samples.length - windowSize);
    if (!this.suspicious || !this.estimate) {
      this.estimate = estimateOffset(this.samples, this.options);
    }
    return { jumped };
  }

  get ready() { return this.estimate !== null; }
}

// --- pure functions: playback state -------------------------------------------------------------

/** True when `incoming` should replace `current` (versions only move forward). */
export function isNewerState(current, incoming) {
  if (!incoming) return false;
  if (!current) return true;
  return Number(incoming.version) > Number(current.version);
}

/** Playhead (ms) of `state` at server instant `serverMs`. Before a scheduled start it holds. */
export function playheadAt(state, serverMs) {
  if (!state) return 0;
  const base = Number(state.position_ms) || 0;
  if (!state.playing) return base;
  const elapsed = serverMs - Number(state.server_time_ms);
  return elapsed <= 0 ? base : base + elapsed * (Number(state.rate) || 1);
}

/** Server instant when playback of `state` should (have) start(ed) from the local view. */
export function startInstant(state, serverNowMs, minLeadMs) {
  return Math.max(Number(state.server_time_ms), serverNowMs + minLeadMs);
}

/** Audio-context time (s) at which a sample is heard at local time `localMs`, from an output
 *  timestamp {contextTime (s), performanceTime (ms)} taken from the same context. */
export function contextTimeAt(localMs, stamp) {
  return stamp.contextTime + (localMs - stamp.performanceTime) / 1000;
}

/** Local time (ms) when the sample at context time `contextS` is heard. */
export function localTimeAt(contextS, stamp) {
  return stamp.performanceTime + (contextS - stamp.contextTime) * 1000;
}

/** Position (ms) in the buffer at context time `contextS`, from one segment
 *  {contextS, positionMs, rate} (before the segment starts the position holds). */
export function positionFromAnchor(anchor, contextS) {
  return anchor.positionMs + Math.max(0, contextS - anchor.contextS) * 1000 * anchor.rate;
}

/** Position (ms) at context time `contextS` from the rate segments of a source, oldest first.
 *  Rate changes are scheduled at the audio thread's "now", but what is heard lags that by the
 *  output latency, so the heard position must come from the segment that was live back then. */
export function positionFromSegments(segments, contextS) {
  let segment = segments[0];
  for (const candidate of segments) {
    if (candidate.contextS <= contextS) segment = candidate;
    else break;
  }
  return positionFromAnchor(segment, contextS);
}

/** What to do about a playback error (ms, positive = we are ahead). */
export function correctionFor(errorMs, options = SYNC_DEFAULTS) {
  const magnitude = Math.abs(errorMs);
  if (magnitude > options.seekAboveMs) return { kind: "seek", rate: 1 };
  if (magnitude < options.deadbandMs) return { kind: "hold", rate: 1 };
  // Rate that cancels the error over the horizon, clamped to an inaudible nudge.
  const wanted = -errorMs / options.nudgeHorizonMs;
  const nudge = Math.max(-options.maxNudge, Math.min(options.maxNudge, wanted));
  return { kind: "nudge", rate: 1 + nudge };
}

export function median(values) {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Robust map from the audio clock to the local clock. Each output timestamp says "context time
 *  c is heard at local time p"; under CPU load the audio thread renders in bursts and single
 *  stamps are off by whole callback buffers (about 23 ms) for a while. The median of
 *  (p - c) over the last few seconds ignores those bursts and follows real changes. */
export class OutputClock {
  constructor({ windowS = 3, maxSamples = 160 } = {}) {
    this.windowS = windowS;
    this.maxSamples = maxSamples;
    this.samples = []; // [contextTime s, performanceTime - contextTime*1000 ms]
    this.mapping = null;
    this.last = null;
  }

  /** Feed a raw stamp {contextTime, performanceTime}; repeated stamps are ignored. */
  add(stamp) {
    if (!stamp || !(stamp.contextTime > 0) || !(stamp.performanceTime > 0)) return;
    if (this.last && stamp.contextTime === this.last.contextTime) return;
    this.last = { contextTime: stamp.contextTime, performanceTime: stamp.performanceTime };
    this.samples.push([stamp.contextTime, stamp.performanceTime - stamp.contextTime * 1000]);
    const oldest = stamp.contextTime - this.windowS;
    while (this.samples.length > this.maxSamples || (this.samples.length > 8 && this.samples[0][0] < oldest)) {
      this.samples.shift();
    }
    this.mapping = median(this.samples.map((sample) => sample[1]));
  }

  get ready() { return this.mapping !== null; }

  /** A smoothed stamp: the latest context time and when it is heard by the filtered mapping. */
  stamp() {
    if (!this.last) return null;
    return { contextTime: this.last.contextTime, performanceTime: this.last.contextTime * 1000 + this.mapping };
  }
}

// --- pure functions: beat grid -------------------------------------------------------------------

/** Index of the last beat at or before `seconds` (-1 if none), by binary search. */
export function beatIndexAt(beats, seconds) {
  let lo = 0;
  let hi = beats.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (beats[mid] <= seconds) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** A `visual` frame (same shape as live frames, source "track") for playhead `positionMs`;
 *  `previousMs` is the playhead of the previous frame (a beat fires when one was crossed). */
export function beatGridFrame(analysis, positionMs, previousMs, serverMs) {
  const beats = (analysis && analysis.beats) || [];
  const downbeats = (analysis && analysis.downbeats) || [];
  const seconds = positionMs / 1000;
  const index = beatIndexAt(beats, seconds);
  const crossed = previousMs !== null && previousMs <= positionMs && index >= 0
    && beats[index] > previousMs / 1000;
  const downIndex = beatIndexAt(downbeats, seconds);
  const isDownbeat = crossed && downIndex >= 0 && Math.abs(downbeats[downIndex] - beats[index]) < 0.02;
  let phase = 0;
  if (index >= 0 && index + 1 < beats.length) {
    phase = (seconds - beats[index]) / Math.max(1e-3, beats[index + 1] - beats[index]);
  }
  const waveform = (analysis && analysis.waveform) || [];
  const duration = Number(analysis && analysis.duration_s) || 0;
  let level = 0;
  if (waveform.length && duration > 0) {
    const at = Math.min(waveform.length - 1, Math.max(0, Math.floor((seconds / duration) * waveform.length)));
    level = Number(waveform[at]) || 0;
  }
  return {
    type: "visual",
    source: "track",
    t_ms: serverMs,
    position_ms: positionMs,
    bpm: Number(analysis && analysis.bpm) || null,
    key: (analysis && analysis.key) || null,
    beat: Boolean(crossed),
    downbeat: Boolean(isDownbeat),
    beat_index: index,
    beat_phase: Math.max(0, Math.min(1, phase)),
    // Peaks are amplitude; a sine's RMS is peak / sqrt(2), a fair guess for music as well.
    rms: level / Math.SQRT2,
    peak: level,
  };
}

// --- the clock over the room socket ---------------------------------------------------------------

/** Local monotonic clock in epoch-like milliseconds. performance.timeOrigin is fixed when the page
 *  loads and performance.now() never jumps, so a wall-clock step here cannot move our timeline. */
export const localNow = () => performance.timeOrigin + performance.now();

export class ServerClock {
  /** send(message) -> bool sends over the room socket; onChange() is told of new estimates. */
  constructor(send, { options = {}, onChange = () => {} } = {}) {
    this.send = send;
    this.onChange = onChange;
    this.options = { ...SYNC_DEFAULTS, ...options };
    this.filter = new ClockFilter(this.options);
    this.timer = null;
    this.samplesSeen = 0;
    this.wallJumps = 0;
    this.lastWallGap = Date.now() - localNow();
  }

  get ready() { return this.filter.ready; }
  get offsetMs() { return this.filter.estimate ? this.filter.estimate.offsetMs : 0; }
  get rttMs() { return this.filter.estimate ? this.filter.estimate.rttMs : null; }
  get serverJumps() { return this.filter.jumps; }

  /** Estimated server time now (ms), or at local time `atLocalMs`. */
  serverNow(atLocalMs = localNow()) { return atLocalMs + this.offsetMs; }
  /** Local time (ms) of a server instant. */
  localAt(serverMs) { return serverMs - this.offsetMs; }

  /** (Re)start pinging: a quick burst to converge, a denser refresh for a few seconds (every
   *  new low-delay sample tightens the estimate), then a steady refresh. */
  start() {
    this.stop();
    const { burstPings, burstSpacingMs, warmPings, warmSpacingMs, refreshMs } = this.options;
    let sent = 0;
    const tick = () => {
      this.ping();
      sent += 1;
      const next = sent < burstPings ? burstSpacingMs : sent < burstPings + warmPings ? warmSpacingMs : refreshMs;
      this.timer = setTimeout(tick, next);
    };
    tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  ping() {
    this.send({ type: "ping", client_time_ms: localNow() });
  }

  /** Feed a `pong`. Returns the sample (or null when the pong is not ours). */
  onPong(message) {
    const received = localNow();
    const sent = Number(message.client_time_ms);
    const server = Number(message.server_time_ms);
    const serverReceived = message.server_receive_ms === undefined ? NaN : Number(message.server_receive_ms);
    if (!Number.isFinite(sent) || !Number.isFinite(server) || sent > received) return null;
    // Our local base never jumps; notice (and report) when the wall clock did, nothing else.
    const wallGap = Date.now() - received;
    if (Math.abs(wallGap - this.lastWallGap) > 500) this.wallJumps += 1;
    this.lastWallGap = wallGap;
    const sample = clockSample(sent, serverReceived, server, received);
    this.filter.add(sample);
    this.samplesSeen += 1;
    this.onChange(this);
    return sample;
  }
}

// --- playback on the Web Audio clock --------------------------------------------------------------

/** Raw output timestamp {contextTime s, performanceTime ms}; falls back to currentTime minus latency. */
export function rawOutputStamp(ctx) {
  if (typeof ctx.getOutputTimestamp === "function") {
    const stamp = ctx.getOutputTimestamp();
    if (stamp && stamp.performanceTime > 0 && stamp.contextTime > 0) return stamp;
  }
  const latency = (ctx.outputLatency || 0) + (ctx.baseLatency || 0);
  return { contextTime: Math.max(0, ctx.currentTime - latency), performanceTime: performance.now() };
}

/**
 * Plays the room's state on a shared AudioContext, in sync with the server clock.
 * loadBuffer(track) -> Promise<AudioBuffer>. onStatus({...}) reports for the UI.
 */
export class SyncedPlayer {
  constructor({ clock, loadBuffer, onStatus = () => {}, options = {} }) {
    this.clock = clock;
    this.loadBuffer = loadBuffer;
    this.onStatus = onStatus;
    this.options = { ...SYNC_DEFAULTS, ...options };
    this.ctx = null;
    this.gain = null;
    this.state = null;
    this.trackId = null;
    this.buffer = null;
    this.loading = null;
    this.source = null; // {node, anchor: {contextS, positionMs, rate}, startS}
    this.errors = [];
    this.lastErrorMs = null;
    this.seeks = 0;
    this.nudges = 0;
    this.settleUntilS = 0; // context time until which errors re-seek at once (see correct())
    this.settleSeeks = 0;
    this.timer = null;
    this.volume = 1;
    this.output = new OutputClock();
  }

  /** The filtered output timestamp (see OutputClock), refreshed from the context. */
  stamp() {
    const raw = rawOutputStamp(this.ctx);
    this.output.add(raw);
    return this.output.stamp() || raw;
  }

  /** Create (or resume) the AudioContext. Call from a user gesture where autoplay is restricted. */
  ensureContext() {
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: "playback" });
      this.gain = this.ctx.createGain();
      this.gain.gain.value = this.volume;
      this.gain.connect(this.ctx.destination);
      this.ctx.addEventListener("statechange", () => {
        if (this.audible) this.apply(); // unlocked (or back from an interruption): start in place
        this.report();
      });
    }
    if (this.ctx.state === "suspended") {
      // Not awaited: without a user gesture the promise may stay pending until one comes.
      this.ctx.resume().catch(() => {});
    }
    if (!this.timer) this.timer = setInterval(() => this.correct(), this.options.correctEveryMs);
    this.report();
    return this.ctx;
  }

  get audible() { return Boolean(this.ctx && this.ctx.state === "running"); }

  setVolume(value) {
    this.volume = value;
    if (this.gain) this.gain.gain.setTargetAtTime(value, this.ctx.currentTime, 0.02);
  }

  /** Accept a server `state`; older versions are ignored. */
  async setState(state) {
    if (!isNewerState(this.state, state)) return false;
    this.state = state;
    const trackId = state.track ? state.track.id : null;
    if (trackId !== this.trackId) {
      this.trackId = trackId;
      this.buffer = null;
      this.stopSource(null);
      if (trackId !== null) {
        const wanted = trackId;
        const loading = this.loadBuffer(state.track);
        this.loading = loading;
        try {
          const buffer = await loading;
          if (this.trackId !== wanted) return true; // another track was chosen meanwhile
          this.buffer = buffer;
        } catch (err) {
          this.report({ error: `Could not load the track: ${err && err.message ? err.message : err}` });
          return true;
        } finally {
          if (this.loading === loading) this.loading = null;
        }
      }
    }
    this.apply();
    return true;
  }

  /** Make the audio graph follow this.state. */
  apply() {
    const state = this.state;
    if (!this.ctx || !state) return;
    // Without a clock estimate we would start hundreds of ms off, and a suspended context has
    // no running clock to schedule on; correct() and the statechange handler retry.
    if (state.playing && (!this.clock.ready || !this.audible)) return;
    if (!state.playing || !this.buffer) {
      this.stopSource(state.playing ? null : Number(state.server_time_ms));
      this.report();
      return;
    }
    if (this.source && !this.source.stopping) {
      // Same track still running (e.g. a queue change bumped the version): keep it unless the
      // new state moves the playhead; the correction loop handles small differences.
      const error = this.measureError();
      if (error !== null && Math.abs(error) <= this.options.seekAboveMs && state.server_time_ms <= this.clock.serverNow()) {
        this.report();
        return;
      }
    }
    this.startAt(startInstant(state, this.clock.serverNow(), this.options.startMarginS * 1000 + 5));
  }

  /** Start the buffer so that server instant `serverMs` is heard at the right playhead.
   *  A fresh start (settle = true) opens a settling window; a settling re-seek does not extend it. */
  startAt(serverMs, settle = true) {
    const ctx = this.ctx;
    const stamp = this.stamp();
    let whenS = contextTimeAt(this.clock.localAt(serverMs) - performance.timeOrigin, stamp);
    const earliest = ctx.currentTime + this.options.startMarginS;
    let heardAtServer = serverMs;
    if (whenS < earliest) {
      heardAtServer += (earliest - whenS) * 1000;
      whenS = earliest;
    }
    const positionMs = playheadAt(this.state, heardAtServer);
    const durationMs = this.buffer.duration * 1000;
    this.stopSource(null, whenS);
    if (positionMs >= durationMs) {
      this.report();
      return;
    }
    const node = ctx.createBufferSource();
    node.buffer = this.buffer;
    const rate = Number(this.state.rate) || 1;
    node.playbackRate.value = rate;
    node.connect(this.gain);
    node.start(whenS, Math.max(0, positionMs) / 1000);
    const first = { contextS: whenS, positionMs: Math.max(0, positionMs), rate };
    const source = { node, anchor: first, segments: [first], startS: whenS, stopping: false };
    node.addEventListener("ended", () => { if (this.source === source) this.source = null; });
    this.source = source;
    this.errors = [];
    if (settle) {
      this.settleUntilS = whenS + this.options.settleS;
      this.settleSeeks = 0;
    }
    this.report();
  }

  /** Stop the current source at server instant `serverMs` (null = now), or context time `atS`. */
  stopSource(serverMs, atS = null) {
    const source = this.source;
    if (!source) return;
    let when = atS;
    if (when === null && serverMs !== null && this.ctx) {
      when = contextTimeAt(this.clock.localAt(serverMs) - performance.timeOrigin, this.stamp());
    }
    const now = this.ctx ? this.ctx.currentTime : 0;
    try { source.node.stop(when !== null && when > now ? when : 0); } catch { /* already stopped */ }
    source.stopping = true;
    this.source = null;
    this.stopped = source;
  }

  /** Playhead (ms) heard now, with the local time it is heard at, or null when silent. */
  heard() {
    if (!this.ctx || !this.source) return null;
    const stamp = this.stamp();
    if (stamp.contextTime < this.source.startS) return null;
    return {
      positionMs: positionFromSegments(this.source.segments, stamp.contextTime),
      localMs: performance.timeOrigin + stamp.performanceTime,
      contextS: stamp.contextTime,
    };
  }

  /** Playhead (ms) heard at local performance time `perfMs` (null when silent): for visuals. */
  positionAt(perfMs = performance.now()) {
    if (!this.ctx || !this.source) return null;
    const contextS = contextTimeAt(perfMs, this.stamp());
    if (contextS < this.source.startS) return null;
    return positionFromSegments(this.source.segments, contextS);
  }

  /** Our error (ms, positive = ahead of the room) at the output, or null when not measurable. */
  measureError() {
    const now = this.heard();
    if (!now || !this.state || !this.state.playing) return null;
    const target = playheadAt(this.state, this.clock.serverNow(now.localMs));
    return now.positionMs - target;
  }

  /** The drift loop: nudge the rate for small errors, re-seek beyond the threshold. */
  correct() {
    if (!this.ctx || !this.state || !this.state.playing || !this.buffer) return;
    if (!this.source) {
      // Late joiners and resumed contexts start in place.
      if (this.audible) this.apply();
      return;
    }
    const error = this.measureError();
    if (error === null) return;
    this.errors.push(error);
    if (this.errors.length > this.options.errorMedianOf) this.errors.shift();
    const smoothed = median(this.errors);
    this.lastErrorMs = smoothed;
    const action = correctionFor(smoothed, this.options);
    const base = Number(this.state.rate) || 1;
    // Right after a start nobody listens steadily yet: a re-seek now costs less than seconds of
    // audible offset while a nudge of at most 0.5 % (5 ms/s) works the error off.
    const { settleSeekAboveMs, settleMaxSeeks, settleMinErrors } = this.options;
    const settling = this.ctx.currentTime < this.settleUntilS && this.settleSeeks < settleMaxSeeks
      && this.errors.length >= settleMinErrors && Math.abs(smoothed) > settleSeekAboveMs;
    if (action.kind === "seek" || settling) {
      this.seeks += 1;
      if (settling) this.settleSeeks += 1;
      this.startAt(this.clock.serverNow() + this.options.startMarginS * 1000 + 5, !settling);
      return;
    }
    this.setRate(base * action.rate);
    if (action.kind === "nudge") this.nudges += 1;
    this.report();
  }

  /** Change the playback rate from the next render quantum, keeping the position anchor exact. */
  setRate(rate) {
    const source = this.source;
    if (!source || Math.abs(source.anchor.rate - rate) < 1e-6) return;
    const at = this.ctx.currentTime + 0.005;
    const positionMs = positionFromAnchor(source.anchor, at);
    source.node.playbackRate.setValueAtTime(rate, at);
    source.anchor = { contextS: at, positionMs, rate };
    source.segments.push(source.anchor);
    // Keep what can still be heard (output latency is well under a second).
    while (source.segments.length > 2 && source.segments[1].contextS < at - 2) source.segments.shift();
    // The measured errors were taken at the old rate; let new ones accumulate.
    this.errors = this.errors.slice(-1);
  }

  /** For the UI and the harness: what is heard against the shared clock. */
  probe() {
    const heard = this.heard();
    // The same reading from the unfiltered stamp, so the harness can show both.
    const raw = this.ctx ? rawOutputStamp(this.ctx) : null;
    const rawHeard = raw && this.source && raw.contextTime >= this.source.startS;
    return {
      wall_ms: heard ? heard.localMs : localNow(),
      position_ms: heard ? heard.positionMs : null,
      raw_wall_ms: raw ? performance.timeOrigin + raw.performanceTime : null,
      raw_position_ms: rawHeard ? positionFromSegments(this.source.segments, raw.contextTime) : null,
      playing: Boolean(heard),
      version: this.state ? this.state.version : null,
      track_id: this.trackId,
      rate: this.source ? this.source.anchor.rate : 1,
      error_ms: this.lastErrorMs,
      offset_ms: this.clock.offsetMs,
      rtt_ms: this.clock.rttMs,
      seeks: this.seeks,
      nudges: this.nudges,
      context_state: this.ctx ? this.ctx.state : "none",
      output_latency_ms: this.ctx ? ((this.ctx.outputLatency || 0) + (this.ctx.baseLatency || 0)) * 1000 : null,
    };
  }

  report(extra = {}) {
    try { this.onStatus({ ...this.probe(), ...extra }); } catch (err) { console.error(err); }
  }

  close() {
    clearInterval(this.timer);
    this.timer = null;
    this.stopSource(null);
    if (this.ctx) this.ctx.close();
  }
}
