"""What the control plane says to browsers over its sockets (../shared/API.md), and the room
snapshot its pages and ``GET /api/rooms/{code}`` start from.

Every server message is a strict, frozen model here, and its ``type`` is written once, in
that model. A message is built and encoded once (``to_json``), then the same text goes to
every socket that gets it (through Redis ``room:<code>`` / ``notify:<user>``).

Room ``chat`` messages are plain text: a client renders ``body`` (and the sender's name) as
text (``textContent``), never as HTML.

Two messages skip the model on their hot path, on purpose, and are defined here all the same:

- ``visual`` frames (60 per second per stream, to every socket of a room) are encoded once
  per frame by the stream worker (:meth:`contracts.live.VisualParams.frame_json`) and
  forwarded as that text; gateways recognise them by :data:`VISUAL_FRAME_PREFIX` without
  parsing them.
- the room socket's ``pong`` is formatted by hand (:func:`pong_text`) so that nothing but
  string formatting sits between the clock read and the send; it is the same message as
  :class:`PongMessage` (the contract tests hold them together).

``notification`` messages are built by the notification service and relayed by the control
plane; ``redelivered`` marks a re-pushed row on that hop and never reaches a browser.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import RoomCode

__all__ = [
    "AUTH",
    "CHAT",
    "CHAT_BODY_MAX",
    "CHAT_CLIENT_ID_PATTERN",
    "PING",
    "SERVER_MESSAGES",
    "VISUAL",
    "VISUAL_FRAME_PREFIX",
    "ChatHistoryMessage",
    "ChatMessage",
    "ChatUser",
    "EpochMessage",
    "ErrorMessage",
    "NotificationMessage",
    "Participant",
    "ParticipantsMessage",
    "Playback",
    "PongMessage",
    "QueueItem",
    "QueueMessage",
    "ResetMessage",
    "RoomMessage",
    "RoomSnapshot",
    "SocketMessage",
    "StateMessage",
    "TrackJson",
    "TrackMessage",
    "echoed_time",
    "pong_text",
]

# --- from browsers: the two messages every socket understands, and room chat --------------

AUTH: Final = "auth"  # the first message: {"type": "auth", "token", ...}
PING: Final = "ping"  # {"type": "ping", "client_time_ms"} -> pong
CHAT: Final = "chat"  # room socket: {"type": "chat", "body", "client_id"} -> ChatMessage to the room
CHAT_BODY_MAX: Final = 1000  # characters, after trimming spaces at either end
# A client's own id for one chat message, the same on every retry of it.
CHAT_CLIENT_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"

# --- visual frames: built by the stream worker, forwarded untouched ----------------------

VISUAL: Final = "visual"
# Frames are compact JSON whose first key is the type, so a gateway knows one by its prefix.
VISUAL_FRAME_PREFIX: Final = f'{{"type":"{VISUAL}"'

# A track as every client sees it: the answer of GET /api/tracks/{id} (the control plane's
# ``track_json``), its analysis included. Carried whole, not re-validated per message.
TrackJson = dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SocketMessage(_Strict):
    """One server message. ``OMITTED_WHEN_NONE`` names optional keys that are left off the
    wire while unset (an absent key, not a null)."""

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()
    type: str  # each message narrows this to a Literal

    def _unset(self) -> set[str] | None:
        unset = {name for name in self.OMITTED_WHEN_NONE if getattr(self, name) is None}
        return unset or None

    def to_json(self) -> str:
        """The text put on the wire (compact JSON, keys in field order)."""
        return self.model_dump_json(exclude=self._unset())

    def to_dict(self) -> dict[str, Any]:
        """The same message as plain JSON values (for a message nested in an HTTP answer)."""
        return self.model_dump(mode="json", exclude=self._unset())


# --- rooms: /ws/rooms/{code} -----------------------------------------------------------------


class Participant(_Strict):
    user_id: int
    id: int  # the same as user_id, for clients that look for "id"
    name: str
    role: Literal["host", "listener"]
    is_host: bool
    present: bool
    present_since_ms: float | None
    can_control: bool
    can_queue: bool
    can_stream: bool


class ParticipantsMessage(SocketMessage):
    """Who is in the room, who is present, and what each may do."""

    type: Literal["participants"] = "participants"
    version: int
    host_id: int
    items: list[Participant]
    allow_queue: bool
    allow_control: bool
    allow_member_streams: bool


class QueueItem(_Strict):
    entry_id: int
    track: TrackJson
    added_by: int


class QueueMessage(SocketMessage):
    type: Literal["queue"] = "queue"
    version: int
    items: list[QueueItem]
    current_entry_id: int | None
    skip_votes: int = Field(ge=0)
    skip_needed: int = Field(ge=1)


class StateMessage(SocketMessage):
    """Playback: at server time ``server_time_ms`` the track is at ``position_ms``."""

    type: Literal["state"] = "state"
    version: int
    track: TrackJson | None
    entry_id: int | None
    position_ms: float
    server_time_ms: float
    playing: bool
    rate: float


class TrackMessage(SocketMessage):
    """A queued track changed (its analysis progressed or finished)."""

    type: Literal["track"] = "track"
    track: TrackJson


class ChatUser(_Strict):
    id: int
    name: str


class ChatMessage(SocketMessage):
    """One line of room chat, as every socket in the room gets it. ``id`` rises per room (a
    client orders and de-duplicates by it); ``client_id`` is the sender's own id for the
    message, so the sender recognises its message when it comes back. Plain text: render
    ``body`` and ``user.name`` as text, never as HTML."""

    type: Literal["chat"] = "chat"
    id: int = Field(ge=1)
    user: ChatUser
    body: str = Field(min_length=1, max_length=CHAT_BODY_MAX)
    client_id: str = Field(pattern=CHAT_CLIENT_ID_PATTERN)
    created_at: str  # ISO 8601 in UTC (+00:00)


class ChatHistoryMessage(SocketMessage):
    """The room's recent chat, oldest first, sent to a socket after its ``state`` (on joining
    and after the gateway reconnects to Redis). It replaces what the client held: the room's
    chat lives only in Redis and may have expired or restarted its ids meanwhile."""

    type: Literal["chat_history"] = "chat_history"
    items: list[ChatMessage]


RoomMessage = ParticipantsMessage | QueueMessage | StateMessage | TrackMessage | ChatMessage


class Playback(_Strict):
    """The part of ``state`` API.md names ``playback`` in the room snapshot."""

    track: TrackJson | None
    position_ms: float
    server_time_ms: float
    playing: bool
    rate: float


class RoomSnapshot(_Strict):
    """GET /api/rooms/{code}, and the join and leave answers: everything a page starts from."""

    code: RoomCode
    name: str
    host_id: int
    host_name: str
    allow_member_streams: bool
    allow_queue: bool
    allow_control: bool
    created_at: str  # ISO 8601 with offset
    version: int
    participants: list[Participant]
    queue: QueueMessage
    state: StateMessage
    playback: Playback

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --- every socket ----------------------------------------------------------------------------


class PongMessage(SocketMessage):
    """The answer to ``ping``. The room socket adds ``server_receive_ms`` (when the ping
    arrived); the notifications socket leaves it off."""

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"server_receive_ms"})
    type: Literal["pong"] = "pong"
    client_time_ms: float | None  # echoed; null when the ping carried no number
    server_receive_ms: float | None = None
    server_time_ms: float


class ErrorMessage(SocketMessage):
    """A refused message (``request`` names its type), or, followed by a close, a refused socket.

    A refused ``chat`` also carries its ``client_id`` (when it had a usable one), so the
    client knows which of its messages did not go out, and ``retry_after_ms`` when it was
    refused for coming too fast."""

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"request", "client_id", "retry_after_ms"})
    type: Literal["error"] = "error"
    code: str
    detail: str
    request: str | None = None
    client_id: str | None = None
    retry_after_ms: int | None = Field(default=None, ge=0)


def echoed_time(value: object) -> float | None:
    """What a pong echoes of a ping's ``client_time_ms``: a number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def pong_text(client_time_ms: float | None, server_receive_ms: float, server_time_ms: float) -> str:
    """:class:`PongMessage` with ``server_receive_ms``, formatted by hand: the room socket
    reads the clock and sends at once, with no model in between."""
    return (
        f'{{"type":"pong","client_time_ms":{json.dumps(client_time_ms)},'
        f'"server_receive_ms":{server_receive_ms!r},"server_time_ms":{server_time_ms!r}}}'
    )


