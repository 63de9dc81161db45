// Playback of an audio version, and A/B comparison of two versions with one play button.
//
// In compare mode both <audio> elements play together and only the chosen one is heard; the
// A/B toggle swaps which one is muted, so the switch lands on the same position at once (the
// hidden one is nudged back in step when it drifts). Loudness matching uses each version's
// `analysis.result.loudness_lufs`: gain = 10^((target - lufs) / 20), applied as
// `audio.volume`, with the target the quieter of the two, so every gain is at most 1 and the
// cap of `volume` at 1 never bends the match.
//
// Why `audio.volume` and not a Web Audio GainNode: with the S3 storage adapter the content
// URL answers 302 to a signed URL on the bucket's host; an element whose media is cross-origin
// and not CORS-enabled plays fine, but routed into Web Audio (MediaElementAudioSourceNode) it
// is silenced by the browser. `volume` works for both storage adapters with no CORS set-up on
// the bucket, and attenuating the louder version is all a fair comparison needs.

const DRIFT_S = 0.06;

export const gainFor = (lufs, target) =>
  Number.isFinite(lufs) && Number.isFinite(target) ? Math.min(1, 10 ** ((target - lufs) / 20)) : 1;

export class AbPlayer {
  constructor({ a, b, onTime = () => {}, onPlaying = () => {}, onDuration = () => {}, onError = () => {} }) {
    this.el = { a, b };
    this.lufs = { a: null, b: null };
    this.url = { a: null, b: null };
    this.active = "a";
    this.compare = false;
    this.onTime = onTime;
    this.onPlaying = onPlaying;
    this.onDuration = onDuration;
    this.onError = onError;
    this.frame = null;
    for (const slot of ["a", "b"]) {
      const el = this.el[slot];
      el.addEventListener("loadedmetadata", () => {
        if (slot === this.active) this.onDuration(el.duration * 1000);
      });
      el.addEventListener("durationchange", () => {
        if (slot === this.active && Number.isFinite(el.duration)) this.onDuration(el.duration * 1000);
      });
      el.addEventListener("ended", () => {
        if (slot === this.active) this.pause();
      });
      el.addEventListener("error", () => {
        if (slot === this.active || this.compare) {
          const code = el.error ? el.error.code : 0;
          this.onError(code === 4 ? "This version cannot be played in this browser." : "The audio could not be loaded.");
        }
      });
    }
    this.applyVolumes();
  }

  get current() {
    return this.el[this.active];
  }

  get playing() {
    return !this.current.paused;
  }

  get positionMs() {
    return (this.current.currentTime || 0) * 1000;
  }

  get durationMs() {
    const d = this.current.duration;
    return Number.isFinite(d) ? d * 1000 : 0;
  }

  /** Load a version in slot "a" or "b" (keeps the position when the same URL comes again). */
  setSource(slot, url, lufs) {
    this.lufs[slot] = Number.isFinite(lufs) ? lufs : null;
    if (this.url[slot] !== url) {
      const el = this.el[slot];
      const wasPlaying = !el.paused;
      const at = this.current.currentTime || 0;
      this.url[slot] = url;
      el.pause();
      if (url) {
        el.src = url;
        el.load();
        if (at) el.addEventListener("loadedmetadata", () => { el.currentTime = Math.min(at, el.duration || at); }, { once: true });
        if (wasPlaying && (slot === this.active || this.compare)) el.play().catch(() => {});
      } else {
        el.removeAttribute("src");
        el.load();
      }
    }
    this.applyVolumes();
  }

  /** Turn compare mode on or off; off leaves version A playing alone. */
  setCompare(on) {
    this.compare = Boolean(on);
    if (!this.compare) {
      if (this.active === "b") this.switchTo("a");
      this.el.b.pause();
    } else if (this.playing) {
      this.align(this.other(), true);
      this.el[this.other()].play().catch(() => {});
    }
    this.applyVolumes();
  }

  other() {
    return this.active === "a" ? "b" : "a";
  }

  /** A <-> B at the same position; returns the slot now heard. */
  toggle() {
    if (!this.compare) return this.active;
    this.switchTo(this.other());
    return this.active;
  }

  switchTo(slot) {
    if (slot === this.active) return;
    const from = this.el[this.active];
    const to = this.el[slot];
    const playing = !from.paused;
    this.active = slot;
    this.align(slot, true, from.currentTime);
    if (playing) to.play().catch(() => {});
    this.applyVolumes();
    if (Number.isFinite(to.duration)) this.onDuration(to.duration * 1000);
  }

  align(slot, force = false, at = this.current.currentTime) {
    const el = this.el[slot];
    if (!Number.isFinite(at)) return;
    const target = Number.isFinite(el.duration) ? Math.min(at, el.duration) : at;
    if (force || Math.abs(el.currentTime - target) > DRIFT_S) {
      try {
        el.currentTime = target;
      } catch { /* not loaded yet: loadedmetadata sets it */ }
    }
  }

  /** The gains: 1 and 1 without compare or without both loudnesses; else matched. */
  gains() {
    const { a, b } = this.lufs;
    if (!this.compare || !Number.isFinite(a) || !Number.isFinite(b)) return { a: 1, b: 1, matched: false };
    const target = Math.min(a, b);
    return { a: gainFor(a, target), b: gainFor(b, target), matched: true };
  }

  applyVolumes() {
    const gains = this.gains();
    for (const slot of ["a", "b"]) {
      const el = this.el[slot];
      el.volume = Math.max(0, Math.min(1, gains[slot]));
      el.muted = slot !== this.active;
    }
    return gains;
  }

  async play() {
    const tasks = [this.current.play()];
    if (this.compare) {
      this.align(this.other(), true);
      tasks.push(this.el[this.other()].play());
    }
    try {
      await Promise.all(tasks);
    } catch (err) {
      if (err && err.name !== "AbortError") this.onError("The browser did not start playback. Press play again.");
    }
    this.onPlaying(this.playing);
    this.tick();
  }

  pause() {
    this.el.a.pause();
    this.el.b.pause();
    this.onPlaying(false);
    this.onTime(this.positionMs);
  }

  seek(ms) {
    const seconds = Math.max(0, ms / 1000);
    for (const slot of this.compare ? ["a", "b"] : [this.active]) {
      const el = this.el[slot];
      try {
        el.currentTime = Number.isFinite(el.duration) ? Math.min(seconds, el.duration) : seconds;
      } catch { /* before metadata */ }
    }
    this.onTime(ms);
  }

  tick() {
    cancelAnimationFrame(this.frame);
    let lastAlign = performance.now();
    const step = (now) => {
      this.onTime(this.positionMs);
      // A seek takes a moment to settle: nudge the hidden version at most once a second.
      if (this.compare && this.playing && now - lastAlign > 1000) {
        lastAlign = now;
        this.align(this.other());
      }
      if (this.playing) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }
}
