"""Capture -> visual on a room socket: the latency of the whole live path on loopback.

A Python WebRTC performer (aiortc, real time, 20 ms Opus frames) streams a 120 BPM drum track
into a room through the real processes (control plane, media, Kafka (Tansu), worker, Redis,
gateway). A WebSocket client on the room measures, for every `visual` frame, arrival time minus
the hop's capture time at ingest (``capture_ms``, stamped by media when the audio completing the
hop arrived). Same machine, same clock. Goal: p95 < 80 ms.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from typing import Any

import numpy as np
import pytest
import websocket

from tests.benchmarks.live_client import go_live
from tests.benchmarks.report import report
from tests.support.drums import drum_track
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.benchmark
SECONDS = 20.0
WARMUP_S = 2.0


class RoomListener(threading.Thread):
    def __init__(self, stack: Stack, code: str, token: str) -> None:
        super().__init__(daemon=True)
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.ws = websocket.create_connection(stack.base.replace("http", "ws") + f"/ws/rooms/{code}", timeout=5)
        self.ws.send(json.dumps({"type": "auth", "token": token, "since": None}))
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                return
            now = time.time() * 1000.0
            if '"type":"visual"' in raw:
                self.frames.append((now, json.loads(raw)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def test_capture_to_socket_latency(stack: Stack) -> None:
    host = register_person(stack.base, ["facilitator"], "Lat Host")
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Latency"}, token=host["access_token"])
    assert status == 201
    listener = RoomListener(stack, room["code"], host["access_token"])
    listener.start()

    async def perform() -> str:
        pc, stream_id = await go_live(stack.base, room["code"], host["access_token"], drum_track(120.0, 30.0))
        await asyncio.sleep(SECONDS)
        await pc.close()
        await asyncio.sleep(2.0)
        return stream_id

    stream_id = asyncio.run(perform())
    with urllib.request.urlopen(f"{stack.url('worker')}/healthz", timeout=5) as response:
        lag = json.loads(response.read())["lag"]
    listener.stop.set()
    listener.ws.close()
    frames = [(at, f) for at, f in listener.frames if f.get("stream_id") == stream_id and not f.get("ended")]
    assert frames, "no visual frames arrived"
    first = frames[0][0]
    steady = [(at, f) for at, f in frames if at - first > WARMUP_S * 1000]
    latency = [at - f["capture_ms"] for at, f in steady]
    span_s = (steady[-1][0] - steady[0][0]) / 1000.0
    bpm = steady[-1][1].get("bpm")
    row = [
        len(steady),
        round(len(steady) / span_s, 1),
        round(percentile(latency, 50), 1),
        round(percentile(latency, 95), 1),
        round(percentile(latency, 99), 1),
        round(max(latency), 1),
        lag["intake"].get("p95_ms"),
        lag["fanout"].get("p95_ms"),
        bpm,
    ]
    report(
        "live_latency",
        ["frames", "frames/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "worker intake p95", "fanout p95", "bpm"],
        [row],
        notes=(
            "capture_ms (media, hop complete) -> visual frame received on a room WebSocket; loopback, "
            "all processes and the performer on the same 2 shared cores. Goal: p95 < 80 ms. "
            "Stage columns (worker /healthz, last 600 hops): capture -> hop at the worker, capture -> frame to Redis."
        ),
    )
