"""Which analyzer row holds which live stream (sans-IO; tested synchronously).

Kernel state lives in fixed-size ``LiveAnalyzer`` instances (one row per stream). The pool
hands a new stream a free row, resetting it, and grows by adding another analyzer of the same
size when every row is taken, so capacity grows without copying state and one ``process``
call per analyzer still advances every stream that has a hop waiting in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Analyzer", "SlotPool", "StreamSlot"]


class Analyzer(Protocol):
    """What the pool needs of ``analysis_kernels.LiveAnalyzer``."""

    streams: int
    hop: int

    def reset(self, stream_index: int) -> None: ...

    def process_arrays(self, block: npt.NDArray[np.float32], rows: npt.NDArray[np.int64] | None = None) -> object: ...


@dataclass
class StreamSlot:
    """One live stream's place in the pool and what the worker remembers about it."""

    stream_id: str
    room_code: str
    analyzer: int
    row: int
    last_seq: int = -1
    last_seen_ms: float = 0.0
    hops: int = 0
    dropped_late: int = 0
    gaps: int = 0


class SlotPool:
    def __init__(self, make_analyzer: Callable[[], Analyzer], *, max_analyzers: int = 64) -> None:
        self._make = make_analyzer
        self._max_analyzers = max_analyzers
        self.analyzers: list[Analyzer] = []
        self._free: list[tuple[int, int]] = []  # (analyzer, row), popped from the end
        self.streams: dict[str, StreamSlot] = {}

    @property
    def capacity(self) -> int:
        return sum(a.streams for a in self.analyzers)

    def get(self, stream_id: str) -> StreamSlot | None:
        return self.streams.get(stream_id)

    def open(self, stream_id: str, room_code: str, now_ms: float) -> StreamSlot:
        """A fresh slot for ``stream_id`` (its old one, if any, is released first: a restart)."""
        self.release(stream_id)
        if not self._free:
            self._grow()
        index, row = self._free.pop()
        self.analyzers[index].reset(row)
        slot = StreamSlot(stream_id, room_code, index, row, last_seen_ms=now_ms)
        self.streams[stream_id] = slot
        return slot

    def release(self, stream_id: str) -> StreamSlot | None:
        slot = self.streams.pop(stream_id, None)
        if slot is not None:
            self._free.append((slot.analyzer, slot.row))
        return slot

    def idle(self, now_ms: float, idle_ms: float) -> list[str]:
        """Streams that sent nothing for ``idle_ms``: a disconnect nobody announced."""
        return [sid for sid, slot in self.streams.items() if now_ms - slot.last_seen_ms > idle_ms]

    def _grow(self) -> None:
        if len(self.analyzers) >= self._max_analyzers:
            raise RuntimeError(f"analysis capacity exhausted ({self.capacity} streams)")
        analyzer = self._make()
        index = len(self.analyzers)
        self.analyzers.append(analyzer)
        # Lowest rows first, so a lightly loaded pool keeps its streams in few rows.
        self._free.extend((index, row) for row in reversed(range(analyzer.streams)))
        # Older analyzers' rows stay preferred: they sit at the end of the free list.
        self._free.sort(key=lambda pair: (-pair[0], -pair[1]))
