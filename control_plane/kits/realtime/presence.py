"""Who has a socket open: one sorted set per user in Redis, a member per socket scored with
the moment it stops counting. Sockets refresh their entry while open and remove it when they
close; a process killed without closing leaves an entry that simply expires.

The messages area asks this before telling people about a message: someone with a socket
open sees it live, someone without is told through the notification service.
"""

from __future__ import annotations

import contextlib
import logging
import time

import redis

__all__ = ["PRESENCE_TTL_S", "leave", "online", "present"]

log = logging.getLogger(__name__)
PRESENCE_TTL_S = 30.0  # a socket refreshes every PRESENCE_TTL_S / 3


def _key(user_id: int) -> str:
    return f"presence:{user_id}"


def present(client: redis.Redis | None, user_id: int, socket_id: str) -> None:
    """Mark (or keep) one socket of ``user_id`` open for another PRESENCE_TTL_S."""
    if client is None:
        return
    now = time.time()
    try:
        pipe = client.pipeline(transaction=False)
        pipe.zadd(_key(user_id), {socket_id: now + PRESENCE_TTL_S})
        pipe.zremrangebyscore(_key(user_id), "-inf", now)  # entries of killed processes
        pipe.expire(_key(user_id), int(PRESENCE_TTL_S * 2))
        pipe.execute()
    except redis.RedisError:
        log.warning("presence not recorded (Redis unavailable): the user may be told twice")


def leave(client: redis.Redis | None, user_id: int, socket_id: str) -> None:
    if client is None:
        return
    with contextlib.suppress(redis.RedisError):  # the entry expires on its own
        client.zrem(_key(user_id), socket_id)


def online(client: redis.Redis | None, user_ids: list[int]) -> set[int]:
    """The users among ``user_ids`` with a socket open now. Redis down: nobody (so everyone
    is told through the notification service rather than nobody)."""
    if client is None or not user_ids:
        return set()
    now = time.time()
    try:
        pipe = client.pipeline(transaction=False)
        for uid in user_ids:
            pipe.zcount(_key(uid), now, "+inf")
        counts = pipe.execute()
    except redis.RedisError:
        return set()
    return {uid for uid, count in zip(user_ids, counts, strict=True) if int(count) > 0}
