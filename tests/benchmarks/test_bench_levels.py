"""Per-hop level kernel: numba (batched over streams) against the pure-numpy reference."""

from __future__ import annotations

import time

import numpy as np
import pytest

from analysis_kernels import hop_levels, hop_levels_reference
from tests.benchmarks.report import report

pytestmark = pytest.mark.benchmark


def _best_of(fn: object, block: np.ndarray, repeats: int = 7, loops: int = 200) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            fn(block)  # type: ignore[operator]
        best = min(best, (time.perf_counter() - started) / loops)
    return best


def test_bench_hop_levels() -> None:
    rng = np.random.default_rng(0)
    rows = []
    hop_levels(np.zeros((1, 800), dtype=np.float32))  # compile outside the timing
    for streams in (1, 8, 64, 256):
        block = rng.standard_normal((streams, 800)).astype(np.float32)
        numba_s = _best_of(hop_levels, block)
        numpy_s = _best_of(hop_levels_reference, block)
        rows.append([streams, numba_s * 1e6, numpy_s * 1e6, numba_s * 1e6 / streams, numpy_s / numba_s])
    report(
        "hop_levels",
        ["streams", "numba us/call", "numpy us/call", "numba us/stream-hop", "speed-up vs numpy"],
        rows,
        "800-sample hops (60/s at 48 kHz); best of 7 x 200 calls.",
    )
    assert all(row[4] > 0 for row in rows)
