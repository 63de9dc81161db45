"""A worker added during a live stream: the gap in visual frames while the consumer group
rebalances, and how long until the tempo is known again if the stream moved to the new worker
(its state is rebuilt from the audio, not transferred). Then the added worker stops: the gap
of the second rebalance."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.benchmarks.live_client import go_live
from tests.benchmarks.report import report
from tests.benchmarks.test_bench_live_latency import RoomListener
from tests.support.drums import drum_track
from tests.support.people import register_person
from tests.support.services import free_port
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.benchmark


def _gap_after(frames: list[tuple[float, dict[str, Any]]], event_ms: float, window_ms: float) -> dict[str, Any]:
    window = [(at, f) for at, f in frames if event_ms - 500 <= at <= event_ms + window_ms]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(window)]
    # A stream that moved to a worker without its state shows no tempo until it is rebuilt.
    longest, run_start = 0.0, None
    for at, f in window:
        if f.get("bpm") is None:
            run_start = at if run_start is None else run_start
            longest = max(longest, at - run_start)
        else:
            run_start = None
    return {"max_gap_ms": round(max(gaps), 1) if gaps else None, "tempo_rebuilt_s": round(longest / 1000, 2)}


def test_worker_joining_and_leaving_during_a_stream(stack: Stack) -> None:
    host = register_person(stack.base, ["facilitator"], "Rebalance Host")
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Rebalance"}, token=host["access_token"])
    assert status == 201
    listener = RoomListener(stack, room["code"], host["access_token"])
    listener.start()
    port = free_port()
    events: dict[str, float] = {}
    extra: subprocess.Popen[bytes] | None = None

    async def perform() -> str:
        nonlocal extra
        pc, stream_id = await go_live(stack.base, room["code"], host["access_token"], drum_track(120.0, 30.0))
        await asyncio.sleep(10)
        events["join"] = time.time() * 1000
        extra = subprocess.Popen(
            [sys.executable, "-m", "downbeat", "worker"],
            env={**stack.env, "DOWNBEAT_WORKER__PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.sleep(25)
        events["leave"] = time.time() * 1000
        extra.send_signal(signal.SIGTERM)
        await asyncio.sleep(20)
        await pc.close()
        return stream_id

    try:
        stream_id = asyncio.run(perform())
    finally:
        if extra is not None and extra.poll() is None:
            extra.kill()
        if extra is not None:
            extra.wait(30)
        listener.stop.set()
        listener.ws.close()
    frames = [(at, f) for at, f in listener.frames if f.get("stream_id") == stream_id and not f.get("ended")]
    assert frames
    steady = _gap_after(frames, events["join"] - 6000, 5000)
    joined = _gap_after(frames, events["join"], events["leave"] - events["join"])
    left = _gap_after(frames, events["leave"], 19_000)
    report(
        "live_rebalance",
        ["phase", "max gap ms", "tempo rebuilt after s"],
        [
            ["steady (one worker)", steady["max_gap_ms"], steady["tempo_rebuilt_s"]],
            ["second worker joins", joined["max_gap_ms"], joined["tempo_rebuilt_s"]],
            ["second worker leaves", left["max_gap_ms"], left["tempo_rebuilt_s"]],
        ],
        notes=(
            "Gap = longest time between consecutive visual frames of the stream on a room socket. 'tempo rebuilt' "
            "= longest run without a tempo (0 when the stream's partition stayed on its worker). "
            "faust session timeout 6 s, heartbeat 1 s. "
            "Shared 2-core machine under load."
        ),
    )
