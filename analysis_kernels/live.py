"""Causal analysis of many streams at once: one ``process`` call advances every stream by one hop.

State lives in explicit arrays (one row per stream, see :class:`LiveState`), so a slot can be reset and
reused, and the numba kernel is a pure function of (block, design, state) -> outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
# slot indices for subset processing: an integer array or a sequence of ints
RowsLike = npt.NDArray[np.integer[Any]] | Sequence[int]

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

# rows per pass through every stage: frames (8 KiB each) and spectra of a chunk stay in L2
CHUNK = 32
# key index -> name, with -1 (no key yet) -> None, for process()
_KEY_NAMES: dict[int, str | None] = {k: key_name(k) for k in range(-1, 24)}
MEL_GAIN = 1e6  # log(1 + MEL_GAIN * band power): about -60 dB of band power is where compression turns linear
ONSET_THRESHOLD = 1.6
ONSET_REFRACTORY = 3
# chroma peaks count from this fraction of the strongest peak in 80 Hz-5 kHz (-60 dB); -40 dB measured no faster
# and cost the offline key 1.7 points on the corpus
CHROMA_FLOOR = 1e-3
# reassociation (vectorised sums) and FMA contraction; never nnan/ninf: NaN marks "unknown" in the outputs
_FAST = {"reassoc", "contract", "nsz", "arcp"}


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
    odf_hist: F64  # detrended tempo onset function, ring stored twice over (2 * odf_ring)
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
    key_frames: I64  # chroma frames averaged into key_chroma so far
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
        odf_hist=np.zeros((streams, 2 * design.odf_ring)),
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
        key_frames=np.zeros(streams, np.int64),
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
def _interp(arr: F64, s: int, x: float) -> float:  # pragma: no cover - compiled
    i = int(x)
    f = x - i
    return float(arr[s, i] * (1.0 - f) + arr[s, i + 1] * f)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _kweight_lanes(
    block: F32, r: int, lanes: int, rows: I64, kw: F64, kw_z: F64, sums: F64
) -> None:  # pragma: no cover - compiled
    """Mean square, peak and K-weighted energy of ``lanes`` (1..4) rows at once.

    The two biquads are a serial chain per sample (latency-bound); four independent streams interleaved in one
    loop keep the FMA units busy, about twice the throughput of one stream at a time. Missing lanes repeat row r.
    """
    hop = block.shape[1]
    b0, b1, b2, a1, a2 = kw[0, 0], kw[0, 1], kw[0, 2], kw[0, 3], kw[0, 4]
    c0, c1, c2, d1, d2 = kw[1, 0], kw[1, 1], kw[1, 2], kw[1, 3], kw[1, 4]
    ra = r
    rb = r + 1 if lanes > 1 else r
    rc = r + 2 if lanes > 2 else r
    rd = r + 3 if lanes > 3 else r
    sa, sb, sc, sd = rows[ra], rows[rb], rows[rc], rows[rd]
    pa, qa, ua, va = kw_z[sa, 0], kw_z[sa, 1], kw_z[sa, 2], kw_z[sa, 3]
    pb, qb, ub, vb = kw_z[sb, 0], kw_z[sb, 1], kw_z[sb, 2], kw_z[sb, 3]
    pc, qc, uc, vc = kw_z[sc, 0], kw_z[sc, 1], kw_z[sc, 2], kw_z[sc, 3]
    pd, qd, ud, vd = kw_z[sd, 0], kw_z[sd, 1], kw_z[sd, 2], kw_z[sd, 3]
    ma = mb = mc = md = 0.0
    ta = tb = tc = td = 0.0
    ka = kb = kc = kd = 0.0
    for i in range(hop):
        # transposed direct form II, shelf (p, q) then high-pass (u, v), per lane
        x = float(block[ra, i])
        ma += x * x
        ta = max(ta, abs(x))
        y = b0 * x + pa
        pa = b1 * x - a1 * y + qa
        qa = b2 * x - a2 * y
        w = c0 * y + ua
        ua = c1 * y - d1 * w + va
        va = c2 * y - d2 * w
        ka += w * w
        x = float(block[rb, i])
        mb += x * x
        tb = max(tb, abs(x))
        y = b0 * x + pb
        pb = b1 * x - a1 * y + qb
        qb = b2 * x - a2 * y
        w = c0 * y + ub
        ub = c1 * y - d1 * w + vb
        vb = c2 * y - d2 * w
        kb += w * w
        x = float(block[rc, i])
        mc += x * x
        tc = max(tc, abs(x))
        y = b0 * x + pc
        pc = b1 * x - a1 * y + qc
        qc = b2 * x - a2 * y
        w = c0 * y + uc
        uc = c1 * y - d1 * w + vc
        vc = c2 * y - d2 * w
        kc += w * w
        x = float(block[rd, i])
        md += x * x
        td = max(td, abs(x))
        y = b0 * x + pd
        pd = b1 * x - a1 * y + qd
        qd = b2 * x - a2 * y
        w = c0 * y + ud
        ud = c1 * y - d1 * w + vd
        vd = c2 * y - d2 * w
        kd += w * w
    # write back in reverse so the real lane (written last) wins where missing lanes repeat row r
    kw_z[sd, 0], kw_z[sd, 1], kw_z[sd, 2], kw_z[sd, 3] = pd, qd, ud, vd
    sums[rd, 0], sums[rd, 1], sums[rd, 2] = md, td, kd
    kw_z[sc, 0], kw_z[sc, 1], kw_z[sc, 2], kw_z[sc, 3] = pc, qc, uc, vc
    sums[rc, 0], sums[rc, 1], sums[rc, 2] = mc, tc, kc
    kw_z[sb, 0], kw_z[sb, 1], kw_z[sb, 2], kw_z[sb, 3] = pb, qb, ub, vb
    sums[rb, 0], sums[rb, 1], sums[rb, 2] = mb, tb, kb
    kw_z[sa, 0], kw_z[sa, 1], kw_z[sa, 2], kw_z[sa, 3] = pa, qa, ua, va
    sums[ra, 0], sums[ra, 1], sums[ra, 2] = ma, ta, ka


@njit(cache=True, nogil=True, fastmath=_FAST)
def _ring_sum(ring: F64, s: int, last: int, n: int) -> float:  # pragma: no cover - compiled
    """Sum of the ``n`` latest entries of row ``s`` of a ring whose newest entry is at absolute index ``last``."""
    size = ring.shape[1]
    end = last % size + 1
    start = end - n
    acc = 0.0
    if start < 0:
        for i in range(size + start, size):
            acc += ring[s, i]
        start = 0
    for i in range(start, end):
        acc += ring[s, i]
    return acc


@njit(cache=True, nogil=True, fastmath=_FAST)
def _time_domain(
    block: F32,
    rows: I64,
    sums: F64,
    frames: F32,
    floats: F64,
    window: F32,
    kw: F64,
    momentary_hops: int,
    count: I64,
    ring: F32,
    kw_z: F64,
    energy: F64,
) -> None:  # pragma: no cover - compiled
    """RMS, peak, K-weighted loudness and the windowed frame of each listed row (state row ``rows[r]``)."""
    n, hop = block.shape
    n_fft = ring.shape[1]
    short_hops = energy.shape[1]
    for r in range(0, n, 4):
        _kweight_lanes(block, r, min(4, n - r), rows, kw, kw_z, sums)
    for r in range(n):
        s = rows[r]  # state row; block, frames and outputs are indexed by r
        floats[r, RMS] = math.sqrt(sums[r, 0] / hop)
        floats[r, PEAK] = sums[r, 1]
        c = count[s]
        energy[s, c % short_hops] = sums[r, 2] / hop
        n_m = min(c + 1, momentary_hops)
        n_s = min(c + 1, short_hops)
        floats[r, LOUD_M] = _lufs(_ring_sum(energy, s, c, n_m) / n_m)
        floats[r, LOUD_S] = _lufs(_ring_sum(energy, s, c, n_s) / n_s)
        # slide the analysis window and apply the window function
        keep = n_fft - hop
        for i in range(keep):
            ring[s, i] = ring[s, i + hop]
        for i in range(hop):
            ring[s, keep + i] = block[r, i]
        for i in range(n_fft):
            frames[r, i] = ring[s, i] * window[i]


_SEMITONES_PER_LN = 12.0 / math.log(2.0)


@njit(cache=True, nogil=True)
def _log1p_small(x: float) -> float:  # pragma: no cover - compiled
    """log(1 + x) for |x| <= 0.125 (a peak offset over its bin number), series to 1e-10; no libm call."""
    return x * (
        1.0
        + x
        * (
            -1.0 / 2
            + x
            * (
                1.0 / 3
                + x
                * (
                    -1.0 / 4
                    + x * (1.0 / 5 + x * (-1.0 / 6 + x * (1.0 / 7 + x * (-1.0 / 8 + x * (1.0 / 9 + x * (-1.0 / 10))))))
                )
            )
        )
    )


@njit(cache=True, nogil=True)
def _cos2_pi(x: float) -> float:  # pragma: no cover - compiled
    """cos(pi x)^2 for |x| <= 0.5 (Taylor series of cos to u^16, error below 1e-12); no libm call."""
    u = math.pi * x
    u2 = u * u
    c = 1.0 + u2 * (
        -1.0 / 2
        + u2
        * (
            1.0 / 24
            + u2
            * (
                -1.0 / 720
                + u2 * (1.0 / 40320 + u2 * (-1.0 / 3628800 + u2 * (1.0 / 479001600 + u2 * (-1.0 / 87178291200))))
            )
        )
    )
    c += u2**8 / 20922789888000.0
    return c * c


@njit(cache=True, nogil=True, fastmath=_FAST)
def _rolloff_bin(mag: F64, r: int, target: float) -> int:  # pragma: no cover - compiled
    """First bin where the running sum of ``mag[r]`` reaches ``target``: vectorised 16-bin block sums, then a scan."""
    n: int = mag.shape[1]
    run = 0.0
    k0 = 0
    while k0 + 16 <= n:
        block = 0.0
        for k in range(k0, k0 + 16):
            block += mag[r, k]
        if run + block >= target:
            break
        run += block
        k0 += 16
    for k in range(k0, n):
        run += mag[r, k]
        if run >= target:
            return k
    return n - 1


@njit(cache=True, nogil=True, fastmath=_FAST)
def _spectral(
    spec: Any,
    rows: I64,
    mag: F64,
    tempo_odf: F64,
    floats: F64,
    ints: I64,
    chroma: F64,
    mel: F64,
    sample_rate: float,
    n_fft: int,
    window_sum: float,
    window_sq_sum: float,
    band_start: I64,
    mel_seg: I64,
    mel_w_lo: F64,
    mel_w_hi: F64,
    mel_tempo_weight: F64,
    chroma_lo: int,
    chroma_hi: int,
    pitch_of_bin: F64,
    min_rms_for_key: float,
    key_window_hops: int,
    key_profiles: F64,
    count: I64,
    prev_mag: F64,
    prev_logmel: F64,
    onset_mean: F64,
    prev_onset: F64,
    last_onset: I64,
    key_chroma: F64,
    key_frames: I64,
    key_idx: I64,
    power: F64,
    peaks: I64,
) -> None:  # pragma: no cover - compiled
    """Spectral features of each listed row; written as contiguous loops over bins so LLVM vectorises them."""
    n_bins = spec.shape[1]
    mag_norm = 2.0 / window_sum
    pow_norm = 2.0 / (n_fft * window_sq_sum)
    bin_hz = sample_rate / n_fft
    n_mel = mel.shape[1]
    wsum = 0.0
    for m in range(n_mel):
        wsum += mel_tempo_weight[m]
    for r in range(rows.size):
        s = rows[r]
        msum = 0.0
        fsum = 0.0
        flux = 0.0
        for k in range(n_bins):
            re = float(spec[r, k].real)
            im = float(spec[r, k].imag)
            p = re * re + im * im
            power[k] = p
            m_k = math.sqrt(p) * mag_norm
            mag[r, k] = m_k
            msum += m_k
            fsum += m_k * k
            d = m_k - prev_mag[s, k]
            flux += d * d
            prev_mag[s, k] = m_k
        fsum *= bin_hz
        e = 0.0
        for b in range(3):
            e = 0.0
            for k in range(band_start[b], band_start[b + 1]):
                e += power[k]
            floats[r, LOW + b] = math.sqrt(e * pow_norm)
        # triangular mel bands: segment j feeds band j - 1 (falling edge) and band j (rising edge)
        carry = 0.0
        for j in range(mel_seg.size - 1):
            lo = 0.0
            hi = 0.0
            for k in range(mel_seg[j], mel_seg[j + 1]):
                lo += mel_w_lo[k] * power[k]
                hi += mel_w_hi[k] * power[k]
            if j >= 1:
                mel[r, j - 1] = (carry + lo) * pow_norm
            carry = hi
        floats[r, FLUX] = math.sqrt(flux)
        if msum > 0.0:
            floats[r, CENTROID] = fsum / msum
            floats[r, ROLLOFF_HZ] = _rolloff_bin(mag, r, ROLLOFF * msum) * bin_hz
        else:
            floats[r, CENTROID] = 0.0
            floats[r, ROLLOFF_HZ] = 0.0
        # onset strength: mean half-wave rectified rise of log mel power
        onset = 0.0
        todf = 0.0
        first = count[s] == 0
        for m in range(n_mel):
            lm = math.log1p(MEL_GAIN * mel[r, m])
            d = lm - prev_logmel[s, m]
            prev_logmel[s, m] = lm
            if first:
                d = 0.0
            d = max(d, 0.0)
            onset += d
            todf += mel_tempo_weight[m] * d
        onset /= n_mel
        tempo_odf[r] = todf / wsum
        floats[r, ONSET] = onset
        event = 0
        if (
            onset > ONSET_THRESHOLD * onset_mean[s] + 0.01
            and onset > prev_onset[s]
            and count[s] - last_onset[s] >= ONSET_REFRACTORY
        ):
            event = 1
            last_onset[s] = count[s]
        ints[r, ONSET_EVENT] = event
        onset_mean[s] = 0.9 * onset_mean[s] + 0.1 * onset
        prev_onset[s] = onset
        # chroma from interpolated spectral peaks, cos^2 weighting around the nearest semitone
        for c in range(12):
            chroma[r, c] = 0.0
        top = 0.0
        for k in range(chroma_lo, chroma_hi + 1):
            top = max(top, mag[r, k])
        floor = max(1e-6, CHROMA_FLOOR * top)
        # peak picking without branches (noise makes the peak test unpredictable): indices first, then the peaks
        n_peaks = 0
        for k in range(chroma_lo, chroma_hi + 1):
            m_k = mag[r, k]
            peaks[n_peaks] = k
            n_peaks += int((m_k > floor) & (m_k > mag[r, k - 1]) & (m_k >= mag[r, k + 1]))
        for q in range(n_peaks):
            k = peaks[q]
            m_k = mag[r, k]
            # log-parabolic peak offset 0.5 (la - lc) / (la - 2 lb + lc), with two logs instead of three
            a = mag[r, k - 1] + 1e-12
            b = m_k + 1e-12
            c = mag[r, k + 1] + 1e-12
            den = math.log(a * c / (b * b))
            off = 0.5 * math.log(a / c) / den if den < 0.0 else 0.0
            pitch = pitch_of_bin[k] + _SEMITONES_PER_LN * _log1p_small(off / k)
            nearest = math.floor(pitch + 0.5)
            chroma[r, int(nearest) % 12] += m_k * _cos2_pi(pitch - nearest)
        cmax = 0.0
        csum = 0.0
        for c in range(12):
            csum += chroma[r, c]
            cmax = max(cmax, chroma[r, c])
        if cmax > 0.0:
            for c in range(12):
                chroma[r, c] /= cmax
        if floats[r, RMS] > min_rms_for_key and csum > 0.0:
            # a plain running mean while the stream is young, then a leaky mean over key_window_hops: settles fast,
            # then follows a key change within about half a minute
            key_frames[s] += 1
            a = max(1.0 / key_frames[s], 1.0 / key_window_hops)
            for c in range(12):
                key_chroma[s, c] += a * (chroma[r, c] * cmax / csum - key_chroma[s, c])
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
        ints[r, KEY] = key_idx[s]


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
    rows: I64,
    tempo_odf: F64,
    floats: F64,
    ints: I64,
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
) -> None:  # pragma: no cover - compiled
    ring = odf_hist.shape[1] // 2  # every value is stored twice (pos and pos + ring): lags read one contiguous run
    lags = acf.shape[1]
    n_tempo = tempo_bpm.size
    span = (transition.size - 1) // 2
    cs_ring = cs.shape[1]
    for r in range(rows.size):
        s = rows[r]
        t = count[s]
        o = tempo_odf[r]
        d = o - odf_mean[s]
        odf_mean[s] = odf_mean_alpha * odf_mean[s] + (1.0 - odf_mean_alpha) * o
        pos = t % ring
        odf_hist[s, pos] = d
        odf_hist[s, pos + ring] = d
        top_lag = min(lags, t + 1)
        gain = (1.0 - acf_alpha) * d
        newest = pos + ring
        for lag in range(top_lag):
            acf[s, lag] = acf_alpha * acf[s, lag] + gain * odf_hist[s, newest - lag]
        # tempo: evidence from the comb-filtered autocorrelation, smoothed by a forward max-product pass
        # every tempo_every-th hop of the stream's own clock, so a slot's results never depend on its index
        # (streams join at different hops, which spreads the work over calls)
        if t >= warmup_hops and t % tempo_every == 0 and acf[s, 0] > 1e-9:
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
            floats[r, BPM] = bpm[s]
            if last_beat[s] >= 0:
                phase = (t - last_beat[s] + 0.5) / period
                floats[r, PHASE] = min(phase, 0.999)
            else:
                floats[r, PHASE] = math.nan
        else:
            cs[s, t % cs_ring] = (1.0 - cs_alpha) * o
            floats[r, BPM] = math.nan
            floats[r, PHASE] = math.nan
        ints[r, BEAT] = beat
        count[s] = t + 1


@njit(cache=True, nogil=True)
def _advance(
    block: F32,
    rows: I64,
    chunk: int,
    sums: F64,
    frames: F32,
    mag: F64,
    tempo_odf: F64,
    floats: F64,
    ints: I64,
    chroma: F64,
    mel: F64,
    td: Any,
    sp: Any,
    rh: Any,
) -> None:  # pragma: no cover - compiled
    """Every stage for ``chunk`` rows at a time, so frames and spectra stay in cache between stages.

    ``td``, ``sp`` and ``rh`` are the stages' constant arguments (design and state arrays) as tuples.
    """
    n = rows.size
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        m = c1 - c0
        rr = rows[c0:c1]
        fl = floats[c0:c1]
        it = ints[c0:c1]
        _time_domain(block[c0:c1], rr, sums[:m], frames[:m], fl, *td)
        spec = np.fft.rfft(frames[:m])  # rocket-fft (pocketfft) inside numba, one call per chunk
        _spectral(spec, rr, mag[:m], tempo_odf[:m], fl, it, chroma[c0:c1], mel[c0:c1], *sp)
        _rhythm(rr, tempo_odf[:m], fl, it, *rh)


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
        d, st = self.design, self.state
        # scratch for one chunk of rows (the kernels run every stage on CHUNK rows before the next chunk)
        rows = min(streams, CHUNK)
        self._frames = np.zeros((rows, d.n_fft), np.float32)
        self._mag = np.zeros((rows, d.n_fft // 2 + 1))
        self._power = np.zeros(d.n_fft // 2 + 1)
        self._peaks = np.zeros(d.n_fft // 2 + 1, np.int64)
        self._sums = np.zeros((rows, 3))
        self._tempo_odf = np.zeros(rows)
        self._scratch = np.zeros(max(d.tempo_bpm.size, int(math.ceil(d.tempo_period.max())) + 2))  # noqa: RUF046 - numba's round() typing
        window_sum = float(np.sum(d.window, dtype=np.float64))
        window_sq_sum = float(np.sum(d.window.astype(np.float64) ** 2))
        self._all_rows = np.arange(streams, dtype=np.int64)
        # the stages' constant arguments: design and state arrays (state rows are updated in place)
        self._td = (d.window, d.kw, d.momentary_hops, st.count, st.ring, st.kw_z, st.energy)
        self._sp = (
            float(d.sample_rate),
            d.n_fft,
            window_sum,
            window_sq_sum,
            d.band_start,
            d.mel_seg,
            d.mel_w_lo,
            d.mel_w_hi,
            d.mel_tempo_weight,
            d.chroma_lo_bin,
            d.chroma_hi_bin,
            d.pitch_of_bin,
            d.min_rms_for_key,
            d.key_window_hops,
            d.live_key_profiles,
            st.count,
            st.prev_mag,
            st.prev_logmel,
            st.onset_mean,
            st.prev_onset,
            st.last_onset,
            st.key_chroma,
            st.key_frames,
            st.key_idx,
            self._power,
            self._peaks,
        )
        self._rh = (
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
            self._scratch,
        )

    def reset(self, stream_index: int) -> None:
        """Forget everything about one slot so a new stream can use it."""
        if not 0 <= stream_index < self.streams:
            raise IndexError(f"stream_index {stream_index} out of range 0..{self.streams - 1}")
        reset_row(self.state, stream_index)

    def _check_rows(self, block: F32, rows: RowsLike | None) -> I64:
        """The slot indices a call advances, validated: 1-D, integer, distinct, in ``[0, streams)``."""
        if rows is None:
            if block.shape != (self.streams, self.hop):
                raise ValueError(f"block must be (streams, hop) = {(self.streams, self.hop)}, got {block.shape}")
            return self._all_rows
        arr = np.asarray(rows)
        if arr.ndim != 1:
            raise ValueError(f"rows must be 1-D, got shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iu":
            raise ValueError(f"rows must be integers, got dtype {arr.dtype}")
        idx = arr.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.streams):
            raise ValueError(f"rows must lie in 0..{self.streams - 1}")
        if np.unique(idx).size != idx.size:
            raise ValueError("rows must be distinct")
        if block.shape != (idx.size, self.hop):
            raise ValueError(f"block must be (len(rows), hop) = {(idx.size, self.hop)}, got {block.shape}")
        return idx

    def process_arrays(self, block: F32, rows: RowsLike | None = None) -> HopOutputs:
        """Advance streams by one hop; results as arrays (the fast path, buffers reused between calls).

        With ``rows`` (distinct slot indices), ``block`` is ``(len(rows), hop)``: only those slots advance, and
        output row ``r`` belongs to slot ``rows[r]``; the other slots are not touched and cost nothing.
        """
        idx = self._check_rows(block, rows)
        n = idx.size
        out = self.outputs
        if n < self.streams:
            # views of the first n rows of the full buffers: contiguous, no allocation of new buffers
            out = HopOutputs(floats=out.floats[:n], ints=out.ints[:n], chroma=out.chroma[:n], mel=out.mel[:n])
        if n == 0:
            return out
        block = np.ascontiguousarray(block, dtype=np.float32)
        _advance(
            block,
            idx,
            self._frames.shape[0],
            self._sums,
            self._frames,
            self._mag,
            self._tempo_odf,
            out.floats,
            out.ints,
            out.chroma,
            out.mel,
            self._td,
            self._sp,
            self._rh,
        )
        return out

    def process(self, block: F32, rows: RowsLike | None = None) -> list[dict[str, Any]]:
        """Advance streams by one hop; one ``visual``-frame mapping per stream (or per ``rows`` entry, in order).

        Built column by column (one ``tolist`` per field, one dict literal per row) so the Python side costs about
        a microsecond per stream; ``process_arrays`` stays the fast path for callers that read arrays.
        """
        out = self.process_arrays(block, rows)
        f = out.floats.T.tolist()
        i = out.ints.T.tolist()
        bpm = [None if v != v else round(v, 2) for v in f[BPM]]
        phase = [None if v != v else v for v in f[PHASE]]
        keys = [_KEY_NAMES[k] for k in i[KEY]]
        chroma = np.round(out.chroma, 4).tolist()
        return [
            {
                "rms": rms,
                "peak": peak,
                "bpm": bp,
                "beat": beat == 1,
                "beat_phase": ph,
                "onset": onset,
                "onset_event": event == 1,
                "energy": {"low": low, "mid": mid, "high": high},
                "loudness_lufs": lm,
                "loudness_short_lufs": ls,
                "centroid_hz": cen,
                "rolloff_hz": roll,
                "flux": flux,
                "chroma": ch,
                "key": key,
            }
            for rms, peak, bp, beat, ph, onset, event, low, mid, high, lm, ls, cen, roll, flux, ch, key in zip(
                f[RMS],
                f[PEAK],
                bpm,
                i[BEAT],
                phase,
                f[ONSET],
                i[ONSET_EVENT],
                f[LOW],
                f[MID],
                f[HIGH],
                f[LOUD_M],
                f[LOUD_S],
                f[CENTROID],
                f[ROLLOFF_HZ],
                f[FLUX],
                chroma,
                keys,
                strict=True,
            )
        ]


@njit(cache=True, nogil=True)
def _rfft(frames: F32) -> Any:  # pragma: no cover - compiled
    return np.fft.rfft(frames)
