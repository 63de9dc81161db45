"""Level and loudness of each hop: RMS, peak, and BS.1770-4 K-weighted momentary and short-term loudness.

Everything here runs in the time domain on the hop's samples, before any spectrum: the K-weighting biquads
carry their state from hop to hop (``LiveState.kw_z``) and a ring of per-hop K-weighted energies
(``LiveState.energy``) gives the 400 ms and 3 s windows.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.design import LOUDNESS_FLOOR_LUFS
from analysis_kernels.state import FASTMATH, LOUD_M, LOUD_S, PEAK, RMS

__all__ = ["levels_and_loudness"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@njit(cache=True, nogil=True)
def _lufs(mean_square: float) -> float:  # pragma: no cover - compiled
    """BS.1770 loudness of a K-weighted mean square, floored (silence would be minus infinity)."""
    if mean_square <= 0.0:
        return LOUDNESS_FLOOR_LUFS
    value = -0.691 + 10.0 * math.log10(mean_square)
    return max(value, LOUDNESS_FLOOR_LUFS)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def levels_and_loudness(
    block: F32,
    rows: I64,
    sums: F64,
    floats: F64,
    kw: F64,
    momentary_hops: int,
    count: I64,
    kw_z: F64,
    energy: F64,
) -> None:  # pragma: no cover - compiled
    """RMS, peak and momentary / short-term loudness of each listed row (state row ``rows[r]``).

    ``sums`` is scratch, one row per block row: mean square, peak and K-weighted energy of the hop.
    """
    n, hop = block.shape
    short_hops = energy.shape[1]
    for r in range(0, n, 4):
        _kweight_lanes(block, r, min(4, n - r), rows, kw, kw_z, sums)
    for r in range(n):
        s = rows[r]  # state row; block and outputs are indexed by r
        floats[r, RMS] = math.sqrt(sums[r, 0] / hop)
        floats[r, PEAK] = sums[r, 1]
        c = count[s]
        energy[s, c % short_hops] = sums[r, 2] / hop
        n_m = min(c + 1, momentary_hops)
        n_s = min(c + 1, short_hops)
        floats[r, LOUD_M] = _lufs(_ring_sum(energy, s, c, n_m) / n_m)
        floats[r, LOUD_S] = _lufs(_ring_sum(energy, s, c, n_s) / n_s)
