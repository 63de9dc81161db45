"""The live worker's core without faust: slots, sequence checks, rounds, refusals, idle ends.

Runs the real numba ``LiveAnalyzer`` (no fakes): the engine is pure apart from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from contracts import AudioHop, StreamEnded, StreamStarted, encode, encode_audio_hop
from contracts.live import AUDIO_HOP_HEADER, MAX_AUDIO_HOP_BYTES
from stream_workers.live import LiveEngine
from stream_workers.slots import SlotPool
from tests.support.drums import drum_track

NOW = 1_800_000_000_000.0
HOP = 800


def hop(stream: str, seq: int, samples: np.ndarray | None = None, room: str = "ABCDEF", at: float = NOW) -> bytes:
    data = np.full(HOP, 0.1, np.float32) if samples is None else samples
    return encode_audio_hop(AudioHop(stream, room, seq, at, 48000, data.astype(np.float32)))


def engine(rows: int = 2) -> LiveEngine:
    return LiveEngine(48000, HOP, rows_per_analyzer=rows)


def test_a_drum_track_gives_its_tempo_and_regular_beats() -> None:
    x = drum_track(120.0, 10.0)
    live = engine()
    frames = [live.handle([hop("s1", k, x[k * HOP : (k + 1) * HOP])], NOW)[0] for k in range(x.size // HOP)]
    assert frames[-1].bpm == pytest.approx(120.0, abs=2.0)
    beats = [f.seq for f in frames if f.beat and f.seq is not None]
    assert len(beats) >= 8
    assert set(np.diff(beats[-6:]).tolist()) <= {29, 30, 31}  # 0.5 s apart at 60 hops/s


def test_late_and_duplicated_hops_are_dropped_not_fatal() -> None:
    live = engine()
    assert len(live.handle([hop("s1", 0), hop("s1", 1)], NOW)) == 1
    assert live.handle([hop("s1", 1), hop("s1", 0)], NOW) == []
    assert live.stats.late == 2
    out = live.handle([hop("s1", 5)], NOW)  # a gap (lost hops) is fine: keep going
    assert [f.seq for f in out] == [5]
    assert live.pool.get("s1").gaps == 1  # type: ignore[union-attr]


def test_many_hops_of_one_stream_in_a_batch_are_analysed_in_order_and_published_once() -> None:
    live = engine()
    out = live.handle([hop("s1", k) for k in range(5)] + [hop("s2", 0)], NOW)
    assert sorted((f.stream_id, f.seq) for f in out) == [("s1", 4), ("s2", 0)]
    assert live.stats.hops == 6
    assert live.stats.kernel_calls == 5  # round 0 holds both streams: one call advances both


def test_slots_grow_past_one_analyzer_and_are_reused_after_an_end() -> None:
    live = engine(rows=2)
    out = live.handle([hop(f"s{i}", 0) for i in range(5)], NOW)
    assert len(out) == 5 and len(live.pool.analyzers) == 3
    ended = live.handle([encode(StreamEnded(stream_id="s0", room_code="ABCDEF"))], NOW)
    assert ended[0].ended and ended[0].stream_id == "s0"
    live.handle([hop("s9", 0)], NOW)
    assert len(live.pool.analyzers) == 3  # s0's row went to s9
    assert {s.stream_id for s in live.pool.streams.values()} == {"s1", "s2", "s3", "s4", "s9"}


def test_a_started_event_gives_a_fresh_slot_and_resets_the_sequence() -> None:
    live = engine()
    live.handle([hop("s1", k) for k in range(3)], NOW)
    started = StreamStarted(stream_id="s1", room_code="ABCDEF", sample_rate=48000, hop=HOP)
    out = live.handle([encode(started), hop("s1", 0)], NOW)
    assert [f.seq for f in out] == [0]


def test_oversized_or_malformed_frames_are_refused_and_other_streams_keep_going() -> None:
    live = engine()
    oversized = hop("s1", 0)[: AUDIO_HOP_HEADER.size] + b"\0" * MAX_AUDIO_HOP_BYTES
    wrong_size = encode_audio_hop(AudioHop("s3", "ABCDEF", 0, NOW, 48000, np.zeros(1024, np.float32)))
    out = live.handle([oversized, b"\x00garbage", wrong_size, hop("s2", 0), b"{not json"], NOW)
    assert [f.stream_id for f in out] == ["s2"]
    assert live.stats.refused == 4


def test_stale_hops_are_skipped_after_a_backlog() -> None:
    live = engine()
    assert live.handle([hop("s1", 0, at=NOW - 10_000)], NOW) == []
    assert live.stats.stale == 1 and live.pool.get("s1") is None


def test_streams_that_go_quiet_are_ended_by_the_sweep() -> None:
    live = engine()
    live.handle([hop("s1", 0), hop("s2", 0)], NOW)
    live.handle([hop("s2", 1, at=NOW + 4000)], NOW + 4000)
    ended = live.sweep(NOW + 6000)
    assert [(f.stream_id, f.ended) for f in ended] == [("s1", True)]
    assert live.pool.get("s1") is None and live.pool.get("s2") is not None


def test_a_worker_that_never_saw_the_start_rebuilds_the_tempo_within_seconds() -> None:
    """Rebalance: the stream arrives mid-way (seq 600) at a worker with no state for it."""
    x = drum_track(120.0, 18.0)
    live = engine()
    first = 600
    known = None
    for k in range(first, x.size // HOP):
        frame = live.handle([hop("s1", k, x[k * HOP : (k + 1) * HOP])], NOW)[0]
        if frame.bpm is not None and abs(frame.bpm - 120.0) <= 2.0:
            known = k - first
            break
    assert known is not None and known < 6 * 60


def test_pool_refuses_beyond_its_limit() -> None:
    from analysis_kernels import LiveAnalyzer

    pool = SlotPool(lambda: LiveAnalyzer(48000, 1), max_analyzers=2)
    pool.open("a", "ABCDEF", NOW)
    pool.open("b", "ABCDEF", NOW)
    with pytest.raises(RuntimeError, match="capacity"):
        pool.open("c", "ABCDEF", NOW)
