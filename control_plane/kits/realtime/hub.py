"""One Redis pub/sub connection per gateway process, fanned out to local sockets.

Each WebSocket registers a queue for its channel. A single reader thread pattern-subscribes
to ``notify:*`` and ``room:*`` (``contracts.channels``) and hands each message to the queues
of that channel, so a thousand open sockets cost one Redis connection, not a thousand. When Redis drops, every
queue gets :data:`RESYNC` after the reconnect so sockets can refetch what they may have
missed from the durable store.

Room channels carry live ``visual`` frames at up to 60 per second per stream. Those are
decoded to text once per frame (not once per socket) and never queued: each room socket holds
a :class:`RoomFeed` whose visual slot keeps only the newest frame of each stream, so a slow
client skips frames instead of falling behind, while every other room message (state,
participants, queue) stays queued in order ahead of them. No compression on this path: every
socket of the room sends the very same text. A room socket that hands its ``ws`` to
:meth:`RedisHub.subscribe` does better still: its visual frames are framed once per room and
written by this thread directly, without blocking (``fanout.py``).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import redis

from contracts.channels import PROJECT_FILES_CHANNELS, ROOM_CHANNELS, USER_CHANNELS, is_room_channel
from contracts.sockets import VISUAL_FRAME_PREFIX
from control_plane.kits.realtime.fanout import DirectSocket, text_frame

__all__ = ["RESYNC", "RedisHub", "RoomFeed", "visual_stream"]

log = logging.getLogger(__name__)
RESYNC = object()
PATTERNS = (USER_CHANNELS, ROOM_CHANNELS, PROJECT_FILES_CHANNELS)
QUEUE_LIMIT = 2048  # a socket this far behind is too slow; it drops frames, not the process
STREAM_KEY = '"stream_id":"'


def visual_stream(text: str) -> str | None:
    """The stream id of a ``visual`` frame (as the workers encode it), else None. Cheap: no JSON parse."""
    if not text.startswith(VISUAL_FRAME_PREFIX):
        return None
    start = text.find(STREAM_KEY)
    if start < 0:
        return ""
    start += len(STREAM_KEY)
    return text[start : text.find('"', start)]


class RoomFeed(queue.Queue[object]):
    """One room socket's inbox: ordered messages, plus the newest visual frame of each stream.

    A ``queue.Queue`` (same blocking ``get``), whose storage keeps visual frames apart: a new
    frame of a stream replaces the one the socket has not sent yet (counted in
    ``skipped_visuals``); other messages queue in order up to ``limit`` and are sent first.
    """

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self._limit = limit
        self.skipped_visuals = 0
        super().__init__()  # unbounded for Queue itself: _put enforces the limit on ordered messages

    def _init(self, maxsize: int) -> None:
        self._ordered: deque[object] = deque()
        self._visual: dict[str, str] = {}  # stream id -> newest frame text (insertion = arrival order)

    def _qsize(self) -> int:
        return len(self._ordered) + len(self._visual)

    def _put(self, item: object) -> None:
        stream = visual_stream(item) if isinstance(item, str) else None
        if stream is not None:
            if self._visual.pop(stream, None) is not None:
                self.skipped_visuals += 1  # the socket had not sent the previous one yet
            self._visual[stream] = item  # type: ignore[assignment]
        elif len(self._ordered) >= self._limit:
            raise queue.Full
        else:
            self._ordered.append(item)

    def _get(self) -> object:
        if self._ordered:
            return self._ordered.popleft()
        return self._visual.pop(next(iter(self._visual)))


class VisualWriter:
    """Writes the newest visual frame of each room to its direct sockets, in its own thread.

    The Redis reader only drops the frame text into a slot per room and stream: if writing to a big room
    takes longer than a frame period, older frames are replaced (``skipped``) instead of piling
    up in Redis's output buffer, so the delay stays bounded however large the room.
    """

    def __init__(self, sockets_of: Callable[[str], list[DirectSocket]]) -> None:
        self._sockets_of = sockets_of
        self._cond = threading.Condition()
        self._latest: dict[tuple[str, str], str] = {}  # (channel, stream id) -> newest frame text
        self._thread: threading.Thread | None = None
        self.skipped = 0
        self.written = 0

    def submit(self, channel: str, stream: str, text: str) -> None:
        """Queue ``text``, a visual frame of ``stream`` (parsed once by the caller)."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="visual-writer", daemon=True)
                self._thread.start()
            key = (channel, stream)
            if key in self._latest:
                self.skipped += 1
            self._latest[key] = text
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._latest:
                    self._cond.wait()
                batch, self._latest = self._latest, {}
            for (channel, _stream), text in batch.items():
                frame = text_frame(text)  # built once per room and frame
                for sock in self._sockets_of(channel):
                    sock.offer(frame)  # the same bytes for every socket of the room
                self.written += 1


class RedisHub:
    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._lock = threading.Lock()
        self._queues: dict[str, set[queue.Queue[object]]] = defaultdict(set)
        # Room sockets registered with their WebSocket: visual frames go straight onto the wire.
        self._direct: dict[queue.Queue[object], DirectSocket] = {}
        self._writer = VisualWriter(self._direct_sockets)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.connected = threading.Event()

    def subscribe(self, channel: str, ws: Any = None) -> queue.Queue[object]:
        """A feed of ``channel``'s messages. Given a room socket's ``ws``, its visual frames
        skip the feed: they are written to the socket directly (see ``fanout.py``)."""
        self._ensure_started()
        room = is_room_channel(channel)
        q: queue.Queue[object] = RoomFeed() if room else queue.Queue(maxsize=QUEUE_LIMIT)
        direct = DirectSocket(ws) if room and ws is not None and hasattr(ws, "sock") else None
        with self._lock:
            self._queues[channel].add(q)
            if direct is not None:
                self._direct[q] = direct
        return q

    def unsubscribe(self, channel: str, q: queue.Queue[object]) -> None:
        with self._lock:
            listeners = self._queues.get(channel)
            self._direct.pop(q, None)
            if listeners is not None:
                listeners.discard(q)
                if not listeners:
                    del self._queues[channel]

    def _direct_sockets(self, channel: str) -> list[DirectSocket]:
        with self._lock:
            return [d for q in self._queues.get(channel, ()) if (d := self._direct.get(q)) is not None]

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
                try:
                    while not self._stopped.is_set():
                        message = pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self._dispatch(message["channel"].decode(), message["data"])
                finally:
                    # Close the connection on the way out (stop or error): not left to the GC.
                    with contextlib.suppress(redis.RedisError, OSError):
                        pubsub.close()
                        client.close()
            except redis.RedisError as exc:
                self.connected.clear()
                log.warning("Redis pub/sub lost (%s); reconnecting", exc)
                time.sleep(0.5)

    def _dispatch(self, channel: str, data: object) -> None:
        with self._lock:
            listeners = list(self._queues.get(channel, ()))
            direct = [self._direct.get(q) for q in listeners]
        if not listeners:
            return
        if isinstance(data, bytes):
            data = data.decode()  # once per message, not once per socket
        stream = visual_stream(data) if isinstance(data, str) else None
        visual = stream is not None
        if stream is not None and any(sock is not None for sock in direct):
            self._writer.submit(channel, stream, data)  # type: ignore[arg-type]
        for q, sock in zip(listeners, direct, strict=True):
            if visual and sock is not None:
                continue  # the writer puts it on this socket directly
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
