"""Who is in a room right now: one Redis sorted set per room, shared by every gateway process.

Each open room socket is a member ``<user_id>:<connection id>:<connected at ms>`` scored by
the instant it expires. Sockets refresh their score every heartbeat; a socket whose process
died simply stops refreshing and drops out after the TTL. A person is present while at least
one of their sockets is, and present *since* their oldest live socket connected; that is what
"longest present" means for the automatic host hand-over.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import redis

__all__ = ["Presence", "PresenceConnection", "now_ms", "room_keys_lifetime_ms"]


def now_ms() -> float:
    return time.time() * 1000.0


def room_keys_lifetime_ms(presence_ttl_ms: int) -> int:
    """How long a room's Redis keys (presence, chat) outlive their last refresh. Every open
    socket refreshes them each heartbeat, so they last while anyone is in the room, and a
    few presence TTLs more: a room everyone left is forgotten about a minute later (with the
    default 15 s TTL)."""
    return presence_ttl_ms * 4


@dataclass(frozen=True)
class PresenceConnection:
    code: str
    user_id: int
    member: str


class Presence:
    def __init__(self, client: redis.Redis, ttl_ms: int) -> None:
        self._redis = client
        self._ttl_ms = ttl_ms
        self._lifetime_ms = room_keys_lifetime_ms(ttl_ms)

    @staticmethod
    def key(code: str) -> str:
        return f"presence:{code}"

    def connect(self, code: str, user_id: int) -> tuple[PresenceConnection, bool]:
        """Register a socket; the flag says whether the person was absent until now."""
        was_present = user_id in self.present(code)
        now = now_ms()
        conn = PresenceConnection(code, user_id, f"{user_id}:{uuid.uuid4().hex[:12]}:{int(now)}")
        self._touch(conn, now)
        return conn, not was_present

    def heartbeat(self, conn: PresenceConnection) -> bool:
        """Extend a socket's presence; False when it was dropped meanwhile (the person left
        the room, or the socket stalled past its TTL): the socket should then close."""
        key = self.key(conn.code)
        pipe = self._redis.pipeline()
        pipe.zadd(key, {conn.member: now_ms() + self._ttl_ms}, xx=True, ch=True)
        pipe.pexpire(key, self._lifetime_ms)
        changed, _ = pipe.execute()
        return bool(changed)

    def disconnect(self, conn: PresenceConnection) -> bool:
        """Drop a socket; the flag says whether that was the person's last one."""
        self._redis.zrem(self.key(conn.code), conn.member)
        return conn.user_id not in self.present(conn.code)

    def drop_user(self, code: str, user_id: int) -> None:
        """Forget every socket of someone who left the room explicitly."""
        members: list[bytes] = list(self._redis.zrange(self.key(code), 0, -1))  # type: ignore[arg-type]
        gone = [m for m in members if _user_of(m) == user_id]
        if gone:
            self._redis.zrem(self.key(code), *gone)

    def present(self, code: str) -> dict[int, float]:
        """Present people and since when (ms), expired sockets swept out on the way."""
        key = self.key(code)
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", now_ms())
        pipe.zrange(key, 0, -1)
        _, members = pipe.execute()
        since: dict[int, float] = {}
        for raw in members:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            user_part, _, rest = text.partition(":")
            connected = float(rest.rpartition(":")[2] or 0)
            user_id = int(user_part)
            since[user_id] = min(since.get(user_id, connected), connected)
        return since

    def _touch(self, conn: PresenceConnection, now: float) -> None:
        key = self.key(conn.code)
        pipe = self._redis.pipeline()
        pipe.zadd(key, {conn.member: now + self._ttl_ms})
        pipe.pexpire(key, self._lifetime_ms)
        pipe.execute()


def _user_of(member: bytes | str) -> int:
    text = member.decode() if isinstance(member, bytes) else member
    return int(text.partition(":")[0])
