"""Strict event models. Events are past tense; each carries type, version, id and time.

``strict=True`` refuses silent coercion (a string where an int belongs), ``extra="forbid"``
refuses unknown fields, and ``frozen=True`` keeps an event immutable once built.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "MAX_HOP_SAMPLES",
    "AudioFrame",
    "BookingCreated",
    "Event",
    "EventBase",
    "StreamEnded",
    "VisualParams",
    "new_event_id",
    "utc_now",
]

# The media side bounds frame sizes itself (Tansu enforces no message size limit):
# 4096 samples is 85 ms at 48 kHz, far above the configured hop.
MAX_HOP_SAMPLES = 4096

RoomCode = Annotated[str, Field(pattern=r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")]


def new_event_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventBase(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    type: str  # each concrete event narrows this to a Literal (the discriminator)
    event_id: uuid.UUID = Field(default_factory=new_event_id)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    version: Literal[1] = 1


class BookingCreated(EventBase):
    """A seat in a session was booked (confirmed or pending payment)."""

    type: Literal["booking.created"] = "booking.created"
    booking_id: int = Field(ge=1)
    session_id: int = Field(ge=1)
    session_title: str = Field(min_length=1, max_length=200)
    owner_id: int = Field(ge=1)
    attendee_id: int = Field(ge=1)
    attendee_name: str = Field(min_length=1, max_length=120)
    seats: int = Field(ge=1, le=100)
    status: Literal["confirmed", "pending_payment"]
    starts_at: AwareDatetime


class AudioFrame(EventBase):
    """One hop of live audio: mono float32 little-endian samples, base64 in JSON."""

    type: Literal["audio.frame"] = "audio.frame"
    stream_id: str = Field(min_length=1, max_length=64)
    room_code: RoomCode
    seq: int = Field(ge=0)
    sample_rate: int = Field(ge=8000, le=192000)
    t_ms: float = Field(ge=0)
    samples: str = Field(max_length=(MAX_HOP_SAMPLES * 4 * 4) // 3 + 4)

    @field_validator("samples")
    @classmethod
    def _whole_float32_samples(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("samples must be base64") from exc
        if len(raw) % 4 or not 0 < len(raw) // 4 <= MAX_HOP_SAMPLES:
            raise ValueError(f"samples must hold 1..{MAX_HOP_SAMPLES} float32 values")
        return value


class StreamEnded(EventBase):
    """The live stream stopped; workers free its analysis slot."""

    type: Literal["stream.ended"] = "stream.ended"
    stream_id: str = Field(min_length=1, max_length=64)
    room_code: RoomCode


class BandEnergy(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    low: float
    mid: float
    high: float


class VisualParams(EventBase):
    """Analysis of one hop, fanned out to the room as a ``visual`` frame (API.md).

    Fields the current kernels do not compute yet are ``None`` rather than invented.
    """

    type: Literal["visual.params"] = "visual.params"
    room_code: RoomCode
    stream_id: str = Field(min_length=1, max_length=64)
    t_ms: float = Field(ge=0)
    rms: float = Field(ge=0)
    peak: float = Field(ge=0)
    bpm: float | None = None
    beat: bool = False
    beat_phase: float | None = None
    onset: float | None = None
    energy: BandEnergy | None = None
    loudness_lufs: float | None = None
    centroid_hz: float | None = None
    flux: float | None = None
    chroma: list[float] | None = None
    key: str | None = None

    def to_frame(self) -> dict[str, object]:
        """The browser-facing ``visual`` message of ../shared/API.md."""
        body = self.model_dump(mode="json", exclude={"event_id", "occurred_at", "version", "type", "room_code"})
        return {"type": "visual", **body}


Event = Annotated[BookingCreated | AudioFrame | StreamEnded | VisualParams, Field(discriminator="type")]
