"""Per-hop level meters (RMS and peak), batched over streams."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["hop_levels", "hop_levels_reference"]

FloatArray = npt.NDArray[np.float32]


@njit(cache=True, fastmath=False, nogil=True)
def _levels(block: FloatArray, rms: FloatArray, peak: FloatArray) -> None:  # pragma: no cover - compiled
    streams, hop = block.shape
    for s in range(streams):
        acc = 0.0  # float64 accumulator: float32 sums lose precision over long hops
        top = 0.0
        for i in range(hop):
            x = float(block[s, i])
            acc += x * x
            a = abs(x)
            if a > top:
                top = a
        rms[s] = np.sqrt(acc / hop)
        peak[s] = top


def hop_levels(block: FloatArray) -> tuple[FloatArray, FloatArray]:
    """RMS and peak of each row of ``block`` (shape ``(streams, hop)``, float32)."""
    if block.ndim != 2 or block.shape[1] == 0:
        raise ValueError(f"block must be (streams, hop) with hop > 0, got {block.shape}")
    block = np.ascontiguousarray(block, dtype=np.float32)
    rms = np.empty(block.shape[0], dtype=np.float32)
    peak = np.empty(block.shape[0], dtype=np.float32)
    _levels(block, rms, peak)
    return rms, peak


def hop_levels_reference(block: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Pure-numpy reference for tests."""
    as64 = block.astype(np.float64)
    rms = np.sqrt(np.mean(as64 * as64, axis=1)).astype(np.float32)
    peak = np.max(np.abs(as64), axis=1).astype(np.float32)
    return rms, peak
