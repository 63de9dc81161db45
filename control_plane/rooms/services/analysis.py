"""A track's offline analysis as the stream worker reports it: ``pending`` → ``running`` (with
progress) → ``done`` (the result kept on the track) or ``failed``. A finished track stays
finished: a late or redelivered report changes nothing and tells the worker to stop."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from contracts.files import AnalysisReport, AnalysisStatus
from contracts.sockets import TrackMessage
from control_plane.kits.db.types import DB, utcnow
from control_plane.rooms.models import Track
from control_plane.rooms.queries import rooms_queueing
from control_plane.rooms.services.messages import track_message
from control_plane.rooms.services.refusals import RoomsRefused

__all__ = ["AnalysisRecorded", "record_analysis_report"]

# What a track keeps of a finished analysis (its duration is the track's own, from its file).
STORED = frozenset({"bpm", "key", "meter", "loudness_lufs", "beats", "downbeats", "waveform", "energy", "energy_hz"})


@dataclass(frozen=True)
class AnalysisRecorded:
    """Whether the worker should go on, the track's status, and the ``track`` message for the
    rooms queueing the track (published after commit; none when nothing changed)."""

    proceed: bool
    status: AnalysisStatus
    message: TrackMessage | None = None
    rooms: list[str] = field(default_factory=list)


def record_analysis_report(session: DB, track_id: int, report: AnalysisReport) -> AnalysisRecorded:
    """Apply one report under the track's row lock; the caller commits, then publishes.
    ``RoomsRefused``: 404 ``track-not-found``, 422 ``result-missing`` (``done`` without a result)."""
    track = session.scalar(select(Track).where(Track.id == track_id).with_for_update())
    if track is None:
        raise RoomsRefused(404, "track-not-found", f"No track has the id {track_id}")
    if track.analysis_status == "done":
        return AnalysisRecorded(proceed=False, status="done")
    if report.status == "done":
        if report.result is None:
            raise RoomsRefused(422, "result-missing", "a finished analysis carries its result")
        track.analysis = report.result.model_dump(include=set(STORED))
        track.analysis_status, track.analysis_progress, track.analysis_error = "done", 1.0, None
    elif report.status == "failed":
        track.analysis_status, track.analysis_error = "failed", (report.error or "analysis failed")[:2000]
    else:
        track.analysis_status, track.analysis_progress = "running", max(report.progress, 0.0)
    track.analysis_updated_at = utcnow()
    return AnalysisRecorded(True, report.status, track_message(track), rooms_queueing(session, track.id))
