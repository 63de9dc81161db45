"""Redis names shared by processes: the pub/sub channels gateways forward to sockets, and the
key under which a room's newest visual frame is kept.

- ``room:<code>``: every message for a room's sockets (``contracts.sockets`` room messages,
  published by the control plane; ``visual`` frames, published by the stream worker);
- ``notify:<user id>``: a user's notifications (``NotificationMessage``, published by the
  notification service);
- ``files:project:<project id>``: what changed on a project's files (``file.changed``,
  published by the control plane after commit) for its open file pages;
- ``visual:last:<code>``: the room's newest ``visual`` frame (a plain key with a short TTL,
  written by the stream worker), which a socket joining mid-stream is sent first.

Gateways pattern-subscribe to :data:`ROOM_CHANNELS`, :data:`USER_CHANNELS` and
:data:`PROJECT_FILES_CHANNELS`.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "LAST_VISUAL_PREFIX",
    "PROJECT_FILES_CHANNELS",
    "PROJECT_FILES_PREFIX",
    "ROOM_CHANNELS",
    "ROOM_CHANNEL_PREFIX",
    "USER_CHANNELS",
    "USER_CHANNEL_PREFIX",
    "is_room_channel",
    "last_visual_key",
    "project_files_channel",
    "room_channel",
    "user_channel",
]

ROOM_CHANNEL_PREFIX: Final = "room:"
USER_CHANNEL_PREFIX: Final = "notify:"
LAST_VISUAL_PREFIX: Final = "visual:last:"
ROOM_CHANNELS: Final = f"{ROOM_CHANNEL_PREFIX}*"  # psubscribe patterns
USER_CHANNELS: Final = f"{USER_CHANNEL_PREFIX}*"
PROJECT_FILES_PREFIX: Final = "files:project:"
PROJECT_FILES_CHANNELS: Final = f"{PROJECT_FILES_PREFIX}*"


def room_channel(code: str) -> str:
    """The channel of the room ``code`` (a room code, already normalised)."""
    return f"{ROOM_CHANNEL_PREFIX}{code}"


def user_channel(user_id: int) -> str:
    """The channel of one user's notifications."""
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def project_files_channel(project_id: int, user_id: int | None = None) -> str:
    """The channel of one project's file changes; with ``user_id``, those for that member
    only (a deliverable concerns its engagement's two people, not every member)."""
    base = f"{PROJECT_FILES_PREFIX}{project_id}"
    return base if user_id is None else f"{base}:user:{user_id}"


def last_visual_key(code: str) -> str:
    """The key holding the room's newest ``visual`` frame (JSON text, expires on its own)."""
    return f"{LAST_VISUAL_PREFIX}{code}"


def is_room_channel(channel: str) -> bool:
    return channel.startswith(ROOM_CHANNEL_PREFIX)