# --- notifications: /ws/notifications --------------------------------------------------------


class EpochMessage(SocketMessage):
    """Sent first to clients that speak the epoch protocol: the inbox store's identity."""

    type: Literal["epoch"] = "epoch"
    epoch: str


class ResetMessage(SocketMessage):
    """The store was recreated: ids the client has seen mean nothing now; everything follows."""

    type: Literal["reset"] = "reset"
    epoch: str


class NotificationMessage(SocketMessage):
    """One stored notification (API.md), as the notification service publishes and serves it."""

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"redelivered"})
    type: Literal["notification"] = "notification"
    id: int = Field(ge=1)
    epoch: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: str  # ISO 8601 with offset
    read: bool
    # Only between the notification service and the gateways: a row pushed again after a
    # restart, which a gateway sends once even below its high mark. Browsers never see it.
    redelivered: Literal[True] | None = None

    def for_browser(self) -> str:
        return self.model_dump_json(exclude={"redelivered"})


SERVER_MESSAGES: tuple[type[SocketMessage], ...] = (
    ParticipantsMessage,
    QueueMessage,
    StateMessage,
    TrackMessage,
    ChatMessage,
    ChatHistoryMessage,
    PongMessage,
    ErrorMessage,
    EpochMessage,
    ResetMessage,
    NotificationMessage,
)
