"""The numba kernels compute what the pure-numpy reference computes, hop by hop, field by field."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_kernels import FLOAT_FIELDS, INT_FIELDS, LiveAnalyzer
from analysis_kernels.reference import ReferenceAnalyzer
from tests.unit.analysis_kernels.signals import blocks, click_track, sweep_mix

SECONDS = 4.0


@pytest.fixture(scope="module")
def runs() -> dict[str, list[np.ndarray]]:
    """Three streams (clicks at 128 BPM, a sweep mix, silence) through both implementations."""
    live = LiveAnalyzer(48000, 3)
    ref = ReferenceAnalyzer(48000, 3)
    signals = [click_track(128, SECONDS), sweep_mix(SECONDS), np.zeros(int(SECONDS * 48000), np.float32)]
    hops = np.stack([blocks(x, live.hop) for x in signals], axis=1)  # (hops, streams, hop)
    got: dict[str, list[np.ndarray]] = {k: [] for k in ("floats", "ints", "chroma", "mel")}
    want: dict[str, list[np.ndarray]] = {k: [] for k in ("floats", "ints", "chroma", "mel")}
    for block in hops:
        a = live.process_arrays(np.ascontiguousarray(block))
        b = ref.process_arrays(block)
        for key in got:
            got[key].append(getattr(a, key).copy())
            want[key].append(getattr(b, key).copy())
    return {f"got_{k}": np.array(v) for k, v in got.items()} | {f"want_{k}": np.array(v) for k, v in want.items()}


TOLERANCE = {"flux": 1e-3, "onset": 1e-3}


@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_float_fields_match_reference(runs: dict[str, np.ndarray], field: str) -> None:
    i = FLOAT_FIELDS.index(field)
    got, want = runs["got_floats"][:, :, i], runs["want_floats"][:, :, i]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    scale = np.nanmax(np.abs(want)) or 1.0
    np.testing.assert_allclose(got[ok], want[ok], rtol=TOLERANCE.get(field, 1e-4), atol=1e-5 * scale)


@pytest.mark.parametrize("field", INT_FIELDS)
def test_event_fields_match_reference(runs: dict[str, np.ndarray], field: str) -> None:
    i = INT_FIELDS.index(field)
    np.testing.assert_array_equal(runs["got_ints"][:, :, i], runs["want_ints"][:, :, i])


@pytest.mark.parametrize("key", ["chroma", "mel"])
def test_vector_outputs_match_reference(runs: dict[str, np.ndarray], key: str) -> None:
    got, want = runs[f"got_{key}"], runs[f"want_{key}"]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * float(np.max(np.abs(want))))


def test_the_reference_run_is_not_trivial(runs: dict[str, np.ndarray]) -> None:
    ints = runs["want_ints"]
    assert ints[:, 0, INT_FIELDS.index("beat")].sum() >= 3  # the click stream locks and beats
    assert ints[:, 2, INT_FIELDS.index("beat")].sum() == 0  # silence never beats
    assert np.isnan(runs["want_floats"][:, 2, FLOAT_FIELDS.index("bpm")]).all()
