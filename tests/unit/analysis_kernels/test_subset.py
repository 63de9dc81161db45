"""Subset processing: ``process_arrays(block, rows)`` advances only the listed slots, results in rows order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis_kernels import LiveAnalyzer
from tests.unit.analysis_kernels.signals import blocks, click_track, sweep_mix


def _assert_same(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(got, want)  # same arithmetic in the same order: bit-identical, NaNs included


def test_rows_2_0_of_four_slots_match_two_independent_analyzers() -> None:
    an = LiveAnalyzer(48000, 4)
    alone = [LiveAnalyzer(48000, 1), LiveAnalyzer(48000, 1)]
    a = blocks(click_track(120, 6.0), an.hop)
    b = blocks(sweep_mix(6.0), an.hop)
    frames: list[dict[str, object]] = []
    for ha, hb in zip(a, b, strict=True):
        got = an.process_arrays(np.stack([ha, hb]), rows=[2, 0])
        w2 = alone[0].process_arrays(ha.reshape(1, -1))
        _assert_same(got.floats[0], w2.floats[0])
        _assert_same(got.ints[0], w2.ints[0])
        _assert_same(got.chroma[0], w2.chroma[0])
        _assert_same(got.mel[0], w2.mel[0])
        w0 = alone[1].process_arrays(hb.reshape(1, -1))
        _assert_same(got.floats[1], w0.floats[0])
        _assert_same(got.ints[1], w0.ints[0])
        _assert_same(got.chroma[1], w0.chroma[0])
    assert got.floats.shape[0] == 2
    assert not np.isnan(got.floats[0, 11])  # slot 2 (the click track) found its tempo
    # process() gives one mapping per row, in rows order, equal to the single-slot analyzers' mappings
    ha, hb = a[0], b[0]
    frames = an.process(np.stack([hb, ha]), rows=np.array([0, 2]))
    assert frames == [alone[1].process(hb.reshape(1, -1))[0], alone[0].process(ha.reshape(1, -1))[0]]


def test_untouched_slots_keep_their_state() -> None:
    an = LiveAnalyzer(48000, 4)
    x = blocks(click_track(100, 3.0), an.hop)
    for h in x[:60]:
        an.process_arrays(np.stack([h, h, h, h]))
    before = {f.name: getattr(an.state, f.name).copy() for f in dataclasses.fields(an.state)}
    for h in x[60:]:
        an.process_arrays(h.reshape(1, -1), rows=np.array([3]))
    for name, old in before.items():
        new = getattr(an.state, name)
        np.testing.assert_array_equal(new[:3], old[:3], err_msg=name)
    assert an.state.count[3] == len(x) and an.state.count[0] == 60


def test_full_rows_equal_the_default_call() -> None:
    one, two = LiveAnalyzer(48000, 3), LiveAnalyzer(48000, 3)
    x = blocks(click_track(128, 2.0), one.hop)
    for h in x:
        block = np.stack([h, 0.5 * h, -h])
        got = one.process_arrays(block, rows=[0, 1, 2]).floats.copy()
        want = two.process_arrays(block).floats
        _assert_same(got, want)


def test_empty_rows_advance_nothing() -> None:
    an = LiveAnalyzer(48000, 2)
    out = an.process_arrays(np.zeros((0, an.hop), np.float32), rows=[])
    assert out.floats.shape[0] == 0 and an.process(np.zeros((0, an.hop), np.float32), rows=[]) == []
    assert list(an.state.count) == [0, 0]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([1, 1], "distinct"),
        ([0, 4], "0..3"),
        ([-1, 0], "0..3"),
        ([[0, 1]], "1-D"),
        ([0.0, 1.0], "integers"),
    ],
)
def test_bad_rows_are_refused_before_anything_moves(rows: object, message: str) -> None:
    an = LiveAnalyzer(48000, 4)
    with pytest.raises(ValueError, match=message):
        an.process_arrays(np.zeros((2, an.hop), np.float32), rows=rows)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        an.process(np.zeros((2, an.hop), np.float32), rows=rows)  # type: ignore[arg-type]
    assert not an.state.count.any()


def test_block_must_have_one_row_per_listed_slot() -> None:
    an = LiveAnalyzer(48000, 4)
    with pytest.raises(ValueError, match="len\\(rows\\), hop"):
        an.process_arrays(np.zeros((3, an.hop), np.float32), rows=[0, 1])
