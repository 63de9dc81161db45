"""Rhythm: onset strength and onset events, tempo, and beat tracking, per stream and causal.

:func:`onsets` turns the rise of the log mel bands into an onset strength (an output, plus onset events) and a
tempo onset function; :func:`tempo_and_beats` runs that function through a running autocorrelation and a comb
filter to a tempo belief, and a BTrack-style cumulative score predicts the next beat half a period ahead.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.state import BEAT, BPM, FASTMATH, ONSET, ONSET_EVENT, PHASE

__all__ = ["MEL_GAIN", "ONSET_REFRACTORY", "ONSET_THRESHOLD", "onsets", "tempo_and_beats"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MEL_GAIN = 1e6  # log(1 + MEL_GAIN * band power): about -60 dB of band power is where compression turns linear
ONSET_THRESHOLD = 1.6  # an onset event needs this many times the stream's recent mean onset strength
ONSET_REFRACTORY = 3  # hops (50 ms) between onset events


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def onsets(
    rows: I64,
    mel: F64,
    tempo_odf: F64,
    floats: F64,
    ints: I64,
    mel_tempo_weight: F64,
    count: I64,
    prev_logmel: F64,
    onset_mean: F64,
    prev_onset: F64,
    last_onset: I64,
) -> None:  # pragma: no cover - compiled
    """Onset strength and onset event of each listed row, and its tempo onset function value in ``tempo_odf``."""
    n_mel = mel.shape[1]
    wsum = 0.0
    for m in range(n_mel):
        wsum += mel_tempo_weight[m]
    for r in range(rows.size):
        s = rows[r]
        # onset strength: mean half-wave rectified rise of log mel power
        onset = 0.0
        todf = 0.0
        first = count[s] == 0  # no previous frame: a stream's first hop is no onset
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


@njit(cache=True, nogil=True)
def _interp(arr: F64, s: int, x: float) -> float:  # pragma: no cover - compiled
    """Row ``s`` of ``arr`` at fractional index ``x`` (linear): tempo periods fall between autocorrelation lags."""
    i = int(x)
    f = x - i
    return float(arr[s, i] * (1.0 - f) + arr[s, i + 1] * f)


@njit(cache=True, nogil=True)
def _tempo_evidence(acf: F64, s: int, periods: F64, prior: F64, out: F64) -> None:  # pragma: no cover - compiled
    """Comb evidence of each tempo (positive autocorrelation at 1..4 periods) times the prior, max-normalised.

    Summing four multiples of the period favours the tempo whose whole pulse train fits, not just one lag.
    """
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
    """Hops from ``t`` to the next beat: the cumulative score extended one period into the future (no new onsets),
    weighted by a Gaussian around half a period ahead (BTrack's beat prediction). ``future`` is scratch."""
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
def tempo_and_beats(
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
    """Tempo and beats of each listed row from its tempo onset function value; advances the stream's hop count.

    Runs last of the stages: the others read ``count`` as the index of the hop being processed.
    """
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
