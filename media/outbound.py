"""The bounded queue between the WebRTC tracks and the Kafka producer (sans-IO core).

Live audio that waits is worth less every millisecond: when the producer falls behind, the
oldest *hop* is dropped (and counted, per stream) so the queue never builds latency. Stream
lifecycle events are never dropped, and everything keeps its order, so a stream's
``StreamEnded`` still follows its last hop on the partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["OutboundQueue", "Outgoing", "run_sender"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    key: bytes
    value: bytes
    droppable: bool  # a hop (True) or a lifecycle event (False)
    stream_id: str


class OutboundQueue:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self.limit = limit
        self._items: deque[Outgoing] = deque()
        self._ready = asyncio.Event()
        self.dropped = 0
        self.dropped_by_stream: Counter[str] = Counter()
        self.enqueued = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Outgoing) -> None:
        """Never blocks: a full queue loses its oldest hop instead."""
        if len(self._items) >= self.limit:
            self._drop_oldest_hop()
        self._items.append(item)
        self.enqueued += 1
        self._ready.set()

    def _drop_oldest_hop(self) -> None:
        for index, queued in enumerate(self._items):
            if queued.droppable:
                del self._items[index]
                self.dropped += 1
                self.dropped_by_stream[queued.stream_id] += 1
                return
        # Only events queued (cannot happen with sane limits): let it grow rather than lose one.

    def take_all(self) -> list[Outgoing]:
        items = list(self._items)
        self._items.clear()
        self._ready.clear()
        return items

    async def wait(self) -> None:
        await self._ready.wait()


async def run_sender(queue: OutboundQueue, send: Callable[[Outgoing], Awaitable[None]]) -> None:
    """Drain ``queue`` into ``send`` forever; a failed send is logged, never fatal."""
    while True:
        await queue.wait()
        for item in queue.take_all():
            try:
                await send(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                with contextlib.suppress(Exception):
                    log.warning("could not publish to audio.frames (%s); dropping", exc)
