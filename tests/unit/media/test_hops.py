"""``media.hops.HopFramer``: fixed-size hops out of uneven decoded chunks."""

from __future__ import annotations

import numpy as np
import pytest

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
