"""What the rooms area accepts from clients: room codes (``contracts.base``: 6 characters from
an alphabet without look-alikes, no 0/O, 1/I/L) and request bodies."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from contracts.base import ROOM_CODE_ALPHABET as ALPHABET
from contracts.base import ROOM_CODE_LENGTH as CODE_LENGTH
from contracts.live import MAX_SDP_BYTES
from contracts.sockets import CHAT_BODY_MAX, CHAT_CLIENT_ID_PATTERN
from control_plane.kits.http.validation import ONE_LINE, TEXT

__all__ = [
    "ALPHABET",
    "CHAT_RULES",
    "CODE_LENGTH",
    "ChatDraft",
    "CreateRoom",
    "StreamOffer",
    "TrackList",
    "TrackUrl",
    "new_code",
    "normalise_code",
]


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """Upper-cases a typed code; returns None when it cannot be a room code."""
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


# --- rooms -----------------------------------------------------------------------------------


class CreateRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=ONE_LINE)]
    allow_member_streams: bool = False
    allow_queue: bool = False
    allow_control: bool = False


class StreamOffer(BaseModel):
    """A browser's WebRTC offer for live audio into a room (at most ``MAX_SDP_BYTES``)."""

    model_config = ConfigDict(extra="forbid")
    sdp: str = Field(min_length=10, max_length=MAX_SDP_BYTES)
    type: Literal["offer"]

    def is_audio_offer(self) -> bool:
        """Whether the SDP is plainly an audio offer: ``v=0`` first, and an ``m=audio`` line.
        (Checked after who may stream, so a stranger learns nothing about the offer's shape;
        whether aiortc can use it, only the media process can tell.)"""
        lines = self.sdp.replace("\r\n", "\n").split("\n")
        return lines[0].strip() == "v=0" and any(line.startswith("m=audio ") for line in lines)


# --- chat ------------------------------------------------------------------------------------


class ChatDraft(BaseModel):
    """``{"type": "chat", "body", "client_id"}`` from a room socket. Strict: a body that is
    not a string is refused, not converted. The body is free text (line breaks allowed, no
    control characters or bidirectional overrides), counted after trimming."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["chat"]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CHAT_BODY_MAX, pattern=TEXT)]
    client_id: Annotated[str, StringConstraints(pattern=CHAT_CLIENT_ID_PATTERN)]


# What the socket tells a client whose chat message broke a rule, per field.
CHAT_RULES: dict[str, str] = {
    "body": f"body must be text of 1 to {CHAT_BODY_MAX} characters (not counting spaces at either end), "
    "without control characters",
    "client_id": "client_id must be 1 to 64 letters, digits, '_' or '-'",
}


# --- tracks ----------------------------------------------------------------------------------


class TrackUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl = Field(description="http or https only")
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=ONE_LINE)] = ""
    artist: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=ONE_LINE)] = ""
    duration_ms: float | None = Field(default=None, gt=0, le=24 * 3600 * 1000)


class TrackList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: int | None = Field(default=None, ge=0)
