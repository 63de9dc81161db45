"""Uploaded files: a track arrived and waits for its one offline analysis. Keyed by track id,
so everything about one file stays in order."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import EventBase

__all__ = ["TRACK_CONTENT_TYPES", "TrackUploaded"]

TRACK_CONTENT_TYPES = ("audio/mpeg", "audio/ogg", "audio/wav", "audio/flac")


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
    content_type: Literal["audio/mpeg", "audio/ogg", "audio/wav", "audio/flac"]
    size_bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    attempt: int = Field(default=1, ge=1, le=100)
