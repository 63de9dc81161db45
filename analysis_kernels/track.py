"""Whole-track analysis: the streaming kernels over the track, then offline tempo, beats, downbeats and key."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.analyzer import LiveAnalyzer
from analysis_kernels.design import Design, key_name
from analysis_kernels.state import BEAT, BPM, LOW, RMS

__all__ = ["TrackAnalysis", "analyze_track", "beat_track_offline", "integrated_loudness"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class TrackAnalysis:
    bpm: float | None
    beats: list[float]  # seconds
    downbeats: list[float]  # seconds (meter 3 or 4, phase from bass onsets and chord changes)
    meter: int | None
    key: str | None
    loudness_lufs: float | None  # integrated, BS.1770-4 gated
    duration_s: float
    peaks: list[float]  # max |sample| per bucket, for a waveform overview
    peaks_per_s: float
    energy: list[float]  # RMS every 100 ms
    energy_hz: float
    online_bpm: float | None  # what the live path says at the end of the track
    online_beats: list[float]


def integrated_loudness(hop_energy: F64, design: Design) -> float | None:
    """BS.1770-4 integrated loudness from per-hop K-weighted mean squares (400 ms blocks, 75 % overlap)."""
    block = design.momentary_hops
    step = max(1, round(block / 4))
    if hop_energy.size < block:
        blocks = np.array([hop_energy.mean()]) if hop_energy.size else np.zeros(0)
    else:
        csum = np.concatenate([[0.0], np.cumsum(hop_energy)])
        starts = np.arange(0, hop_energy.size - block + 1, step)
        blocks = (csum[starts + block] - csum[starts]) / block
    blocks = blocks[blocks > 0]
    if blocks.size == 0:
        return None
    loud = -0.691 + 10 * np.log10(blocks)
    gated = blocks[loud > -70.0]
    if gated.size == 0:
        return None
    relative = -0.691 + 10 * math.log10(float(gated.mean())) - 10.0
    gated = blocks[(loud > -70.0) & (loud > relative)]
    return float(-0.691 + 10 * math.log10(float(gated.mean())))


@njit(cache=True)
def _dp(score: F64, periods: F64, tightness: float) -> I64:  # pragma: no cover - compiled
    """Ellis (2007) dynamic-programming beat tracker with a per-frame beat period, backtracked."""
    n = score.size
    cum = np.zeros(n)
    back = -np.ones(n, np.int64)
    for t in range(n):
        period = periods[t]
        lo = int(round(period / 2.0))  # noqa: RUF046 - numba's round() typing
        hi = int(round(2.0 * period))  # noqa: RUF046 - numba's round() typing
        best = -1e30
        arg = -1
        for prev in range(max(0, t - hi), t - lo + 1):
            v = cum[prev] - tightness * math.log((t - prev) / period) ** 2
            if v > best:
                best = v
                arg = prev
        if arg >= 0 and best > 0.0:
            cum[t] = score[t] + best
            back[t] = arg
        else:
            cum[t] = score[t]
    # end on the strongest beat in the last period
    start = max(0, n - int(round(periods[n - 1])))  # noqa: RUF046 - numba's round() typing
    t = start
    for i in range(start, n):
        if cum[i] > cum[t]:
            t = i
    path = []
    while t >= 0:
        path.append(t)
        t = back[t]
    out = np.empty(len(path), np.int64)
    for i in range(len(path)):
        out[i] = path[len(path) - 1 - i]
    return out


def _global_tempo(odf: F64, design: Design) -> float | None:
    """Whole-track version of the live tempo rule: comb-filtered autocorrelation times the tempo prior."""
    d = odf - odf.mean()
    if odf.size < 2 * design.acf_lags or float(np.dot(d, d)) <= 0:
        return None
    n = 1 << math.ceil(math.log2(2 * d.size))
    spec = np.fft.rfft(d, n)
    acf = np.fft.irfft(spec * np.conj(spec), n)[: design.acf_lags + 2] / d.size
    grid = np.arange(acf.size)
    ev = np.zeros(design.tempo_bpm.size)
    for mult in range(1, 5):
        ev += np.maximum(0.0, np.interp(mult * design.tempo_period, grid, acf))
    ev *= design.tempo_prior
    best = int(np.argmax(ev))
    bpm = float(design.tempo_bpm[best])
    if 0 < best < ev.size - 1:
        ya, yb, yc = ev[best - 1 : best + 2]
        den = ya - 2 * yb + yc
        if den < 0:
            bpm *= float((design.tempo_bpm[1] / design.tempo_bpm[0]) ** (0.5 * (ya - yc) / den))
    return bpm


def beat_track_offline(odf: F64, bpm: F64 | float, fps: float, tightness: float = 100.0) -> I64:
    """Beat frames from an onset function and a tempo (one value, or one per frame)."""
    periods = np.ascontiguousarray(np.broadcast_to(60.0 * fps / np.asarray(bpm, dtype=np.float64), odf.shape))
    period = float(np.median(periods))
    std = float(odf.std())
    score = (odf - 0.0) / (std if std > 0 else 1.0)
    # smooth with a Gaussian of a quarter period so near-misses still count
    width = max(1, round(period / 8))
    kernel = np.exp(-0.5 * (np.arange(-3 * width, 3 * width + 1) / width) ** 2)
    score = np.convolve(score, kernel / kernel.sum(), mode="same")
    return _dp(np.ascontiguousarray(score, dtype=np.float64), periods, tightness)


def _downbeats(beat_frames: I64, low_odf: F64, chroma: F64) -> tuple[int | None, list[int]]:
    if beat_frames.size < 8:
        return None, []
    low = low_odf[beat_frames]
    # harmonic change across each beat: chroma after minus chroma before
    change = np.zeros(beat_frames.size)
    for i in range(1, beat_frames.size):
        a = chroma[beat_frames[i - 1] : beat_frames[i]].mean(axis=0)
        b_end = beat_frames[i + 1] if i + 1 < beat_frames.size else min(chroma.shape[0], beat_frames[i] + 8)
        b = chroma[beat_frames[i] : b_end].mean(axis=0)
        change[i] = float(np.abs(a - b).sum())
    feats = low / (low.std() or 1.0) + change / (change.std() or 1.0)
    best = (-math.inf, 4, 0)
    for meter in (3, 4):
        for phase in range(meter):
            on = feats[phase::meter].mean()
            off = np.delete(feats, np.arange(phase, feats.size, meter)).mean()
            score = on - off - (0.15 if meter == 3 else 0.0)  # 4/4 unless the evidence for 3/4 is clear
            if score > best[0]:
                best = (score, meter, phase)
    _, meter, phase = best
    return meter, list(range(phase, beat_frames.size, meter))


def analyze_track(samples: F32, sample_rate: int, peaks_per_s: float = 20.0) -> TrackAnalysis:
    """Tempo, beats, downbeats, key, integrated loudness, waveform peaks and an energy curve of a mono track."""
    x = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(-1))
    an = LiveAnalyzer(sample_rate, 1)
    d = an.design
    hop = an.hop
    n_hops = math.ceil(x.size / hop)
    padded = np.zeros(n_hops * hop, np.float32)
    padded[: x.size] = x
    odf = np.zeros(n_hops)
    low = np.zeros(n_hops)
    rms = np.zeros(n_hops)
    energy = np.zeros(n_hops)
    chroma = np.zeros((n_hops, 12))
    online_beats = []
    online_bpm = math.nan
    trajectory = np.full(n_hops, np.nan)
    prev_low = 0.0
    for i in range(n_hops):
        out = an.process_arrays(padded[i * hop : (i + 1) * hop].reshape(1, hop))
        odf[i] = an._tempo_odf[0]
        lv = math.log1p(1e4 * out.floats[0, LOW] ** 2)
        low[i] = max(0.0, lv - prev_low)
        prev_low = lv
        rms[i] = out.floats[0, RMS]
        energy[i] = an.state.energy[0, i % d.short_hops]
        chroma[i] = out.chroma[0] * rms[i]
        if out.ints[0, BEAT]:
            online_beats.append((i + 0.5) * hop / sample_rate)
        online_bpm = out.floats[0, BPM]
        trajectory[i] = online_bpm
    # local tempo: the live tracker's trajectory moved back by its settling time (the live belief lags
    # tempo changes by about that much), and the global autocorrelation where the live one has not locked
    bpm = _global_tempo(odf, d)
    local = np.full(n_hops, np.nan)
    lag = round(3.0 * d.fps)
    local[: max(0, n_hops - lag)] = trajectory[lag:]
    known = ~np.isnan(local)
    if known.any():
        first, last = np.flatnonzero(known)[[0, -1]]
        local[:first] = local[first]
        local[last + 1 :] = local[last]
        bpm = float(np.median(local))
    elif bpm is not None:
        local[:] = bpm
    beats: list[float] = []
    downbeats: list[float] = []
    meter = None
    if bpm is not None:
        frames = beat_track_offline(odf, local, d.fps)
        beats = [float((f + 0.5) * hop / sample_rate) for f in frames]
        meter, idx = _downbeats(frames, low, chroma)
        downbeats = [beats[i] for i in idx]
    total = chroma.sum(axis=0)
    key = None
    if total.sum() > 0:
        c = total / total.sum()
        scores = d.key_profiles @ (c - c.mean())
        key = key_name(int(np.argmax(scores)))
    bucket = max(1, round(sample_rate / peaks_per_s))
    n_b = math.ceil(x.size / bucket) if x.size else 0
    pk = np.zeros(n_b * bucket, np.float32)
    pk[: x.size] = np.abs(x)
    per_100ms = max(1, round(d.fps / 10))
    n_e = n_hops // per_100ms
    ecurve = np.sqrt(np.mean(rms[: n_e * per_100ms].reshape(n_e, per_100ms) ** 2, axis=1)) if n_e else np.zeros(0)
    return TrackAnalysis(
        bpm=None if bpm is None else round(bpm, 2),
        beats=beats,
        downbeats=downbeats,
        meter=meter,
        key=key,
        loudness_lufs=integrated_loudness(energy, d),
        duration_s=x.size / sample_rate,
        peaks=pk.reshape(n_b, bucket).max(axis=1).tolist() if n_b else [],
        peaks_per_s=sample_rate / bucket,
        energy=ecurve.tolist(),
        energy_hz=d.fps / per_100ms,
        online_bpm=None if online_bpm != online_bpm else float(online_bpm),
        online_beats=online_beats,
    )
