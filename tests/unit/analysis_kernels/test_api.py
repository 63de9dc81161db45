"""Public API shapes: LiveAnalyzer mappings fit the visual contract; analyze_track returns what the UI needs."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_kernels import FLOAT_FIELDS, LiveAnalyzer, analyze_track
from contracts.events import VisualParams
from tests.unit.analysis_kernels.signals import blocks, click_track

VISUAL_KEYS = {"rms", "peak", "bpm", "beat", "beat_phase", "onset", "energy", "loudness_lufs", "centroid_hz", "flux"}
VISUAL_KEYS |= {"chroma", "key"}
EXTRA_KEYS = {"onset_event", "loudness_short_lufs", "rolloff_hz"}


def test_hop_is_800_samples_at_48k_and_60_per_second_elsewhere() -> None:
    assert LiveAnalyzer(48000, 1).hop == 800
    assert LiveAnalyzer(44100, 1).hop == 735


def test_process_returns_one_plain_mapping_per_stream_that_fits_visual_params() -> None:
    an = LiveAnalyzer(48000, 3)
    x = click_track(120, 4.0)
    hops = blocks(x, an.hop)
    frames = []
    for h in hops:
        frames = an.process(np.stack([h, h * 0.5, np.zeros_like(h)]))
    assert len(frames) == 3
    for frame in frames:
        assert set(frame) == VISUAL_KEYS | EXTRA_KEYS
        assert isinstance(frame["beat"], bool) and isinstance(frame["rms"], float)
        assert set(frame["energy"]) == {"low", "mid", "high"} and len(frame["chroma"]) == 12
        payload = {k: v for k, v in frame.items() if k not in EXTRA_KEYS}
        VisualParams(room_code="ABCD23", stream_id="s1", t_ms=1000.0, **payload)
    assert frames[0]["bpm"] == pytest.approx(120, rel=0.04)
    assert frames[2]["bpm"] is None and frames[2]["key"] is None and frames[2]["beat_phase"] is None


def test_reset_makes_a_slot_new_again() -> None:
    an = LiveAnalyzer(48000, 2)
    x = click_track(120, 4.0)
    for h in blocks(x, an.hop):
        an.process_arrays(np.stack([h, h]))
    an.reset(1)
    fresh = LiveAnalyzer(48000, 1)
    h = blocks(x, an.hop)[0]
    got = an.process_arrays(np.stack([h, h])).floats[1]
    want = fresh.process_arrays(h.reshape(1, -1)).floats[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)])
    with pytest.raises(IndexError):
        an.reset(2)


def test_process_refuses_bad_shapes() -> None:
    an = LiveAnalyzer(48000, 2)
    with pytest.raises(ValueError, match="streams, hop"):
        an.process(np.zeros((2, 799), np.float32))


def test_beats_land_near_the_true_beats_once_locked() -> None:
    an = LiveAnalyzer(48000, 1)
    x = click_track(125, 10.0)
    beats = [
        (i + 0.5) * an.hop / 48000
        for i, h in enumerate(blocks(x, an.hop))
        if an.process_arrays(h.reshape(1, -1)).ints[0, 0]
    ]
    truth = np.arange(0.25, 10.0, 60 / 125)
    late = [b for b in beats if b > 5.0]
    assert late
    errors = [np.min(np.abs(truth - b)) for b in late]
    assert max(errors) < 0.02  # within one hop (16.7 ms) of the true beat


def test_analyze_track_fields() -> None:
    x = click_track(110, 12.0)
    result = analyze_track(x, 48000)
    assert result.bpm == pytest.approx(110, rel=0.04)
    assert result.duration_s == pytest.approx(12.0)
    assert len(result.beats) > 15 and result.downbeats and result.key is not None
    assert result.loudness_lufs is not None and -40 < result.loudness_lufs < 0
    assert len(result.peaks) == pytest.approx(12 * result.peaks_per_s, abs=1)
    assert len(result.energy) == pytest.approx(12 * result.energy_hz, abs=1)
    assert FLOAT_FIELDS[0] == "rms"


def test_analyze_track_of_silence_has_no_tempo() -> None:
    result = analyze_track(np.zeros(48000 * 3, np.float32), 48000)
    assert result.bpm is None and result.beats == [] and result.loudness_lufs is None
