"""A sliding-window rate limit in Redis: at most ``limit`` hits in any ``window_ms``.

Each key is a sorted set of the instants of its recent hits. Counting over the last window,
rather than per fixed window, means a burst straddling a window's edge cannot pass twice the
limit. The add and the count run in one MULTI, so two gateway processes hitting one key at
once both see both hits: under a race a hit may be refused that a perfect counter would have
let through, never the other way round.
"""

from __future__ import annotations

import math
import uuid

import redis

__all__ = ["SlidingWindow"]


class SlidingWindow:
    def __init__(self, client: redis.Redis, limit: int, window_ms: int) -> None:
        self._redis = client
        self.limit = limit
        self.window_ms = window_ms

    def hit(self, key: str, now_ms: float) -> int | None:
        """Count one hit on ``key``. None when it is allowed; otherwise it is not counted, and
        the answer is how many milliseconds until the oldest hit in the window expires (when
        a hit would be allowed again, unless others come first)."""
        member = f"{now_ms:.3f}:{uuid.uuid4().hex[:8]}"  # two hits in one millisecond both count
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now_ms - self.window_ms)
        pipe.zadd(key, {member: now_ms})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.pexpire(key, self.window_ms)
        _, _, count, oldest, _ = pipe.execute()
        if count <= self.limit:
            return None
        self._redis.zrem(key, member)  # a refused hit does not hold the sender back further
        oldest_ms = float(oldest[0][1]) if oldest else now_ms
        return max(1, math.ceil(oldest_ms + self.window_ms - now_ms))
