"""Live audio and the visual parameters computed from it; and the WebRTC offer the control
plane hands the media process (``POST`` :data:`MEDIA_OFFER_PATH`) with the answer it gets back.

Audio hops travel on ``audio.frames`` in a small binary format (JSON + base64 would cost a third
more bytes and a decode per hop at 60 hops/s per stream); stream lifecycle events and visual
parameters are ordinary JSON events.

Binary hop, little-endian (``AUDIO_HOP_HEADER``, 36 bytes, then the stream id, then samples)::

    offset size field
    0      4    magic b"DBAH"
    4      1    version (1)
    5      1    sample encoding: 0 = float32, 1 = int16 (full scale 32767)
    6      1    stream id length in bytes (1..64, ASCII)
    7      1    reserved (0)
    8      8    seq, uint64: hop number in the stream, from 0
    16     8    capture_ms, float64: wall clock (ms since the epoch) when the hop was complete at ingest
    24     4    sample_rate, uint32
    28     2    sample count, uint16 (1..MAX_HOP_SAMPLES)
    30     6    room code, ASCII
    36     n    stream id
    36+n   ...  samples (count * 4 or count * 2 bytes)

A frame is at most ``MAX_AUDIO_HOP_BYTES``; the encoder refuses to build a larger one and the
decoder refuses to parse one (before looking inside), so a bad producer cannot hurt a worker.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from contracts.base import ROOM_CODE_PATTERN, EventBase, RoomCode
from contracts.sockets import VISUAL

__all__ = [
    "AUDIO_HOP_HEADER",
    "AUDIO_HOP_MAGIC",
    "MAX_AUDIO_HOP_BYTES",
    "MAX_HOP_SAMPLES",
    "MAX_SDP_BYTES",
    "MEDIA_OFFER_PATH",
    "AudioHop",
    "AudioHopError",
    "BandEnergy",
    "MediaAnswer",
    "MediaOffer",
    "StreamEnded",
    "StreamStarted",
    "VisualParams",
    "decode_audio_hop",
    "encode_audio_hop",
    "is_audio_hop",
]

# 4096 samples is 85 ms at 48 kHz, far above the configured hop (800).
MAX_HOP_SAMPLES = 4096
MAX_STREAM_ID = 64
AUDIO_HOP_MAGIC = b"DBAH"
AUDIO_HOP_VERSION = 1
AUDIO_HOP_HEADER = struct.Struct("<4sBBBBQdIH6s")
MAX_AUDIO_HOP_BYTES = AUDIO_HOP_HEADER.size + MAX_STREAM_ID + MAX_HOP_SAMPLES * 4
F32 = npt.NDArray[np.float32]
_ENCODINGS: dict[str, int] = {"f32": 0, "i16": 1}
_ROOM = re.compile(ROOM_CODE_PATTERN.encode("ascii"))
_STREAM = re.compile(rb"^[0-9A-Za-z_-]{1,64}$")
MAX_SDP_BYTES = 64 * 1024  # a browser's audio offer is ~5 KB; refuse anything absurd
# Where the media process takes a MediaOffer (JSON) and answers a MediaAnswer; only the control
# plane calls it, once it has checked who may stream into which room.
MEDIA_OFFER_PATH: Final = "/internal/offer"


class AudioHopError(ValueError):
    """Bytes that are not a valid audio hop (wrong magic, version, sizes, or too large)."""


@dataclass(frozen=True, eq=False)
class AudioHop:
    """One hop of live mono audio, as the worker sees it."""

    stream_id: str
    room_code: str
    seq: int
    capture_ms: float
    sample_rate: int
    samples: F32

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AudioHop):
            return NotImplemented
        return (
            (self.stream_id, self.room_code, self.seq, self.capture_ms, self.sample_rate)
            == (other.stream_id, other.room_code, other.seq, other.capture_ms, other.sample_rate)
            and self.samples.shape == other.samples.shape
            and bool(np.array_equal(self.samples, other.samples))
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def t_ms(self) -> float:
        """Stream time of the hop's first sample."""
        return self.seq * self.samples.size * 1000.0 / self.sample_rate


def is_audio_hop(raw: bytes) -> bool:
    return raw[:4] == AUDIO_HOP_MAGIC


def encode_audio_hop(hop: AudioHop, encoding: Literal["f32", "i16"] = "f32") -> bytes:
    stream = hop.stream_id.encode("ascii", "strict")
    room = hop.room_code.encode("ascii", "strict")
    samples = np.asarray(hop.samples, dtype=np.float32).ravel()
    if not _STREAM.match(stream):
        raise AudioHopError("stream id must be 1..64 characters of [0-9A-Za-z_-]")
    if not _ROOM.match(room):
        raise AudioHopError("room code must be a 6-character room code")
    if not 0 < samples.size <= MAX_HOP_SAMPLES:
        raise AudioHopError(f"a hop holds 1..{MAX_HOP_SAMPLES} samples, not {samples.size}")
    if not 0 <= hop.seq < 2**64 or not 0 < hop.sample_rate < 2**32:
        raise AudioHopError("seq or sample rate out of range")
    if encoding == "i16":
        payload = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    else:
        payload = samples.astype("<f4").tobytes()
    header = AUDIO_HOP_HEADER.pack(
        AUDIO_HOP_MAGIC,
        AUDIO_HOP_VERSION,
        _ENCODINGS[encoding],
        len(stream),
        0,
        hop.seq,
        float(hop.capture_ms),
        hop.sample_rate,
        samples.size,
        room,
    )
    return header + stream + payload


