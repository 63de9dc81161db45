// The waveform of an audio version, with its comments pinned to moments (markers) and spans
// (regions). Peaks are `analysis.result.waveform` (0..1, evenly spaced over the duration).
//
//   const wave = new Waveform({canvas, regions, markers, selection, cursor, onPick, onMarker});
//   wave.setPeaks(peaks); wave.setDuration(ms); wave.setComments(list); wave.setPosition(ms);
//
// A click on the waveform picks a moment, a drag picks a span (`onPick(atMs, untilMs|null)`);
// a marker is a button (`onMarker(comment)`, which seeks there).
import { formatTime } from "./files_common.js";
import { h } from "./ui.js";

const DRAG_PX = 5;

export class Waveform {
  constructor({ canvas, regions, markers, selection, cursor, onPick, onMarker }) {
    this.canvas = canvas;
    this.regions = regions;
    this.markers = markers;
    this.selection = selection;
    this.cursor = cursor;
    this.onPick = onPick || (() => {});
    this.onMarker = onMarker || (() => {});
    this.peaks = [];
    this.durationMs = 0;
    this.positionMs = 0;
    this.comments = [];
    this.pick = null; // {at, until}
    this.drag = null;
    this.drawnAt = null;
    this.bind();
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => this.draw(true)).observe(canvas);
    } else {
      window.addEventListener("resize", () => this.draw(true));
    }
  }

  setPeaks(peaks) {
    this.peaks = Array.isArray(peaks) ? peaks.map((p) => Math.max(0, Math.min(1, Number(p) || 0))) : [];
    this.draw(true);
  }

  setDuration(ms) {
    const value = Number(ms);
    if (!Number.isFinite(value) || value <= 0 || Math.abs(value - this.durationMs) < 1) return;
    this.durationMs = value;
    this.drawPins();
    this.draw(true);
  }

  setComments(comments) {
    this.comments = comments.filter((c) => Number.isFinite(c.at_ms));
    this.drawPins();
  }

  setPosition(ms) {
    this.positionMs = Math.max(0, Number(ms) || 0);
    const total = this.durationMs;
    this.cursor.style.left = `${total > 0 ? Math.min(100, (this.positionMs / total) * 100) : 0}%`;
    // Redraw the played colour only when the cursor moved a pixel or more.
    const perPixel = total / Math.max(1, this.canvas.clientWidth);
    if (this.drawnAt === null || Math.abs(this.positionMs - this.drawnAt) >= perPixel) this.draw();
  }

  /** Show the pin a new comment will get (null clears it). */
  setPick(pick) {
    this.pick = pick && Number.isFinite(pick.at) ? pick : null;
    this.drawSelection();
  }

  fraction(ms) {
    return this.durationMs > 0 ? Math.max(0, Math.min(1, ms / this.durationMs)) : 0;
  }

  drawSelection() {
    const pick = this.pick;
    if (!pick || this.durationMs <= 0) {
      this.selection.hidden = true;
      return;
    }
    const left = this.fraction(pick.at) * 100;
    const right = Number.isFinite(pick.until) ? this.fraction(pick.until) * 100 : left;
    this.selection.hidden = false;
    this.selection.classList.toggle("is-moment", right - left < 0.3);
    this.selection.style.left = `${left}%`;
    this.selection.style.width = `${Math.max(0, right - left)}%`;
  }

  drawPins() {
    this.drawSelection();
    if (this.durationMs <= 0) {
      this.markers.replaceChildren();
      this.regions.replaceChildren();
      return;
    }
    const regions = [];
    const markers = [];
    this.comments.forEach((comment) => {
      const left = this.fraction(comment.at_ms) * 100;
      const state = comment.resolved ? " is-resolved" : "";
      if (Number.isFinite(comment.until_ms)) {
        const width = Math.max(0.4, this.fraction(comment.until_ms) * 100 - left);
        const region = h("div", { class: `wave-region${state}` });
        region.style.left = `${left}%`;
        region.style.width = `${width}%`;
        regions.push(region);
      }
      const when = Number.isFinite(comment.until_ms)
        ? `${formatTime(comment.at_ms)} to ${formatTime(comment.until_ms)}` : formatTime(comment.at_ms);
      const marker = h("button", {
        type: "button",
        class: `wave-marker${state}`,
        dataset: { commentId: comment.id, atMs: comment.at_ms },
        title: `${comment.author ? comment.author.name : ""} at ${when}: ${comment.body}`,
        "aria-label": `Play from ${when}: comment ${comment.pinNumber || ""} by ${comment.author ? comment.author.name : "someone"}`,
      }, String(comment.pinNumber || ""));
      marker.style.left = `${left}%`;
      marker.addEventListener("click", (event) => {
        event.stopPropagation();
        this.onMarker(comment);
      });
      markers.push(marker);
    });
    this.regions.replaceChildren(...regions);
    this.markers.replaceChildren(...markers);
  }

  draw(force = false) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      force = true;
    }
    if (!force && this.drawnAt === this.positionMs) return;
    this.drawnAt = this.positionMs;
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    const style = getComputedStyle(document.documentElement);
    const played = style.getPropertyValue("--accent").trim() || "#8b6cff";
    const rest = "#5b6482"; // unplayed: between --surface-3 and --muted, readable on --bg
    const playedX = this.durationMs > 0 ? this.fraction(this.positionMs) * width : 0;
    const peaks = this.peaks;
    if (!peaks.length) {
      g.fillStyle = rest;
      g.fillRect(0, height / 2 - ratio, width, 2 * ratio);
      g.fillStyle = played;
      g.fillRect(0, height / 2 - ratio, playedX, 2 * ratio);
      return;
    }
    // One bar per pixel column group: many peaks are folded to their maximum.
    const bars = Math.min(peaks.length, Math.floor(width / (2 * ratio)) || 1);
    const barWidth = width / bars;
    for (let i = 0; i < bars; i += 1) {
      const from = Math.floor((i * peaks.length) / bars);
      const to = Math.max(from + 1, Math.floor(((i + 1) * peaks.length) / bars));
      let amplitude = 0;
      for (let j = from; j < to; j += 1) amplitude = Math.max(amplitude, peaks[j]);
      const x = i * barWidth;
      const barHeight = Math.max(ratio * 2, amplitude * (height - 4 * ratio));
      g.fillStyle = x < playedX ? played : rest;
      g.fillRect(x, (height - barHeight) / 2, Math.max(ratio, barWidth - ratio), barHeight);
    }
  }

  msAt(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    const fraction = Math.max(0, Math.min(1, (clientX - rect.left) / Math.max(1, rect.width)));
    return Math.round(fraction * this.durationMs);
  }

  bind() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      if (this.durationMs <= 0 || event.button !== 0) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      this.drag = { x: event.clientX, from: this.msAt(event.clientX), moved: false };
      this.setPick({ at: this.drag.from, until: null });
    });
    canvas.addEventListener("pointermove", (event) => {
      const drag = this.drag;
      if (!drag) return;
      if (Math.abs(event.clientX - drag.x) >= DRAG_PX) drag.moved = true;
      if (!drag.moved) return;
      const here = this.msAt(event.clientX);
      this.setPick({ at: Math.min(drag.from, here), until: Math.max(drag.from, here) });
    });
    const finish = (event) => {
      const drag = this.drag;
      if (!drag) return;
      this.drag = null;
      if (!drag.moved) {
        this.setPick({ at: drag.from, until: null });
        this.onPick(drag.from, null);
        return;
      }
      const here = this.msAt(event.clientX);
      const at = Math.min(drag.from, here);
      const until = Math.max(drag.from, here);
      if (until - at < 100) {
        this.setPick({ at, until: null });
        this.onPick(at, null);
      } else {
        this.setPick({ at, until });
        this.onPick(at, until);
      }
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", () => { this.drag = null; });
  }
}
