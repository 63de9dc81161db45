"""Uploaded files: a track arrived and waits for its one offline analysis (an event keyed by
track id, so everything about one file stays in order); and the analysis report the stream
worker sends back to the control plane over its signed internal callback
(``POST`` :data:`ANALYSIS_PATH`, signed for :data:`ANALYSIS_PURPOSE`), with the answer it
gets."""

from __future__ import annotations

from typing import ClassVar, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import EventBase

__all__ = [
    "ANALYSIS_PATH",
    "ANALYSIS_PURPOSE",
    "MAX_ANALYSIS_POINTS",
    "MAX_BEATS",
    "TRACK_CONTENT_TYPES",
    "AnalysisAnswer",
    "AnalysisReport",
    "AnalysisResult",
    "AnalysisStatus",
    "TrackContentType",
    "TrackUploaded",
    "analysis_path",
]

TrackContentType = Literal["audio/mpeg", "audio/ogg", "audio/wav", "audio/flac"]
TRACK_CONTENT_TYPES: Final[tuple[TrackContentType, ...]] = get_args(TrackContentType)


class TrackUploaded(EventBase):
    """An audio file was stored; a stream worker analyses it (tempo, beats, key, waveform).

    ``storage_key`` is the file's path relative to the tracks folder under the data dir,
    never an absolute path, so producer and consumer may mount it in different places.
    A re-sent event (a retry of a stalled analysis) carries the same track id and a new
    ``event_id``; the worker asks the control plane first and skips finished tracks.
    """

    KEY_FIELD: ClassVar[str] = "track_id"
    type: Literal["track.uploaded"] = "track.uploaded"
    track_id: int = Field(ge=1)
    owner_id: int = Field(ge=1)
    storage_key: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_./-]+$")
    content_type: TrackContentType
    size_bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    attempt: int = Field(default=1, ge=1, le=100)


# What a signature on the analysis callback is good for (downbeat.signing): nothing else.
ANALYSIS_PURPOSE: Final = "track-analysis"
# The control plane's callback for one track's analysis (a URI template: ``{track_id}``).
ANALYSIS_PATH: Final = "/internal/tracks/{track_id}/analysis"


def analysis_path(track_id: int) -> str:
    """The callback path of one track, as the stream worker calls it."""
    return ANALYSIS_PATH.format(track_id=track_id)


AnalysisStatus = Literal["pending", "running", "done", "failed"]
MAX_BEATS = 100_000  # three hours (the worker's limit) at well over 300 bpm
MAX_ANALYSIS_POINTS = 10_000  # a waveform or energy curve; the worker sends at most a few thousand


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class AnalysisResult(_Strict):
    """A finished analysis: what the control plane keeps and every client gets in a track's
    ``analysis``. Times in seconds; ``waveform`` is 0..1 peaks across the whole track;
    ``energy`` is sampled ``energy_hz`` times per second."""

    bpm: float | None = None
    key: str | None = Field(default=None, max_length=40)
    meter: int | None = Field(default=None, ge=1)
    loudness_lufs: float | None = None
    beats: list[float] = Field(default_factory=list, max_length=MAX_BEATS)
    downbeats: list[float] = Field(default_factory=list, max_length=MAX_BEATS)
    waveform: list[float] = Field(default_factory=list, max_length=MAX_ANALYSIS_POINTS)
    energy: list[float] = Field(default_factory=list, max_length=MAX_ANALYSIS_POINTS)
    energy_hz: float | None = None
    duration_s: float | None = Field(default=None, ge=0)


class AnalysisReport(_Strict):
    """Progress (``running``), the result (``done``) or the reason (``failed``) of one analysis."""

    status: Literal["running", "done", "failed"]
    progress: float = Field(default=0.0, ge=0.0, le=1.0)
    event_id: str = Field(default="", max_length=64)  # the TrackUploaded that asked for it
    result: AnalysisResult | None = None
    error: str | None = Field(default=None, max_length=2000)

    def to_bytes(self) -> bytes:
        """The body that is signed and sent (compact JSON)."""
        return self.model_dump_json().encode()


class AnalysisAnswer(_Strict):
    """The control plane's answer: go on (``proceed``), or stop (the track is gone or done)."""

    proceed: bool
    status: AnalysisStatus
