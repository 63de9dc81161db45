"""One Redis pub/sub connection per gateway process, fanned out to local sockets.

Each WebSocket registers a queue for its channel. A single reader thread pattern-subscribes
to ``notify:*`` and ``room:*`` and hands each message to the queues of that channel, so a
thousand open sockets cost one Redis connection, not a thousand. When Redis drops, every
queue gets :data:`RESYNC` after the reconnect so sockets can refetch what they may have
missed from the durable store.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict

import redis

__all__ = ["RESYNC", "RedisHub"]

log = logging.getLogger(__name__)
RESYNC = object()
PATTERNS = ("notify:*", "room:*")
QUEUE_LIMIT = 2048  # a socket this far behind is too slow; it drops frames, not the process


class RedisHub:
    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._lock = threading.Lock()
        self._queues: dict[str, set[queue.Queue[object]]] = defaultdict(set)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.connected = threading.Event()

    def subscribe(self, channel: str) -> queue.Queue[object]:
        self._ensure_started()
        q: queue.Queue[object] = queue.Queue(maxsize=QUEUE_LIMIT)
        with self._lock:
            self._queues[channel].add(q)
        return q

    def unsubscribe(self, channel: str, q: queue.Queue[object]) -> None:
        with self._lock:
            listeners = self._queues.get(channel)
            if listeners is not None:
                listeners.discard(q)
                if not listeners:
                    del self._queues[channel]

    def wait_connected(self, timeout: float) -> bool:
        self._ensure_started()
        return self.connected.wait(timeout)

    def stop(self) -> None:
        self._stopped.set()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="redis-hub", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        first = True
        while not self._stopped.is_set():
            try:
                client = redis.Redis.from_url(self._url, socket_connect_timeout=2, health_check_interval=5)
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.psubscribe(*PATTERNS)
                self.connected.set()
                if not first:
                    self._broadcast(RESYNC)
                first = False
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message["channel"].decode(), message["data"])
            except redis.RedisError as exc:
                self.connected.clear()
                log.warning("Redis pub/sub lost (%s); reconnecting", exc)
                time.sleep(0.5)

    def _dispatch(self, channel: str, data: object) -> None:
        with self._lock:
            listeners = list(self._queues.get(channel, ()))
        for q in listeners:
            try:
                q.put_nowait(data)
            except queue.Full:
                log.warning("socket on %s is too slow; dropping a message", channel)

    def _broadcast(self, item: object) -> None:
        with self._lock:
            listeners = [q for qs in self._queues.values() for q in qs]
        for q in listeners:
            with contextlib.suppress(queue.Full):
                q.put_nowait(item)
