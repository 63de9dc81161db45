"""The spectrum of each hop and the features read off it: band energies, mel bands, flux, centroid and roll-off.

Each hop slides an ``n_fft``-sample analysis window (``LiveState.ring``) by one hop; the windowed frames of a
chunk of rows go through one batched real FFT, and :func:`spectral_features` turns each spectrum into magnitudes
(kept in ``mag`` for the chroma) and the spectral outputs. Onsets (rhythm) and chroma (key) read the mel bands
and magnitudes computed here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.design import ROLLOFF
from analysis_kernels.state import CENTROID, FASTMATH, FLUX, LOW, ROLLOFF_HZ

__all__ = ["rfft", "slide_window", "spectral_features"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def slide_window(block: F32, rows: I64, frames: F32, window: F32, ring: F32) -> None:  # pragma: no cover - compiled
    """Append each listed row's hop to its analysis window (state row ``rows[r]``) and write the windowed frame."""
    n, hop = block.shape
    n_fft = ring.shape[1]
    keep = n_fft - hop
    for r in range(n):
        s = rows[r]
        for i in range(keep):
            ring[s, i] = ring[s, i + hop]
        for i in range(hop):
            ring[s, keep + i] = block[r, i]
        for i in range(n_fft):
            frames[r, i] = ring[s, i] * window[i]


@njit(cache=True, nogil=True)
def rfft(frames: F32) -> Any:  # pragma: no cover - compiled
    """Real FFT of every row of ``frames``: rocket-fft (pocketfft) inside numba, one batched call."""
    return np.fft.rfft(frames)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def spectral_features(
    spec: Any,
    rows: I64,
    mag: F64,
    floats: F64,
    mel: F64,
    sample_rate: float,
    n_fft: int,
    window_sum: float,
    window_sq_sum: float,
    band_start: I64,
    mel_seg: I64,
    mel_w_lo: F64,
    mel_w_hi: F64,
    prev_mag: F64,
    power: F64,
) -> None:  # pragma: no cover - compiled
    """Magnitudes, band RMS, mel band power, flux, centroid and roll-off of each listed row's spectrum.

    Written as contiguous loops over bins so LLVM vectorises them. ``power`` is scratch for one row.
    """
    n_bins = spec.shape[1]
    # amplitude of a full-scale sine, and power scaled so low² + mid² + high² is the windowed mean square (Parseval)
    mag_norm = 2.0 / window_sum
    pow_norm = 2.0 / (n_fft * window_sq_sum)
    bin_hz = sample_rate / n_fft
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
