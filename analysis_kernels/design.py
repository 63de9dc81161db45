"""Parameters of the live analysis, derived from the sample rate (numpy only, computed once per analyzer).

Everything the numba kernels and the numpy references share lives here, so both read the same
filter coefficients, band edges and tempo grid and differ only in how they compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "BGATE_MAJOR",
    "BGATE_MINOR",
    "KEY_NAMES",
    "MAJOR_PROFILE",
    "MINOR_PROFILE",
    "Design",
    "key_name",
    "kweighting_coefficients",
    "make_design",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

HOPS_PER_SECOND = 60
N_MEL = 40
BPM_MIN = 60.0
BPM_MAX = 200.0
TEMPO_BINS_PER_OCTAVE = 64
LOW_MID_HZ = 250.0
MID_HIGH_HZ = 4000.0
CHROMA_MIN_HZ = 80.0
CHROMA_MAX_HZ = 5000.0
ROLLOFF = 0.85
LOUDNESS_FLOOR_LUFS = -70.0

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEY_NAMES = tuple(f"{pc} major" for pc in PITCH_CLASSES) + tuple(f"{pc} minor" for pc in PITCH_CLASSES)
# Krumhansl-Kessler probe-tone key profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Gomez's "bgate" profiles (essentia Key profileType="bgate"), tonic first: the live key uses them. On our corpus
# they beat Krumhansl-Kessler for the running average (80.7 vs 74.6 MIREX, see docs/ANALYSIS.md); the offline key
# (a whole-track mean) keeps Krumhansl-Kessler, which measured better there.
BGATE_MAJOR = np.array([1.00, 0.00, 0.42, 0.00, 0.53, 0.37, 0.00, 0.77, 0.00, 0.38, 0.21, 0.30])
BGATE_MINOR = np.array([1.00, 0.00, 0.36, 0.39, 0.00, 0.38, 0.00, 0.74, 0.27, 0.00, 0.42, 0.23])


def key_name(index: int) -> str | None:
    """``0..11`` major keys from C, ``12..23`` minor keys from C; ``-1`` is no key yet."""
    return KEY_NAMES[index] if 0 <= index < len(KEY_NAMES) else None


@dataclass(frozen=True)
class Design:
    sample_rate: int
    hop: int
    n_fft: int
    fps: float
    window: npt.NDArray[np.float32]
    bin_hz: F64
    # band index of each bin: 0 low, 1 mid, 2 high, -1 outside (DC)
    band_of_bin: I64
    # sparse triangular mel filterbank: bin k adds mel_w_lo[k] to band mel_lo[k] and mel_w_hi[k] to mel_lo[k] + 1
    mel_lo: I64
    mel_w_lo: F64
    mel_w_hi: F64
    # the same two as contiguous bin runs, for vectorised loops: bands b = 0, 1, 2 are bins
    # band_start[b] .. band_start[b + 1]; mel segment j (bins with mel_lo == j - 1) is mel_seg[j] .. mel_seg[j + 1]
    band_start: I64
    mel_seg: I64
    mel_dense: F64  # (N_MEL, n_bins), the same filterbank as a matrix, for the reference
    mel_tempo_weight: F64  # weight of each mel band in the tempo onset function
    chroma_lo_bin: int
    chroma_hi_bin: int
    pitch_of_bin: F64  # MIDI pitch of each bin's centre frequency (bin 0: 0)
    # K-weighting: two biquads, b0 b1 b2 a1 a2 each (a0 = 1)
    kw: F64
    momentary_hops: int
    short_hops: int
    # onset and tempo
    odf_mean_alpha: float  # EMA coefficient of the onset function mean
    acf_alpha: float  # decay of the running autocorrelation
    acf_lags: int  # autocorrelation is kept for lags 0 .. acf_lags - 1
    odf_ring: int  # ring length of the detrended onset function (power of two >= acf_lags)
    tempo_bpm: F64  # log-spaced tempo grid
    tempo_period: F64  # the same grid as beat periods in hops
    tempo_prior: F64
    tempo_every: int  # hops between tempo updates (on each stream's own hop count)
    tempo_transition: F64  # (2 * TRANSITION_SPAN + 1,) weights of the tempo-belief transition
    # beat tracking (cumulative score)
    cs_ring: int
    cs_alpha: float
    w1: F64  # (n_tempo, w1_len): past-window weights per tempo bin, index 0 = 2 periods back
    w1_start: I64  # per tempo bin: offset of the window start (negative hops)
    w1_len: I64
    # chroma / key
    key_window_hops: int  # live key: running mean of chroma over the first hops, then a leaky mean of this length
    key_profiles: F64  # (24, 12), zero-mean, unit-norm (Krumhansl-Kessler, offline key)
    live_key_profiles: F64  # (24, 12), zero-mean, unit-norm (bgate, live key)
    min_rms_for_key: float
    warmup_hops: int


TRANSITION_SPAN = 4
BTRACK_TIGHTNESS = 5.0


def kweighting_coefficients(sample_rate: int) -> F64:
    """BS.1770-4 K-weighting (pre-filter shelf then RLB high-pass) for any rate, as in libebur128."""
    f0 = 1681.974450955533
    gain_db = 3.999843853973347
    q = 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    f0 = 38.13547087602444
    q = 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def _hz_to_mel(f: F64 | float) -> F64:
    return np.asarray(2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0), dtype=np.float64)


def _mel_to_hz(m: F64) -> F64:
    return np.asarray(700.0 * (10.0 ** (m / 2595.0) - 1.0), dtype=np.float64)


def _key_profiles(major: F64, minor: F64) -> F64:
    """The 24 rotated profiles (majors from C, then minors from C), zero-mean and unit-norm, for correlation."""
    profiles = np.zeros((24, 12))
    for tonic in range(12):
        profiles[tonic] = np.roll(major, tonic)
        profiles[12 + tonic] = np.roll(minor, tonic)
    profiles -= profiles.mean(axis=1, keepdims=True)
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True)
    return profiles


def make_design(sample_rate: int) -> Design:
    if sample_rate < 8000:
        raise ValueError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")
    hop = round(sample_rate / HOPS_PER_SECOND)
    n_fft = 1 << math.ceil(math.log2(2.4 * hop))
    fps = sample_rate / hop
    n_bins = n_fft // 2 + 1
    n = np.arange(n_fft)
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)  # periodic Hann
    bin_hz = np.arange(n_bins) * sample_rate / n_fft
    band = np.where(bin_hz < LOW_MID_HZ, 0, np.where(bin_hz < MID_HIGH_HZ, 1, 2)).astype(np.int64)
    band[0] = -1

    # HTK-mel triangles with peaks at N_MEL centres between 30 Hz and min(16 kHz, Nyquist)
    fmax = min(16000.0, sample_rate / 2.0)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(30.0), _hz_to_mel(fmax), N_MEL + 2))
    centres = edges  # point i is the peak of band i - 1; points 0 and N_MEL + 1 are the outer feet
    mel_lo = np.full(n_bins, -2, dtype=np.int64)
    mel_w_lo = np.zeros(n_bins)
    mel_w_hi = np.zeros(n_bins)
    for k, f in enumerate(bin_hz):
        i = int(np.searchsorted(centres, f, side="right")) - 1  # centres[i] <= f < centres[i + 1]
        if i < 0 or i >= N_MEL + 1:
            continue
        span = centres[i + 1] - centres[i]
        mel_lo[k] = i - 1  # band whose peak is centres[i]; -1 means the lower foot (no band)
        mel_w_lo[k] = (centres[i + 1] - f) / span
        mel_w_hi[k] = (f - centres[i]) / span
    dense = np.zeros((N_MEL, n_bins))
    for m in range(N_MEL):
        lo, mid, hi = centres[m], centres[m + 1], centres[m + 2]
        rising = (bin_hz - lo) / (mid - lo)
        falling = (hi - bin_hz) / (hi - mid)
        dense[m] = np.maximum(0.0, np.minimum(rising, falling))
    inside = np.flatnonzero(mel_lo >= -1)
    if np.any(np.diff(mel_lo[inside]) < 0) or np.any(np.diff(inside) != 1):
        raise AssertionError("mel segments must be contiguous runs of bins")
    seg_ids = mel_lo[inside] + 1
    mel_seg = (inside[0] + np.searchsorted(seg_ids, np.arange(N_MEL + 2), side="left")).astype(np.int64)
    band_start = np.array([1, *np.searchsorted(bin_hz, [LOW_MID_HZ, MID_HIGH_HZ]), n_bins], dtype=np.int64)
    mel_hz = centres[1:-1]
    tempo_weight = np.where(mel_hz < 5000.0, 1.0, 0.0)  # hats and cymbals mark subdivisions, not beats

    chroma_lo = max(2, math.ceil(CHROMA_MIN_HZ * n_fft / sample_rate))
    chroma_hi = min(n_bins - 2, math.floor(CHROMA_MAX_HZ * n_fft / sample_rate))

    kw = kweighting_coefficients(sample_rate)

    n_tempo = round(math.log2(BPM_MAX / BPM_MIN) * TEMPO_BINS_PER_OCTAVE) + 1
    tempo_bpm = BPM_MIN * 2.0 ** (np.arange(n_tempo) / TEMPO_BINS_PER_OCTAVE)
    tempo_period = 60.0 * fps / tempo_bpm
    # broad log-Gaussian prior centred on 115 BPM (1.5 octaves wide): it only breaks near-ties between octaves
    tempo_prior = np.exp(-0.5 * (np.log2(tempo_bpm / 115.0) / 1.5) ** 2)
    acf_lags = math.ceil(4 * tempo_period.max()) + 2
    odf_ring = 1 << math.ceil(math.log2(acf_lags + 1))
    span = np.arange(-TRANSITION_SPAN, TRANSITION_SPAN + 1)
    transition = np.exp(-0.5 * (span / 1.5) ** 2)

    # BTrack-style past window: offsets -round(2 tau) .. -round(tau / 2)
    w1_start = np.array([-round(2 * p) for p in tempo_period], dtype=np.int64)
    w1_len = np.array([round(2 * p) - round(p / 2) + 1 for p in tempo_period], dtype=np.int64)
    w1 = np.zeros((n_tempo, int(w1_len.max())))
    for i, p in enumerate(tempo_period):
        v = -np.arange(-w1_start[i], -w1_start[i] - w1_len[i], -1, dtype=np.float64)
        w1[i, : w1_len[i]] = np.exp(-0.5 * (BTRACK_TIGHTNESS * np.log(-v / p)) ** 2)
    cs_ring = 1 << math.ceil(math.log2(3 * tempo_period.max() + 2))

    profiles = _key_profiles(MAJOR_PROFILE, MINOR_PROFILE)
    live_profiles = _key_profiles(BGATE_MAJOR, BGATE_MINOR)

    return Design(
        sample_rate=sample_rate,
        hop=hop,
        n_fft=n_fft,
        fps=fps,
        window=window,
        bin_hz=bin_hz,
        band_of_bin=band,
        mel_lo=mel_lo,
        mel_w_lo=mel_w_lo,
        mel_w_hi=mel_w_hi,
        band_start=band_start,
        mel_seg=mel_seg,
        mel_dense=dense,
        mel_tempo_weight=tempo_weight,
        chroma_lo_bin=chroma_lo,
        chroma_hi_bin=chroma_hi,
        pitch_of_bin=np.concatenate([[0.0], 69.0 + 12.0 * np.log2(bin_hz[1:] / 440.0)]),
        kw=kw,
        momentary_hops=round(0.4 * fps),
        short_hops=round(3.0 * fps),
        odf_mean_alpha=math.exp(-1.0 / (1.0 * fps)),
        acf_alpha=math.exp(-1.0 / (4.0 * fps)),
        acf_lags=acf_lags,
        odf_ring=odf_ring,
        tempo_bpm=tempo_bpm,
        tempo_period=tempo_period,
        tempo_prior=tempo_prior,
        tempo_every=4,
        tempo_transition=transition,
        cs_ring=cs_ring,
        cs_alpha=0.9,
        w1=w1,
        w1_start=w1_start,
        w1_len=w1_len,
        key_window_hops=round(30.0 * fps),
        key_profiles=profiles,
        live_key_profiles=live_profiles,
        min_rms_for_key=1e-3,
        warmup_hops=round(2.0 * fps),
    )
