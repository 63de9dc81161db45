from __future__ import annotations

import numpy as np
import pytest

from analysis_kernels import hop_levels, hop_levels_reference
from media.hops import HopFramer


def test_framer_emits_exact_hops_in_order_across_uneven_pushes() -> None:
    framer = HopFramer(48000, 800)
    signal = np.arange(4000, dtype=np.float32)
    hops = []
    for chunk in np.split(signal, [333, 960, 2500, 2501]):
        hops += framer.push(chunk)
    assert [h.seq for h in hops] == [0, 1, 2, 3, 4]
    assert all(h.samples.size == 800 for h in hops)
    np.testing.assert_array_equal(np.concatenate([h.samples for h in hops]), signal)
    assert hops[1].t_ms == pytest.approx(800 / 48)


def test_framer_keeps_the_remainder_for_the_next_push() -> None:
    framer = HopFramer(48000, 800)
    assert framer.push(np.zeros(799, dtype=np.float32)) == []
    assert len(framer.push(np.zeros(1, dtype=np.float32))) == 1


@pytest.mark.parametrize("streams", [1, 3, 64])
def test_numba_levels_match_numpy_reference(streams: int) -> None:
    rng = np.random.default_rng(streams)
    block = (rng.standard_normal((streams, 800)) * rng.uniform(0, 1, (streams, 1))).astype(np.float32)
    rms, peak = hop_levels(block)
    ref_rms, ref_peak = hop_levels_reference(block)
    np.testing.assert_allclose(rms, ref_rms, rtol=1e-6)
    np.testing.assert_array_equal(peak, ref_peak)


def test_levels_of_known_signals() -> None:
    t = np.arange(48000, dtype=np.float64) / 48000
    sine = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
    rms, peak = hop_levels(np.vstack([sine, np.zeros_like(sine)]))
    assert rms[0] == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
    assert peak[0] == pytest.approx(0.5, rel=1e-3)
    assert rms[1] == 0.0


def test_levels_refuse_bad_shapes() -> None:
    with pytest.raises(ValueError, match="streams, hop"):
        hop_levels(np.zeros(10, dtype=np.float32))
