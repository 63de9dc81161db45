"""Pure-numpy references of the live kernels, written for clarity rather than speed.

:class:`ReferenceAnalyzer` computes what :class:`~analysis_kernels.analyzer.LiveAnalyzer` computes, stage by stage
(``kweighting_reference``, ``spectral_reference``, ``onset_reference``, ``chroma_reference``, the tempo and
beat trackers), with vectorised numpy, a dense mel matrix and Python loops where the maths is sequential.
Tests run both on the same audio and compare every output.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import numpy.typing as npt

from analysis_kernels.design import LOUDNESS_FLOOR_LUFS, ROLLOFF, Design, make_design
from analysis_kernels.key import CHROMA_FLOOR
from analysis_kernels.rhythm import MEL_GAIN, ONSET_REFRACTORY, ONSET_THRESHOLD
from analysis_kernels.state import (
    BEAT,
    BPM,
    CENTROID,
    FLUX,
    HIGH,
    KEY,
    LOUD_M,
    LOUD_S,
    LOW,
    MID,
    ONSET,
    ONSET_EVENT,
    PEAK,
    PHASE,
    RMS,
    ROLLOFF_HZ,
    HopOutputs,
    new_outputs,
)

__all__ = ["ReferenceAnalyzer", "kweighting_reference", "lufs_reference", "spectral_reference"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


def kweighting_reference(x: F64, kw: F64, z: F64) -> F64:
    """Two biquads in series (direct form I, sample by sample); ``z`` (4,) carries the state in and out."""
    y = np.empty_like(x)
    # state in transposed direct form II terms, converted on the fly so both forms agree exactly in maths
    (b0, b1, b2, a1, a2), (c0, c1, c2, d1, d2) = kw
    s0, s1, s2, s3 = z
    for i, xi in enumerate(x):
        u = b0 * xi + s0
        s0 = b1 * xi - a1 * u + s1
        s1 = b2 * xi - a2 * u
        v = c0 * u + s2
        s2 = c1 * u - d1 * v + s3
        s3 = c2 * u - d2 * v
        y[i] = v
    z[:] = (s0, s1, s2, s3)
    return y


def lufs_reference(mean_square: float) -> float:
    if mean_square <= 0:
        return LOUDNESS_FLOOR_LUFS
    return max(-0.691 + 10 * math.log10(mean_square), LOUDNESS_FLOOR_LUFS)


def spectral_reference(frame: F32, prev_mag: F64, design: Design) -> dict[str, object]:
    """Spectrum features of one windowed frame (float32, like the kernel's FFT input)."""
    d = design
    spec = np.fft.rfft(frame).astype(np.complex128)  # float32 transform, as the kernel does
    power = np.abs(spec) ** 2
    win = d.window.astype(np.float64)
    mag = np.sqrt(power) * 2.0 / win.sum()
    pn = power * 2.0 / (d.n_fft * np.sum(win**2))
    bands = [math.sqrt(pn[d.band_of_bin == b].sum()) for b in range(3)]
    total = mag.sum()
    if total > 0:
        centroid = float(np.sum(d.bin_hz * mag) / total)
        idx = int(np.argmax(np.cumsum(mag) >= ROLLOFF * total))
        rolloff = float(d.bin_hz[idx])
    else:
        centroid = rolloff = 0.0
    return {
        "mag": mag,
        "bands": bands,
        "centroid": centroid,
        "rolloff": rolloff,
        "flux": float(np.sqrt(np.sum((mag - prev_mag) ** 2))),
        "mel": d.mel_dense @ pn,
    }


def chroma_reference(mag: F64, design: Design) -> F64:
    d = design
    lo, hi = d.chroma_lo_bin, d.chroma_hi_bin
    chroma = np.zeros(12)
    seg = mag[lo : hi + 1]
    floor = max(1e-6, CHROMA_FLOOR * seg.max())
    k = np.arange(lo, hi + 1)
    is_peak = (seg > floor) & (seg > mag[k - 1]) & (seg >= mag[k + 1])
    for kk in k[is_peak]:
        la, lb, lc = np.log(mag[kk - 1 : kk + 2] + 1e-12)
        den = la - 2 * lb + lc
        off = 0.5 * (la - lc) / den if den < 0 else 0.0
        pitch = 69 + 12 * math.log2((kk + off) * d.sample_rate / d.n_fft / 440.0)
        nearest = math.floor(pitch + 0.5)
        chroma[nearest % 12] += mag[kk] * math.cos(math.pi * (pitch - nearest)) ** 2
    return chroma


class ReferenceAnalyzer:
    """Slow, obvious numpy version of LiveAnalyzer for tests (same outputs, same state semantics)."""

    def __init__(self, sample_rate: int, streams: int) -> None:
        self.design = make_design(sample_rate)
        self.hop = self.design.hop
        self.streams = streams
        d = self.design
        n_bins = d.n_fft // 2 + 1
        self.t = [0] * streams
        self.ring = np.zeros((streams, d.n_fft), np.float32)
        self.kw_z = np.zeros((streams, 4))
        self.energies: list[list[float]] = [[] for _ in range(streams)]
        self.prev_mag = np.zeros((streams, n_bins))
        self.prev_logmel = np.zeros((streams, d.mel_dense.shape[0]))
        self.onset_mean = np.zeros(streams)
        self.prev_onset = np.zeros(streams)
        self.last_onset = [-(10**9)] * streams
        self.key_chroma = np.zeros((streams, 12))
        self.key_frames = [0] * streams
        self.key_idx = [-1] * streams
        self.odf_mean = np.zeros(streams)
        self.odf: list[list[float]] = [[] for _ in range(streams)]  # detrended, full history
        self.acf = np.zeros((streams, d.acf_lags))
        self.belief = np.ones((streams, d.tempo_bpm.size))
        self.tempo_idx = [-1] * streams
        self.bpm = [0.0] * streams
        self.cs: list[list[float]] = [[] for _ in range(streams)]
        self.m0 = [0] * streams
        self.beat_counter = [-1] * streams
        self.last_beat = [-1] * streams

    def process_arrays(self, block: F32) -> HopOutputs:
        out = new_outputs(self.streams)
        for s in range(self.streams):
            self._one(s, block[s], out)
        return out

    def _one(self, s: int, x: F32, out: HopOutputs) -> None:
        d = self.design
        f, ints = out.floats[s], out.ints[s]
        x64 = x.astype(np.float64)
        f[RMS] = math.sqrt(np.mean(x64 * x64))
        f[PEAK] = np.max(np.abs(x64))
        k = kweighting_reference(x64, d.kw, self.kw_z[s])
        self.energies[s].append(float(np.mean(k * k)))
        f[LOUD_M] = lufs_reference(float(np.mean(self.energies[s][-d.momentary_hops :])))
        f[LOUD_S] = lufs_reference(float(np.mean(self.energies[s][-d.short_hops :])))

        self.ring[s] = np.concatenate([self.ring[s, self.hop :], x])
        frame = (self.ring[s] * d.window).astype(np.float32)
        sp = spectral_reference(frame, self.prev_mag[s], d)
        mag: F64 = sp["mag"]  # type: ignore[assignment]
        self.prev_mag[s] = mag
        bands = cast(list[float], sp["bands"])
        f[LOW], f[MID], f[HIGH] = bands
        f[CENTROID], f[ROLLOFF_HZ], f[FLUX] = (cast(float, sp[k]) for k in ("centroid", "rolloff", "flux"))
        mel: F64 = sp["mel"]  # type: ignore[assignment]
        out.mel[s] = mel

        t = self.t[s]
        logmel = np.log1p(MEL_GAIN * mel)
        rise = np.maximum(0.0, logmel - self.prev_logmel[s]) if t > 0 else np.zeros_like(logmel)
        self.prev_logmel[s] = logmel
        onset = float(rise.mean())
        tempo_odf = float(np.sum(d.mel_tempo_weight * rise) / d.mel_tempo_weight.sum())
        f[ONSET] = onset
        event = (
            onset > ONSET_THRESHOLD * self.onset_mean[s] + 0.01
            and onset > self.prev_onset[s]
            and t - self.last_onset[s] >= ONSET_REFRACTORY
        )
        if event:
            self.last_onset[s] = t
        ints[ONSET_EVENT] = int(event)
        self.onset_mean[s] = 0.9 * self.onset_mean[s] + 0.1 * onset
        self.prev_onset[s] = onset

        chroma = chroma_reference(mag, d)
        cmax, csum = chroma.max(), chroma.sum()
        out.chroma[s] = chroma / cmax if cmax > 0 else chroma
        if f[RMS] > d.min_rms_for_key and csum > 0:
            self.key_frames[s] += 1
            a = max(1.0 / self.key_frames[s], 1.0 / d.key_window_hops)
            self.key_chroma[s] += a * (chroma / csum - self.key_chroma[s])
            scores = d.live_key_profiles @ (self.key_chroma[s] - self.key_chroma[s].mean())
            if scores.max() > 0:
                self.key_idx[s] = int(np.argmax(scores))
        ints[KEY] = self.key_idx[s]

        self._rhythm(s, t, tempo_odf, f, ints)
        self.t[s] = t + 1

    def _rhythm(self, s: int, t: int, o: float, f: F64, ints: npt.NDArray[np.int64]) -> None:
        d = self.design
        dt = o - self.odf_mean[s]
        self.odf_mean[s] = d.odf_mean_alpha * self.odf_mean[s] + (1 - d.odf_mean_alpha) * o
        hist = self.odf[s]
        hist.append(dt)
        lags = min(d.acf_lags, t + 1)
        past = np.array(hist[::-1][:lags])
        self.acf[s, :lags] = d.acf_alpha * self.acf[s, :lags] + (1 - d.acf_alpha) * dt * past
        if t >= d.warmup_hops and t % d.tempo_every == 0 and self.acf[s, 0] > 1e-9:
            acf = self.acf[s]
            ev = np.zeros(d.tempo_bpm.size)
            for mult in range(1, 5):
                ev += np.maximum(0.0, np.interp(mult * d.tempo_period, np.arange(acf.size), acf))
            ev *= d.tempo_prior
            if ev.max() > 0:
                ev /= ev.max()
            span = (d.tempo_transition.size - 1) // 2
            padded = np.concatenate([np.zeros(span), self.belief[s], np.zeros(span)])
            moved = np.max([padded[j : j + ev.size] * d.tempo_transition[::-1][j] for j in range(2 * span + 1)], axis=0)
            new = moved * (0.05 + ev)
            self.belief[s] = new / new.max()
            best = int(np.flatnonzero(self.belief[s] == 1.0)[-1])
            self.tempo_idx[s] = best
            refined = d.tempo_bpm[best]
            if 0 < best < ev.size - 1:
                ya, yb, yc = ev[best - 1 : best + 2]
                den = ya - 2 * yb + yc
                if den < 0:
                    off = 0.5 * (ya - yc) / den
                    if -1 < off < 1:
                        refined = d.tempo_bpm[best] * (d.tempo_bpm[1] / d.tempo_bpm[0]) ** off
            self.bpm[s] = float(refined)
        idx = self.tempo_idx[s]
        cs = self.cs[s]
        beat = 0
        if idx < 0:
            cs.append((1 - d.cs_alpha) * o)
            f[BPM] = f[PHASE] = math.nan
            ints[BEAT] = 0
            return
        period = d.tempo_period[idx]
        w1 = d.w1[idx, : d.w1_len[idx]]
        offsets = d.w1_start[idx] + np.arange(w1.size)

        def past_max(series: list[float], at: int) -> float:
            pos = at + offsets
            vals = np.array([series[p] if 0 <= p < len(series) else 0.0 for p in pos])
            return float(max(0.0, np.max(vals * w1)))

        cs.append((1 - d.cs_alpha) * o + d.cs_alpha * past_max(cs, t))
        self.m0[s] -= 1
        self.beat_counter[s] -= 1
        if self.m0[s] <= 0:
            window = round(period)
            ext = list(cs)
            half = period / 2
            scores = []
            for j in range(1, window + 1):
                ext.append(past_max(ext, t + j))
                scores.append(ext[-1] * math.exp(-((j - half) ** 2) / (2 * half * half)))
            best_j = int(np.argmax(scores)) + 1 if max(scores) > 0 else window
            self.beat_counter[s] = best_j
            self.m0[s] = best_j + round(period / 2)
        if self.beat_counter[s] == 0:
            beat = 1
            self.last_beat[s] = t
        f[BPM] = self.bpm[s]
        f[PHASE] = min((t - self.last_beat[s] + 0.5) / period, 0.999) if self.last_beat[s] >= 0 else math.nan
        ints[BEAT] = beat
