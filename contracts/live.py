"""Live audio and the visual parameters computed from it."""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.base import EventBase, RoomCode

__all__ = ["MAX_HOP_SAMPLES", "AudioFrame", "BandEnergy", "StreamEnded", "VisualParams"]

# The media side bounds frame sizes itself (Tansu enforces no message size limit):
# 4096 samples is 85 ms at 48 kHz, far above the configured hop.
MAX_HOP_SAMPLES = 4096


class AudioFrame(EventBase):
    """One hop of live audio: mono float32 little-endian samples, base64 in JSON."""

    KEY_FIELD: ClassVar[str] = "stream_id"
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

    KEY_FIELD: ClassVar[str] = "stream_id"  # after the stream's last frame, in order
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

    KEY_FIELD: ClassVar[str] = "room_code"
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
