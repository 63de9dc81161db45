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
    "FILE_ANALYSIS_PATH",
    "FILE_ANALYSIS_PURPOSE",
    "FILE_CONTENT_PATH",
    "FILE_CONTENT_PURPOSE",
    "FILE_KINDS",
    "MAX_ANALYSIS_POINTS",
    "MAX_BEATS",
    "TRACK_CONTENT_TYPES",
    "AnalysisAnswer",
    "AnalysisReport",
    "AnalysisResult",
    "AnalysisStatus",
    "DeliverableApproved",
    "DeliverableChangesRequested",
    "DeliverableEvent",
    "DeliverableStatus",
    "DeliverableSubmitted",
    "FileCommentAdded",
    "FileEvent",
    "FileKind",
    "FileVersionAdded",
    "TrackContentType",
    "TrackUploaded",
    "analysis_path",
    "analysis_signed_bytes",
    "file_analysis_path",
    "file_content_path",
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


# --- project files (../shared/API.md "Project files") -------------------------------------

FileKind = Literal["audio", "score", "image", "document", "other"]
FILE_KINDS: Final[tuple[FileKind, ...]] = get_args(FileKind)

# The worker reads a version's bytes through the control plane (whatever the storage behind
# it: a folder or S3, which may answer with a redirect to a signed URL) and reports back.
# Both internal calls are signed (downbeat.signing); a GET signs its path as the body.
FILE_CONTENT_PURPOSE: Final = "file-version-content"
FILE_ANALYSIS_PURPOSE: Final = "file-version-analysis"
FILE_CONTENT_PATH: Final = "/internal/files/versions/{version_id}/content"
FILE_ANALYSIS_PATH: Final = "/internal/files/versions/{version_id}/analysis"


def file_content_path(version_id: int) -> str:
    """Where the stream worker reads one file version's bytes (signed GET)."""
    return FILE_CONTENT_PATH.format(version_id=version_id)


def analysis_signed_bytes(path: str, body: bytes) -> bytes:
    """What a file version's analysis report is signed over: its path, a newline, its body.
    Binding the path means a captured report for one version cannot be replayed to another."""
    return path.encode() + b"\n" + body


def file_analysis_path(version_id: int) -> str:
    """Where the stream worker reports one file version's analysis (signed POST of an
    :class:`AnalysisReport`; the answer is an :class:`AnalysisAnswer`)."""
    return FILE_ANALYSIS_PATH.format(version_id=version_id)


class FileEvent(EventBase):
    """Something happened to one project file. Keyed by file id, so one file's story stays
    in order. ``recipients`` are the project's owner and members at the time, minus the actor:
    the control plane knows membership, the notification service does not."""

    KEY_FIELD: ClassVar[str] = "file_id"
    file_id: int = Field(ge=1)
    project_id: int = Field(ge=1)
    project_title: str = Field(min_length=1, max_length=200)
    file_name: str = Field(min_length=1, max_length=200)
    actor_id: int = Field(ge=1)
    actor_name: str = Field(min_length=1, max_length=120)
    recipients: list[int] = Field(default_factory=list, max_length=1000)


class FileVersionAdded(FileEvent):
    """A new version was stored and became current. ``analyse`` is true for audio: a stream
    worker reads it through :func:`file_content_path` and reports to :func:`file_analysis_path`.
    A re-sent event (a stalled analysis) has a new ``event_id`` and ``attempt`` + 1."""

    type: Literal["file.version_added"] = "file.version_added"
    version_id: int = Field(ge=1)
    version_number: int = Field(ge=1)  # ``version`` is the event schema's own
    kind: FileKind
    content_type: str = Field(min_length=1, max_length=100)
    size_bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    note: str = Field(default="", max_length=2000)
    analyse: bool = False
    attempt: int = Field(default=1, ge=1, le=100)


class FileCommentAdded(FileEvent):
    """A comment (or a reply) on a version. ``mentioned`` are the members named with
    ``@name``: they are told whatever their other preferences say."""

    type: Literal["file.comment_added"] = "file.comment_added"
    comment_id: int = Field(ge=1)
    version_number: int = Field(ge=1)  # ``version`` is the event schema's own
    excerpt: str = Field(min_length=1, max_length=200)
    mentioned: list[int] = Field(default_factory=list, max_length=100)
    reply_to_author: int | None = Field(default=None, ge=1)


DeliverableStatus = Literal["open", "submitted", "approved", "changes_requested"]


class DeliverableEvent(EventBase):
    """A deliverable of an accepted booking request changed. Keyed by request id (it travels
    on ``booking.events`` with the request's own story). ``recipient_id`` is the other side."""

    KEY_FIELD: ClassVar[str] = "request_id"
    deliverable_id: int = Field(ge=1)
    request_id: int = Field(ge=1)
    project_id: int = Field(ge=1)
    project_title: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    actor_id: int = Field(ge=1)
    actor_name: str = Field(min_length=1, max_length=120)
    recipient_id: int = Field(ge=1)
    note: str = Field(default="", max_length=2000)


class DeliverableSubmitted(DeliverableEvent):
    """The musician handed in a file version for it."""

    type: Literal["deliverable.submitted"] = "deliverable.submitted"
    file_id: int = Field(ge=1)
    version_number: int = Field(ge=1)  # ``version`` is the event schema's own


class DeliverableApproved(DeliverableEvent):
    """The producer approved it (payments release money on this)."""

    type: Literal["deliverable.approved"] = "deliverable.approved"


class DeliverableChangesRequested(DeliverableEvent):
    """The producer asked for changes; ``note`` says which."""

    type: Literal["deliverable.changes_requested"] = "deliverable.changes_requested"
