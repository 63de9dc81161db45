"""Causal analysis of many streams at once: one ``process`` call advances every stream by one hop.

State lives in explicit arrays (one row per stream, see :class:`LiveState`), so a slot can be reset and
reused, and the numba kernel is a pure function of (block, design, state) -> outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.design import LOUDNESS_FLOOR_LUFS, N_MEL, ROLLOFF, Design, key_name, make_design

__all__ = ["FLOAT_FIELDS", "INT_FIELDS", "HopOutputs", "LiveAnalyzer", "LiveState", "new_state"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# columns of HopOutputs.floats / HopOutputs.ints
FLOAT_FIELDS = (
    "rms",
    "peak",
    "low",
    "mid",
    "high",
    "centroid_hz",
    "rolloff_hz",
    "flux",
    "onset",
    "loudness_lufs",
    "loudness_short_lufs",
    "bpm",
    "beat_phase",
)
INT_FIELDS = ("beat", "onset_event", "key")
(RMS, PEAK, LOW, MID, HIGH, CENTROID, ROLLOFF_HZ, FLUX, ONSET, LOUD_M, LOUD_S, BPM, PHASE) = range(len(FLOAT_FIELDS))
(BEAT, ONSET_EVENT, KEY) = range(len(INT_FIELDS))

MEL_GAIN = 1e6  # log(1 + MEL_GAIN * band power): about -60 dB of band power is where compression turns linear
ONSET_THRESHOLD = 1.6
ONSET_REFRACTORY = 3


@dataclass
class LiveState:
    """Per-stream state, one row per stream (the first axis of every array)."""

    count: I64  # hops processed
    ring: F32  # last n_fft samples
    prev_mag: F64
    prev_logmel: F64
    kw_z: F64  # K-weighting biquad states (2 per biquad)
    energy: F64  # ring of per-hop K-weighted mean squares (short-term window)
    odf_mean: F64
    onset_mean: F64
    prev_onset: F64
    last_onset: I64
    odf_hist: F64  # detrended tempo onset function, ring
    acf: F64  # running autocorrelation of odf_hist
    belief: F64  # tempo belief over the tempo grid
    evidence: F64  # last tempo evidence over the grid
    tempo_idx: I64
    bpm: F64
    cs: F64  # cumulative beat score, ring
    m0: I64  # hops until the next beat prediction
    beat_counter: I64  # hops until the predicted beat
    last_beat: I64
    key_chroma: F64
    key_idx: I64


def new_state(design: Design, streams: int) -> LiveState:
    n_bins = design.n_fft // 2 + 1
    n_tempo = design.tempo_bpm.size
    state = LiveState(
        count=np.zeros(streams, np.int64),
        ring=np.zeros((streams, design.n_fft), np.float32),
        prev_mag=np.zeros((streams, n_bins)),
        prev_logmel=np.zeros((streams, N_MEL)),
        kw_z=np.zeros((streams, 4)),
        energy=np.zeros((streams, design.short_hops)),
        odf_mean=np.zeros(streams),
        onset_mean=np.zeros(streams),
        prev_onset=np.zeros(streams),
        last_onset=np.zeros(streams, np.int64),
        odf_hist=np.zeros((streams, design.odf_ring)),
        acf=np.zeros((streams, design.acf_lags)),
        belief=np.ones((streams, n_tempo)),
        evidence=np.zeros((streams, n_tempo)),
        tempo_idx=np.zeros(streams, np.int64),
        bpm=np.zeros(streams),
        cs=np.zeros((streams, design.cs_ring)),
        m0=np.zeros(streams, np.int64),
        beat_counter=np.zeros(streams, np.int64),
        last_beat=np.zeros(streams, np.int64),
        key_chroma=np.zeros((streams, 12)),
        key_idx=np.zeros(streams, np.int64),
    )
    for s in range(streams):
        reset_row(state, s)
    return state


def reset_row(state: LiveState, s: int) -> None:
    for f in fields(state):
        arr: Any = getattr(state, f.name)
        arr[s] = 0
    state.belief[s] = 1.0
    state.tempo_idx[s] = -1
    state.last_onset[s] = -(10**9)
    state.last_beat[s] = -1
    state.key_idx[s] = -1
    state.m0[s] = 0
    state.beat_counter[s] = -1


@dataclass
class HopOutputs:
    """Outputs of one hop for every stream: ``floats[:, FLOAT_FIELDS.index(name)]`` and so on."""

    floats: F64  # (streams, len(FLOAT_FIELDS)); bpm and beat_phase are NaN while unknown
    ints: I64  # (streams, len(INT_FIELDS)); key is -1 while unknown
    chroma: F64  # (streams, 12), max-normalised
    mel: F64  # (streams, N_MEL), band mean-square power


def new_outputs(streams: int) -> HopOutputs:
    return HopOutputs(
        floats=np.zeros((streams, len(FLOAT_FIELDS))),
        ints=np.zeros((streams, len(INT_FIELDS)), np.int64),
        chroma=np.zeros((streams, 12)),
        mel=np.zeros((streams, N_MEL)),
    )


@njit(cache=True, nogil=True)
def _lufs(mean_square: float) -> float:  # pragma: no cover - compiled
    if mean_square <= 0.0:
        return LOUDNESS_FLOOR_LUFS
    value = -0.691 + 10.0 * math.log10(mean_square)
    return max(value, LOUDNESS_FLOOR_LUFS)


@njit(cache=True, nogil=True)
def _time_domain(
    block: F32,
    window: F32,
    kw: F64,
    momentary_hops: int,
    count: I64,
    ring: F32,
    kw_z: F64,
    energy: F64,
    frames: F32,
    floats: F64,
) -> None:  # pragma: no cover - compiled
    streams, hop = block.shape
    n_fft = ring.shape[1]
    short_hops = energy.shape[1]
    b0, b1, b2, a1, a2 = kw[0, 0], kw[0, 1], kw[0, 2], kw[0, 3], kw[0, 4]
    c0, c1, c2, d1, d2 = kw[1, 0], kw[1, 1], kw[1, 2], kw[1, 3], kw[1, 4]
    for s in range(streams):
        acc = 0.0
        top = 0.0
        kacc = 0.0
        z0, z1, z2, z3 = kw_z[s, 0], kw_z[s, 1], kw_z[s, 2], kw_z[s, 3]
        for i in range(hop):
            x = float(block[s, i])
            acc += x * x
            a = abs(x)
            if a > top:
                top = a
            # transposed direct form II, shelf then high-pass
            y = b0 * x + z0
            z0 = b1 * x - a1 * y + z1
            z1 = b2 * x - a2 * y
            u = c0 * y + z2
            z2 = c1 * y - d1 * u + z3
            z3 = c2 * y - d2 * u
            kacc += u * u
        kw_z[s, 0], kw_z[s, 1], kw_z[s, 2], kw_z[s, 3] = z0, z1, z2, z3
        floats[s, RMS] = math.sqrt(acc / hop)
        floats[s, PEAK] = top
        c = count[s]
        energy[s, c % short_hops] = kacc / hop
        n_m = min(c + 1, momentary_hops)
        n_s = min(c + 1, short_hops)
        sm = 0.0
        for j in range(n_m):
            sm += energy[s, (c - j) % short_hops]
        ss = sm
        for j in range(n_m, n_s):
            ss += energy[s, (c - j) % short_hops]
        floats[s, LOUD_M] = _lufs(sm / n_m)
        floats[s, LOUD_S] = _lufs(ss / n_s)
        # slide the analysis window and apply the window function
        keep = n_fft - hop
        for i in range(keep):
            ring[s, i] = ring[s, i + hop]
        for i in range(hop):
            ring[s, keep + i] = block[s, i]
        for i in range(n_fft):
            frames[s, i] = ring[s, i] * window[i]


@njit(cache=True, nogil=True)
def _rfft_rows(frames: F32) -> Any:  # pragma: no cover - compiled
    return np.fft.rfft(frames)  # rocket-fft (pocketfft) inside numba, one call for every stream


@njit(cache=True, nogil=True)
def _interp(arr: F64, s: int, x: float) -> float:  # pragma: no cover - compiled
    i = int(x)
    f = x - i
    return float(arr[s, i] * (1.0 - f) + arr[s, i + 1] * f)


@njit(cache=True, nogil=True)
def _spectral(
    spec: Any,
    sample_rate: float,
    n_fft: int,
    window_sum: float,
    window_sq_sum: float,
    band_of_bin: I64,
    mel_lo: I64,
    mel_w_lo: F64,
    mel_w_hi: F64,
    mel_tempo_weight: F64,
    chroma_lo: int,
    chroma_hi: int,
    min_rms_for_key: float,
    key_alpha: float,
    key_profiles: F64,
    count: I64,
    prev_mag: F64,
    prev_logmel: F64,
    onset_mean: F64,
    prev_onset: F64,
    last_onset: I64,
    key_chroma: F64,
    key_idx: I64,
    mag: F64,
    tempo_odf: F64,
    floats: F64,
    ints: I64,
    chroma: F64,
    mel: F64,
) -> None:  # pragma: no cover - compiled
    streams, n_bins = spec.shape
    mag_norm = 2.0 / window_sum
    pow_norm = 2.0 / (n_fft * window_sq_sum)
    bin_hz = sample_rate / n_fft
    n_mel = mel.shape[1]
    for s in range(streams):
        for m in range(n_mel):
            mel[s, m] = 0.0
        e0 = 0.0
        e1 = 0.0
        e2 = 0.0
        msum = 0.0
        fsum = 0.0
        flux = 0.0
        for k in range(n_bins):
            re = float(spec[s, k].real)
            im = float(spec[s, k].imag)
            p = re * re + im * im
            m_k = math.sqrt(p) * mag_norm
            mag[s, k] = m_k
            msum += m_k
            fsum += m_k * (k * bin_hz)
            d = m_k - prev_mag[s, k]
            flux += d * d
            prev_mag[s, k] = m_k
            pn = p * pow_norm
            b = band_of_bin[k]
            if b == 0:
                e0 += pn
            elif b == 1:
                e1 += pn
            elif b == 2:
                e2 += pn
            lo = mel_lo[k]
            if lo >= -1:
                if lo >= 0:
                    mel[s, lo] += mel_w_lo[k] * pn
                if lo + 1 < n_mel:
                    mel[s, lo + 1] += mel_w_hi[k] * pn
        floats[s, LOW] = math.sqrt(e0)
        floats[s, MID] = math.sqrt(e1)
        floats[s, HIGH] = math.sqrt(e2)
        floats[s, FLUX] = math.sqrt(flux)
        if msum > 0.0:
            floats[s, CENTROID] = fsum / msum
            target = ROLLOFF * msum
            run = 0.0
            roll = (n_bins - 1) * bin_hz
            for k in range(n_bins):
                run += mag[s, k]
                if run >= target:
                    roll = k * bin_hz
                    break
            floats[s, ROLLOFF_HZ] = roll
        else:
            floats[s, CENTROID] = 0.0
            floats[s, ROLLOFF_HZ] = 0.0
        # onset strength: mean half-wave rectified rise of log mel power
        onset = 0.0
        todf = 0.0
        wsum = 0.0
        for m in range(n_mel):
            lm = math.log1p(MEL_GAIN * mel[s, m])
            d = lm - prev_logmel[s, m]
            prev_logmel[s, m] = lm
            if count[s] == 0:
                d = 0.0
            if d > 0.0:
                onset += d
                todf += mel_tempo_weight[m] * d
            wsum += mel_tempo_weight[m]
        onset /= n_mel
        tempo_odf[s] = todf / wsum
        floats[s, ONSET] = onset
        event = 0
        if (
            onset > ONSET_THRESHOLD * onset_mean[s] + 0.01
            and onset > prev_onset[s]
            and count[s] - last_onset[s] >= ONSET_REFRACTORY
        ):
            event = 1
            last_onset[s] = count[s]
        ints[s, ONSET_EVENT] = event
        onset_mean[s] = 0.9 * onset_mean[s] + 0.1 * onset
        prev_onset[s] = onset
        # chroma from interpolated spectral peaks, cos^2 weighting around the nearest semitone
        for c in range(12):
            chroma[s, c] = 0.0
        top = 0.0
        for k in range(chroma_lo, chroma_hi + 1):
            if mag[s, k] > top:
                top = mag[s, k]
        floor = max(1e-6, 1e-3 * top)
        for k in range(chroma_lo, chroma_hi + 1):
            m_k = mag[s, k]
            if m_k > floor and m_k > mag[s, k - 1] and m_k >= mag[s, k + 1]:
                la = math.log(mag[s, k - 1] + 1e-12)
                lb = math.log(m_k + 1e-12)
                lc = math.log(mag[s, k + 1] + 1e-12)
                den = la - 2.0 * lb + lc
                off = 0.5 * (la - lc) / den if den < 0.0 else 0.0
                f = (k + off) * bin_hz
                pitch = 69.0 + 12.0 * math.log2(f / 440.0)
                nearest = math.floor(pitch + 0.5)
                w = math.cos(math.pi * (pitch - nearest))
                chroma[s, int(nearest) % 12] += m_k * w * w
        cmax = 0.0
        csum = 0.0
        for c in range(12):
            csum += chroma[s, c]
            if chroma[s, c] > cmax:
                cmax = chroma[s, c]
        if cmax > 0.0:
            for c in range(12):
                chroma[s, c] /= cmax
        if floats[s, RMS] > min_rms_for_key and csum > 0.0:
            for c in range(12):
                key_chroma[s, c] = key_alpha * key_chroma[s, c] + (1.0 - key_alpha) * chroma[s, c] * cmax / csum
            mean = 0.0
            for c in range(12):
                mean += key_chroma[s, c]
            mean /= 12.0
            best = -2.0
            best_i = -1
            for i in range(24):
                acc = 0.0
                for c in range(12):
                    acc += key_profiles[i, c] * (key_chroma[s, c] - mean)
                if acc > best:
                    best = acc
                    best_i = i
            if best > 0.0:
                key_idx[s] = best_i
        ints[s, KEY] = key_idx[s]


@njit(cache=True, nogil=True)
def _tempo_evidence(acf: F64, s: int, periods: F64, prior: F64, out: F64) -> None:  # pragma: no cover - compiled
    n_tempo = periods.size
    top = 0.0
    for i in range(n_tempo):
        p = periods[i]
        sc = 0.0
        for k in range(1, 5):
            v = _interp(acf, s, k * p)
            if v > 0.0:
                sc += v
        out[i] = sc * prior[i]
        if out[i] > top:
            top = out[i]
    if top > 0.0:
        for i in range(n_tempo):
            out[i] /= top


@njit(cache=True, nogil=True)
def _predict_beat(
    cs: F64, s: int, t: int, w1: F64, w_start: int, w_len: int, period: float, future: F64
) -> int:  # pragma: no cover - compiled
    ring = cs.shape[1]
    window = int(round(period))  # noqa: RUF046 - numba's round() typing
    best = 0.0
    best_j = window
    half = period / 2.0
    for j in range(1, window + 1):
        mx = 0.0
        for n in range(w_len):
            pos = t + j + w_start + n  # absolute hop index
            if pos > t:
                v = future[pos - t - 1]
            elif pos >= 0:
                v = cs[s, pos % ring]
            else:
                v = 0.0
            v *= w1[n]
            if v > mx:
                mx = v
        future[j - 1] = mx
        w2 = math.exp(-((j - half) ** 2) / (2.0 * half * half))
        if mx * w2 > best:
            best = mx * w2
            best_j = j
    return best_j


@njit(cache=True, nogil=True)
def _rhythm(
    tempo_odf: F64,
    odf_mean_alpha: float,
    acf_alpha: float,
    tempo_bpm: F64,
    tempo_period: F64,
    tempo_prior: F64,
    tempo_every: int,
    transition: F64,
    cs_alpha: float,
    w1: F64,
    w1_start: I64,
    w1_len: I64,
    warmup_hops: int,
    count: I64,
    odf_mean: F64,
    odf_hist: F64,
    acf: F64,
    belief: F64,
    evidence: F64,
    tempo_idx: I64,
    bpm: F64,
    cs: F64,
    m0: I64,
    beat_counter: I64,
    last_beat: I64,
    scratch: F64,
    floats: F64,
    ints: I64,
) -> None:  # pragma: no cover - compiled
    streams = tempo_odf.size
    ring = odf_hist.shape[1]
    lags = acf.shape[1]
    n_tempo = tempo_bpm.size
    span = (transition.size - 1) // 2
    cs_ring = cs.shape[1]
    for s in range(streams):
        t = count[s]
        o = tempo_odf[s]
        d = o - odf_mean[s]
        odf_mean[s] = odf_mean_alpha * odf_mean[s] + (1.0 - odf_mean_alpha) * o
        odf_hist[s, t % ring] = d
        top_lag = min(lags, t + 1)
        for lag in range(top_lag):
            acf[s, lag] = acf_alpha * acf[s, lag] + (1.0 - acf_alpha) * d * odf_hist[s, (t - lag) % ring]
        # tempo: evidence from the comb-filtered autocorrelation, smoothed by a forward max-product pass
        if t >= warmup_hops and (t + s) % tempo_every == 0 and acf[s, 0] > 1e-9:
            _tempo_evidence(acf, s, tempo_period, tempo_prior, scratch)
            top = 0.0
            for i in range(n_tempo):
                mx = 0.0
                for j in range(max(0, i - span), min(n_tempo, i + span + 1)):
                    v = belief[s, j] * transition[j - i + span]
                    if v > mx:
                        mx = v
                evidence[s, i] = scratch[i]
                scratch[i] = mx * (0.05 + scratch[i])
                if scratch[i] > top:
                    top = scratch[i]
            best = 0
            for i in range(n_tempo):
                belief[s, i] = scratch[i] / top
                if belief[s, i] == 1.0:
                    best = i
            tempo_idx[s] = best
            # refine the reported tempo between grid points (parabola on the evidence)
            refined = tempo_bpm[best]
            if 0 < best < n_tempo - 1:
                ya = evidence[s, best - 1]
                yb = evidence[s, best]
                yc = evidence[s, best + 1]
                den = ya - 2.0 * yb + yc
                if den < 0.0:
                    off = 0.5 * (ya - yc) / den
                    if -1.0 < off < 1.0:
                        refined = tempo_bpm[best] * (tempo_bpm[1] / tempo_bpm[0]) ** off
            bpm[s] = refined
        idx = tempo_idx[s]
        beat = 0
        if idx >= 0:
            period = tempo_period[idx]
            start = w1_start[idx]
            mx = 0.0
            for n in range(w1_len[idx]):
                pos = t + start + n
                if pos >= 0:
                    v = cs[s, pos % cs_ring] * w1[idx, n]
                    if v > mx:
                        mx = v
            cs[s, t % cs_ring] = (1.0 - cs_alpha) * o + cs_alpha * mx
            m0[s] -= 1
            beat_counter[s] -= 1
            if m0[s] <= 0:
                ahead = _predict_beat(cs, s, t, w1[idx], start, w1_len[idx], period, scratch)
                beat_counter[s] = ahead
                m0[s] = ahead + int(round(period / 2.0))  # noqa: RUF046 - numba's round() typing
            if beat_counter[s] == 0:
                beat = 1
                last_beat[s] = t
            floats[s, BPM] = bpm[s]
            if last_beat[s] >= 0:
                phase = (t - last_beat[s] + 0.5) / period
                floats[s, PHASE] = min(phase, 0.999)
            else:
                floats[s, PHASE] = math.nan
        else:
            cs[s, t % cs_ring] = (1.0 - cs_alpha) * o
            floats[s, BPM] = math.nan
            floats[s, PHASE] = math.nan
        ints[s, BEAT] = beat
        count[s] = t + 1


class LiveAnalyzer:
    """Batched causal analysis: ``process(block)`` advances ``streams`` streams by one hop each.

    ``block`` is float32 of shape ``(streams, hop)``; ``hop`` is ``sample_rate / 60`` (800 at 48 kHz).
    The spectrum uses an ``n_fft``-sample Hann window (2048 at 48 kHz) that slides by one hop.
    """

    def __init__(self, sample_rate: int, streams: int) -> None:
        if streams < 1:
            raise ValueError(f"streams must be at least 1, got {streams}")
        self.design = make_design(sample_rate)
        self.sample_rate = sample_rate
        self.streams = streams
        self.hop = self.design.hop
        self.state = new_state(self.design, streams)
        self.outputs = new_outputs(streams)
        d = self.design
        self._frames = np.zeros((streams, d.n_fft), np.float32)
        self._mag = np.zeros((streams, d.n_fft // 2 + 1))
        self._tempo_odf = np.zeros(streams)
        self._scratch = np.zeros(max(d.tempo_bpm.size, int(math.ceil(d.tempo_period.max())) + 2))  # noqa: RUF046 - numba's round() typing
        self._window_sum = float(np.sum(d.window, dtype=np.float64))
        self._window_sq_sum = float(np.sum(d.window.astype(np.float64) ** 2))

    def reset(self, stream_index: int) -> None:
        """Forget everything about one slot so a new stream can use it."""
        if not 0 <= stream_index < self.streams:
            raise IndexError(f"stream_index {stream_index} out of range 0..{self.streams - 1}")
        reset_row(self.state, stream_index)

    def process_arrays(self, block: F32) -> HopOutputs:
        """Advance every stream by one hop; results as arrays (the fast path, reused between calls)."""
        if block.shape != (self.streams, self.hop):
            raise ValueError(f"block must be (streams, hop) = {(self.streams, self.hop)}, got {block.shape}")
        block = np.ascontiguousarray(block, dtype=np.float32)
        d, st, out = self.design, self.state, self.outputs
        _time_domain(
            block, d.window, d.kw, d.momentary_hops, st.count, st.ring, st.kw_z, st.energy, self._frames, out.floats
        )
        spec = _rfft_rows(self._frames)
        _spectral_batched(spec, self, d, st, out)
        return out

    def process(self, block: F32) -> list[dict[str, Any]]:
        """Advance every stream by one hop; one ``visual``-frame mapping per stream (plain Python values)."""
        out = self.process_arrays(block)
        floats = out.floats.tolist()
        ints = out.ints.tolist()
        chroma = np.round(out.chroma, 4).tolist()
        result = []
        for s in range(self.streams):
            f = floats[s]
            i = ints[s]
            bpm = f[BPM]
            phase = f[PHASE]
            result.append(
                {
                    "rms": f[RMS],
                    "peak": f[PEAK],
                    "bpm": None if bpm != bpm else round(bpm, 2),
                    "beat": bool(i[BEAT]),
                    "beat_phase": None if phase != phase else phase,
                    "onset": f[ONSET],
                    "onset_event": bool(i[ONSET_EVENT]),
                    "energy": {"low": f[LOW], "mid": f[MID], "high": f[HIGH]},
                    "loudness_lufs": f[LOUD_M],
                    "loudness_short_lufs": f[LOUD_S],
                    "centroid_hz": f[CENTROID],
                    "rolloff_hz": f[ROLLOFF_HZ],
                    "flux": f[FLUX],
                    "chroma": chroma[s],
                    "key": key_name(i[KEY]),
                }
            )
        return result


def _spectral_batched(spec: Any, an: LiveAnalyzer, d: Design, st: LiveState, out: HopOutputs) -> None:
    _spectral(
        spec,
        float(d.sample_rate),
        d.n_fft,
        an._window_sum,
        an._window_sq_sum,
        d.band_of_bin,
        d.mel_lo,
        d.mel_w_lo,
        d.mel_w_hi,
        d.mel_tempo_weight,
        d.chroma_lo_bin,
        d.chroma_hi_bin,
        d.min_rms_for_key,
        d.key_alpha,
        d.key_profiles,
        st.count,
        st.prev_mag,
        st.prev_logmel,
        st.onset_mean,
        st.prev_onset,
        st.last_onset,
        st.key_chroma,
        st.key_idx,
        an._mag,
        an._tempo_odf,
        out.floats,
        out.ints,
        out.chroma,
        out.mel,
    )
    _rhythm(
        an._tempo_odf,
        d.odf_mean_alpha,
        d.acf_alpha,
        d.tempo_bpm,
        d.tempo_period,
        d.tempo_prior,
        d.tempo_every,
        d.tempo_transition,
        d.cs_alpha,
        d.w1,
        d.w1_start,
        d.w1_len,
        d.warmup_hops,
        st.count,
        st.odf_mean,
        st.odf_hist,
        st.acf,
        st.belief,
        st.evidence,
        st.tempo_idx,
        st.bpm,
        st.cs,
        st.m0,
        st.beat_counter,
        st.last_beat,
        an._scratch,
        out.floats,
        out.ints,
    )
