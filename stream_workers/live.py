"""Live analysis of audio hops, free of faust: raw messages in, visual parameters out.

``LiveEngine.handle`` takes one batch of ``audio.frames`` messages from many streams, drops
what must not be analysed (undecodable or oversized frames, hops older than
``MAX_FRAME_AGE_MS``, late or duplicated sequence numbers), and advances every stream with
one ``LiveAnalyzer.process_arrays(block, rows)`` call per analyzer and round (round ``k``
holds each stream's ``k``-th hop of the batch, so one stream's hops stay in order).

Each stream yields at most one visual frame per batch (the newest, with beat and onset flags
of the skipped rounds carried over): a backlog is analysed but never published as a burst.
A worker that picks up a stream it has never seen (restart, rebalance) opens a fresh slot;
the kernels' tempo and key rebuild within a few seconds.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis_kernels import FLOAT_FIELDS, INT_FIELDS, LiveAnalyzer
from analysis_kernels.design import key_name
from contracts import (
    AudioHop,
    AudioHopError,
    BandEnergy,
    DecodeError,
    StreamEnded,
    StreamStarted,
    VisualParams,
    decode,
    decode_audio_hop,
    is_audio_hop,
)
from stream_workers.slots import Analyzer, SlotPool, StreamSlot

__all__ = ["MAX_FRAME_AGE_MS", "EngineStats", "LagWindow", "LiveEngine"]

log = logging.getLogger(__name__)
MAX_FRAME_AGE_MS = 2000.0  # after a restart or backlog, stale audio would only delay the picture
IDLE_MS = 5000.0  # a stream silent this long lost its peer without an announcement
POOL_ROWS = 16
F = {name: i for i, name in enumerate(FLOAT_FIELDS)}
I = {name: i for i, name in enumerate(INT_FIELDS)}  # noqa: E741 - column table, reads like F
MEL_FLOOR_DB = -100.0  # band power (mean square) mapped to 0..1 over -100..-20 dB (drums peak near -20)
MEL_RANGE_DB = 80.0


@dataclass
class EngineStats:
    hops: int = 0
    refused: int = 0  # undecodable, oversized, wrong rate or size
    stale: int = 0
    late: int = 0  # duplicated or out-of-order sequence numbers
    streams_opened: int = 0
    streams_closed: int = 0
    batches: int = 0
    kernel_calls: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class LagWindow:
    """The last ``size`` lags (ms) seen at one stage, for /healthz: where does time go?"""

    def __init__(self, size: int = 600) -> None:
        self._values = np.zeros(size)
        self._count = 0

    def add(self, lag_ms: float) -> None:
        self._values[self._count % self._values.size] = lag_ms
        self._count += 1

    def summary(self) -> dict[str, float]:
        n = min(self._count, self._values.size)
        if n == 0:
            return {}
        p50, p95, p99 = np.percentile(self._values[:n], [50, 95, 99])
        return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1)}


@dataclass
class _Pending:
    slot: StreamSlot
    hops: list[AudioHop] = field(default_factory=list)


def _nan_none(value: float, digits: int = 4) -> float | None:
    return None if math.isnan(value) else round(value, digits)


class LiveEngine:
    def __init__(
        self,
        sample_rate: int,
        hop: int,
        *,
        rows_per_analyzer: int = POOL_ROWS,
        max_age_ms: float = MAX_FRAME_AGE_MS,
        idle_ms: float = IDLE_MS,
        make_analyzer: Callable[[], Analyzer] | None = None,
    ) -> None:
        self.sample_rate, self.hop = sample_rate, hop
        self.max_age_ms, self.idle_ms = max_age_ms, idle_ms
        self.pool = SlotPool(make_analyzer or (lambda: LiveAnalyzer(sample_rate, rows_per_analyzer)))
        self.stats = EngineStats()
        self.intake_lag = LagWindow()  # capture at media -> hop taken by this worker

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel now, before the first live hop:
        a cold compile takes seconds, and a stream must not wait for it."""
        slot = self.pool.open("warm-up", "222222", 0.0)
        analyzer = self.pool.analyzers[slot.analyzer]
        rows = np.array([slot.row], dtype=np.int64)
        analyzer.process_arrays(np.zeros((1, self.hop), np.float32), rows)
        self.pool.release("warm-up")

    def handle(self, raw_messages: list[bytes], now_ms: float) -> list[VisualParams]:
        """One batch: decode, drop what must be dropped, analyse, one frame per stream."""
        self.stats.batches += 1
        pending: dict[str, _Pending] = {}
        out: list[VisualParams] = []
        for raw in raw_messages:
            if is_audio_hop(raw):
                self._take_hop(raw, now_ms, pending)
                continue
            try:
                event = decode(raw)
            except DecodeError:
                self.stats.refused += 1
                log.warning("skipping an undecodable message on audio.frames (%d bytes)", len(raw))
                continue
            if isinstance(event, StreamStarted):
                out.extend(self._analyse(pending))  # hops before the restart belong to the old state
                pending.clear()
                self.pool.open(event.stream_id, event.room_code, now_ms)
                self.stats.streams_opened += 1
            elif isinstance(event, StreamEnded):
                out.extend(self._analyse(pending))
                pending.clear()
                out.extend(self._close(event.stream_id, event.room_code))
        out.extend(self._analyse(pending))
        return out

    def sweep(self, now_ms: float) -> list[VisualParams]:
        """Free the slots of streams that went quiet without a ``StreamEnded``."""
        ended: list[VisualParams] = []
        for stream_id in self.pool.idle(now_ms, self.idle_ms):
            slot = self.pool.get(stream_id)
            if slot is not None:
                ended.extend(self._close(stream_id, slot.room_code))
        return ended

    # --- intake ---------------------------------------------------------------------------

    def _take_hop(self, raw: bytes, now_ms: float, pending: dict[str, _Pending]) -> None:
        try:
            hop = decode_audio_hop(raw)
        except AudioHopError as exc:
            self.stats.refused += 1
            log.warning("refused an audio hop: %s", exc)
            return
        if hop.sample_rate != self.sample_rate or hop.samples.size != self.hop:
            self.stats.refused += 1
            log.warning("refused a hop of %d samples at %d Hz", hop.samples.size, hop.sample_rate)
            return
        if now_ms - hop.capture_ms > self.max_age_ms:
            self.stats.stale += 1
            return
        self.intake_lag.add(now_ms - hop.capture_ms)
        entry = pending.get(hop.stream_id)
        slot = entry.slot if entry else self.pool.get(hop.stream_id)
        if slot is None:  # a stream this worker has not seen: restart, rebalance, or a lost start event
            slot = self.pool.open(hop.stream_id, hop.room_code, now_ms)
            self.stats.streams_opened += 1
        if hop.seq <= slot.last_seq:
            self.stats.late += 1
            slot.dropped_late += 1
            return
        if hop.seq > slot.last_seq + 1 and slot.last_seq >= 0:
            slot.gaps += 1
        slot.last_seq = hop.seq
        slot.last_seen_ms = now_ms
        pending.setdefault(hop.stream_id, _Pending(slot)).hops.append(hop)

    def _close(self, stream_id: str, room_code: str) -> list[VisualParams]:
        slot = self.pool.release(stream_id)
        self.stats.streams_closed += slot is not None
        t_ms = 0.0
        if slot is not None and slot.last_seq >= 0:
            t_ms = (slot.last_seq + 1) * self.hop * 1000.0 / self.sample_rate
        # A last frame tells every visualiser in the room that this stream is over.
        return [
            VisualParams.model_construct(
                room_code=room_code, stream_id=stream_id, t_ms=t_ms, rms=0.0, peak=0.0, ended=True
            )
        ]

    # --- analysis ---------------------------------------------------------------------------

    def _analyse(self, pending: dict[str, _Pending]) -> list[VisualParams]:
        if not pending:
            return []
        frames: dict[str, dict[str, Any]] = {}
        rounds = max(len(p.hops) for p in pending.values())
        for k in range(rounds):
            by_analyzer: dict[int, list[tuple[StreamSlot, AudioHop]]] = defaultdict(list)
            for entry in pending.values():
                if k < len(entry.hops):
                    by_analyzer[entry.slot.analyzer].append((entry.slot, entry.hops[k]))
            for index, group in by_analyzer.items():
                self._run(index, group, frames)
        return [VisualParams.model_construct(**frame) for frame in frames.values()]

    def _run(self, index: int, group: list[tuple[StreamSlot, AudioHop]], frames: dict[str, dict[str, Any]]) -> None:
        analyzer = self.pool.analyzers[index]
        rows = np.fromiter((slot.row for slot, _ in group), dtype=np.int64, count=len(group))
        block = np.stack([hop.samples for _, hop in group])
        out: Any = analyzer.process_arrays(block, rows)
        self.stats.kernel_calls += 1
        self.stats.hops += len(group)
        floats, ints = out.floats.tolist(), out.ints.tolist()
        chroma = np.round(out.chroma, 3).tolist()
        db = 10.0 * np.log10(np.maximum(out.mel, 1e-12))
        mel = np.round(np.clip((db - MEL_FLOOR_DB) / MEL_RANGE_DB, 0.0, 1.0), 3).tolist()
        for r, (slot, hop) in enumerate(group):
            slot.hops += 1
            f, i = floats[r], ints[r]
            previous = frames.get(slot.stream_id)
            frames[slot.stream_id] = {
                "room_code": slot.room_code,
                "stream_id": slot.stream_id,
                "t_ms": hop.t_ms,
                "seq": hop.seq,
                "capture_ms": hop.capture_ms,
                "rms": f[F["rms"]],
                "peak": f[F["peak"]],
                "bpm": _nan_none(f[F["bpm"]], 2),
                # A beat in a skipped round must still reach the room: carry it forward.
                "beat": bool(i[I["beat"]]) or bool(previous and previous["beat"]),
                "onset_event": bool(i[I["onset_event"]]) or bool(previous and previous["onset_event"]),
                "beat_phase": _nan_none(f[F["beat_phase"]]),
                "onset": round(f[F["onset"]], 4),
                "energy": BandEnergy.model_construct(
                    low=round(f[F["low"]], 4), mid=round(f[F["mid"]], 4), high=round(f[F["high"]], 4)
                ),
                "loudness_lufs": round(f[F["loudness_lufs"]], 2),
                "centroid_hz": round(f[F["centroid_hz"]], 1),
                "flux": round(f[F["flux"]], 4),
                "chroma": chroma[r],
                "key": key_name(i[I["key"]]),
                "mel": mel[r],
            }