def decode_audio_hop(raw: bytes) -> AudioHop:
    """Parse one binary hop; refuses oversized, truncated or inconsistent frames."""
    if len(raw) > MAX_AUDIO_HOP_BYTES:
        raise AudioHopError(f"audio hop of {len(raw)} bytes exceeds {MAX_AUDIO_HOP_BYTES}")
    if len(raw) < AUDIO_HOP_HEADER.size:
        raise AudioHopError("audio hop shorter than its header")
    magic, version, encoding, id_len, _reserved, seq, capture_ms, rate, count, room = AUDIO_HOP_HEADER.unpack_from(raw)
    if magic != AUDIO_HOP_MAGIC:
        raise AudioHopError("not an audio hop (bad magic)")
    if version != AUDIO_HOP_VERSION:
        raise AudioHopError(f"unknown audio hop version {version}")
    if encoding not in (0, 1):
        raise AudioHopError(f"unknown sample encoding {encoding}")
    if not 0 < count <= MAX_HOP_SAMPLES or not 0 < id_len <= MAX_STREAM_ID or rate == 0:
        raise AudioHopError("sample count, stream id length or sample rate out of range")
    width = 4 if encoding == 0 else 2
    start = AUDIO_HOP_HEADER.size + id_len
    if len(raw) != start + count * width:
        raise AudioHopError("audio hop length does not match its header")
    stream = raw[AUDIO_HOP_HEADER.size : start]
    if not _STREAM.match(stream) or not _ROOM.match(room):
        raise AudioHopError("bad stream id or room code")
    if not np.isfinite(capture_ms):
        raise AudioHopError("capture time must be finite")
    if encoding == 0:
        samples = np.frombuffer(raw, dtype="<f4", count=count, offset=start).astype(np.float32)
        # A NaN would poison a stream's filter state for good; silence it instead.
        if not np.isfinite(samples).all():
            samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    else:
        samples = np.frombuffer(raw, dtype="<i2", count=count, offset=start).astype(np.float32) / 32767.0
    return AudioHop(stream.decode("ascii"), room.decode("ascii"), seq, capture_ms, rate, samples)


class StreamStarted(EventBase):
    """A live stream began: workers give it a fresh analysis slot, rooms may show it."""

    KEY_FIELD: ClassVar[str] = "stream_id"  # before the stream's first hop, in order
    type: Literal["stream.started"] = "stream.started"
    stream_id: str = Field(min_length=1, max_length=MAX_STREAM_ID)
    room_code: RoomCode
    user_id: int | None = None
    sample_rate: int = Field(ge=8000, le=192000)
    hop: int = Field(ge=1, le=MAX_HOP_SAMPLES)


class StreamEnded(EventBase):
    """The live stream stopped; workers free its analysis slot."""

    KEY_FIELD: ClassVar[str] = "stream_id"  # after the stream's last frame, in order
    type: Literal["stream.ended"] = "stream.ended"
    stream_id: str = Field(min_length=1, max_length=MAX_STREAM_ID)
    room_code: RoomCode
    reason: str = Field(default="stopped", max_length=40)
    hops: int = Field(default=0, ge=0)
    dropped_hops: int = Field(default=0, ge=0)


class BandEnergy(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    low: float
    mid: float
    high: float


class VisualParams(EventBase):
    """Analysis of one hop, fanned out to the room as a ``visual`` frame (API.md).

    Extensions beyond API.md: ``peak``, ``onset_event``, ``mel`` (a coarse spectrum, 0..1 per
    band, low to high), ``seq``, ``capture_ms`` (ingest wall clock, for latency) and
    ``ended`` (the stream's last frame: visualisers clear).
    """

    KEY_FIELD: ClassVar[str] = "room_code"
    type: Literal["visual.params"] = "visual.params"
    room_code: RoomCode
    stream_id: str = Field(min_length=1, max_length=MAX_STREAM_ID)
    t_ms: float = Field(ge=0)
    rms: float = Field(ge=0)
    peak: float = Field(ge=0)
    bpm: float | None = None
    beat: bool = False
    beat_phase: float | None = None
    onset: float | None = None
    onset_event: bool = False
    energy: BandEnergy | None = None
    loudness_lufs: float | None = None
    centroid_hz: float | None = None
    flux: float | None = None
    chroma: list[float] | None = None
    key: str | None = None
    mel: list[float] | None = None
    seq: int | None = None
    capture_ms: float | None = None
    ended: bool = False

    def to_frame(self) -> dict[str, object]:
        """The browser-facing ``visual`` message of ../shared/API.md."""
        body = self.model_dump(mode="json", exclude={"event_id", "occurred_at", "version", "type", "room_code"})
        return {"type": VISUAL, **body}

    def frame_json(self) -> str:
        """That message as the text every socket of the room gets: compact, ``type`` first, so
        gateways recognise it by ``contracts.sockets.VISUAL_FRAME_PREFIX`` without parsing it."""
        return json.dumps(self.to_frame(), separators=(",", ":"))


class MediaOffer(BaseModel):
    """A browser's SDP audio offer, passed on by the control plane once it checked that the
    caller may stream into the room; the stream id is the control plane's choice."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    sdp: str = Field(min_length=10, max_length=MAX_SDP_BYTES)
    type: Literal["offer"]
    room_code: RoomCode
    stream_id: str = Field(pattern=r"^[0-9a-f]{8,64}$")
    user_id: int | None = None


class MediaAnswer(BaseModel):
    """The media process's SDP answer; the browser gets it as it is."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    sdp: str = Field(min_length=1)
    type: Literal["answer"]
    stream_id: str
