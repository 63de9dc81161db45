"""The playback clock of a room, free of Flask and the database.

The state says: at server instant ``anchor_ms`` the playhead is at ``position_ms``; while
``playing`` it advances at ``rate``. Every command takes effect at ``at_ms`` (now plus the
lead), so clients that receive it early all start, stop or jump at the same server instant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["PlaybackState", "ends_at", "pause", "play", "position_at", "seek", "start_entry"]


@dataclass(frozen=True)
class PlaybackState:
    entry_id: int | None
    position_ms: float
    anchor_ms: float
    playing: bool
    rate: float = 1.0


def position_at(state: PlaybackState, at_ms: float, duration_ms: float | None = None) -> float:
    """Where the playhead is at server instant ``at_ms`` (never before 0 nor past the end)."""
    position = state.position_ms
    if state.playing:
        position += max(0.0, at_ms - state.anchor_ms) * state.rate
    if duration_ms is not None:
        position = min(position, duration_ms)
    return max(0.0, position)


def play(
    state: PlaybackState, at_ms: float, position_ms: float | None = None, duration_ms: float | None = None
) -> PlaybackState:
    """Start (or keep) playing from ``position_ms``, or from wherever the playhead is then.
    A track that had played to its end starts again from the top."""
    if position_ms is None:
        position_ms = position_at(state, at_ms, duration_ms)
        if duration_ms is not None and position_ms >= duration_ms:
            position_ms = 0.0
    return replace(state, position_ms=_clamp(position_ms, duration_ms), anchor_ms=at_ms, playing=True)


def pause(state: PlaybackState, at_ms: float, duration_ms: float | None = None) -> PlaybackState:
    return replace(state, position_ms=position_at(state, at_ms, duration_ms), anchor_ms=at_ms, playing=False)


def seek(state: PlaybackState, at_ms: float, position_ms: float, duration_ms: float | None = None) -> PlaybackState:
    return replace(state, position_ms=_clamp(position_ms, duration_ms), anchor_ms=at_ms)


def start_entry(state: PlaybackState, entry_id: int | None, at_ms: float, playing: bool) -> PlaybackState:
    """Another queue entry from its start (next, previous, skip, auto-advance)."""
    return replace(state, entry_id=entry_id, position_ms=0.0, anchor_ms=at_ms, playing=playing and entry_id is not None)


def ends_at(state: PlaybackState, duration_ms: float | None) -> float | None:
    """The server instant the current track runs out, if it is playing and its length is known."""
    if not state.playing or duration_ms is None or state.entry_id is None or state.rate <= 0:
        return None
    return state.anchor_ms + max(0.0, duration_ms - state.position_ms) / state.rate


def _clamp(position_ms: float, duration_ms: float | None) -> float:
    position_ms = max(0.0, position_ms)
    return min(position_ms, duration_ms) if duration_ms is not None else position_ms
