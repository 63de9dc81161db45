"""Key: a 12-bin chroma of each hop's spectral peaks, and the live key of each stream from its running chroma.

Chroma counts spectral peaks (80 Hz-5 kHz), each refined to its true frequency and weighted towards the nearest
semitone; the key is the best correlation of the stream's chroma mean with the 24 rotated key profiles of the
design (indices as in :func:`analysis_kernels.design.key_name`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.state import FASTMATH, KEY, RMS

__all__ = ["CHROMA_FLOOR", "chroma_and_key"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# chroma peaks count from this fraction of the strongest peak in 80 Hz-5 kHz (-60 dB); -40 dB measured no faster
# and cost the offline key 1.7 points on the corpus
CHROMA_FLOOR = 1e-3

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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def chroma_and_key(
    rows: I64,
    mag: F64,
    floats: F64,
    ints: I64,
    chroma: F64,
    chroma_lo: int,
    chroma_hi: int,
    pitch_of_bin: F64,
    min_rms_for_key: float,
    key_window_hops: int,
    key_profiles: F64,
    key_chroma: F64,
    key_frames: I64,
    key_idx: I64,
    peaks: I64,
) -> None:  # pragma: no cover - compiled
    """Max-normalised chroma of each listed row's magnitudes, and the stream's key after this hop.

    Reads the row's RMS (silence leaves the key as it was); ``peaks`` is scratch for one row.
    """
    for r in range(rows.size):
        s = rows[r]
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
