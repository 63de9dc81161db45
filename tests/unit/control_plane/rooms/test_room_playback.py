"""The room's playback clock and skip majority, without Flask or a database."""

from __future__ import annotations

import pytest

from control_plane.rooms.services import playback as pb
from control_plane.rooms.services.messages import skip_needed

PAUSED = pb.PlaybackState(entry_id=1, position_ms=0.0, anchor_ms=1_000.0, playing=False)


def test_play_pause_seek_take_effect_at_the_scheduled_instant() -> None:
    playing = pb.play(PAUSED, at_ms=2_000.0, duration_ms=60_000)
    assert (playing.playing, playing.position_ms, playing.anchor_ms) == (True, 0.0, 2_000.0)
    assert pb.position_at(playing, 1_500.0) == 0.0  # before the start instant nothing moves
    assert pb.position_at(playing, 3_250.0) == 1_250.0
    paused = pb.pause(playing, at_ms=5_000.0, duration_ms=60_000)
    assert (paused.playing, paused.position_ms) == (False, 3_000.0)
    assert pb.position_at(paused, 99_000.0) == 3_000.0
    sought = pb.seek(paused, at_ms=6_000.0, position_ms=90_000, duration_ms=60_000)
    assert sought.position_ms == 60_000  # clamped to the track
    assert pb.seek(paused, 6_000.0, -5.0).position_ms == 0.0


def test_play_at_the_end_starts_over_and_ends_at_is_known_only_while_playing() -> None:
    ended = pb.PlaybackState(entry_id=1, position_ms=60_000.0, anchor_ms=0.0, playing=False)
    again = pb.play(ended, at_ms=10.0, duration_ms=60_000)
    assert again.position_ms == 0.0
    assert pb.ends_at(again, 60_000) == pytest.approx(60_010.0)
    assert pb.ends_at(again, None) is None and pb.ends_at(ended, 60_000) is None
    half = pb.PlaybackState(entry_id=1, position_ms=0.0, anchor_ms=0.0, playing=True, rate=2.0)
    assert pb.ends_at(half, 60_000) == 30_000.0 and pb.position_at(half, 1_000.0) == 2_000.0


def test_start_entry_restarts_and_only_plays_a_real_entry() -> None:
    moved = pb.start_entry(pb.play(PAUSED, 0.0), entry_id=2, at_ms=500.0, playing=True)
    assert (moved.entry_id, moved.position_ms, moved.anchor_ms, moved.playing) == (2, 0.0, 500.0, True)
    assert not pb.start_entry(moved, None, 600.0, playing=True).playing


@pytest.mark.parametrize(("present", "needed"), [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_skipping_needs_more_than_half_of_those_present(present: int, needed: int) -> None:
    assert skip_needed(present) == needed
