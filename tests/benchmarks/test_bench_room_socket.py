"""Room socket timings on loopback: ping round trip and how long the server holds a ping,
host command to a listener's `state`, and the lead left when a `play` arrives.

Run on demand: ``.venv/bin/pytest tests/benchmarks/test_bench_room_socket.py -m benchmark -s``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.benchmarks.report import report
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer
from tests.integration.people import many_people
from tests.integration.room_helpers import RoomClient, audio_bytes, live_server, room_settings

pytestmark = pytest.mark.benchmark
PINGS = 300
COMMANDS = 100
LEAD_MS = 250


def _stats(values: list[float]) -> list[float]:
    a = np.asarray(values)
    return [float(np.percentile(a, 50)), float(np.percentile(a, 95)), float(a.max())]


def _pong_of(stamp: float) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "pong" and m["client_time_ms"] == stamp


def _state_playing(playing: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "state" and m["playing"] is playing


def test_bench_room_socket(tmp_path: Path, redis_url: str) -> None:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    database_url = f"sqlite:///{tmp_path / 'bench.db'}"
    upgrade(database_url)
    app = create_app(room_settings(make_settings(tmp_path, database_url, redis_url), lead_ms=LEAD_MS))
    host, guest = many_people(app, 2)
    client = app.test_client()
    code = client.post("/api/rooms", json={"name": "Bench"}, headers=bearer(host)).get_json()["code"]
    client.post(f"/api/rooms/{code}/join", headers=bearer(guest))
    data = {"file": (io.BytesIO(audio_bytes("FLAC", seconds=180.0)), "long.flac")}
    track = client.post("/api/tracks", data=data, headers=bearer(host), content_type="multipart/form-data").get_json()
    with live_server(app) as server:
        a = RoomClient(server.ws_base, code, host["access_token"])
        b = RoomClient(server.ws_base, code, guest["access_token"])
        for ws in (a, b):
            ws.wait_for(lambda m: m["type"] == "state")
        a.send({"type": "queue_add", "track_id": track["id"]})
        b.wait_for(lambda m: m["type"] == "queue" and m["items"])
        rtt, hold = [], []
        for i in range(PINGS):
            sent = time.perf_counter()
            b.send({"type": "ping", "client_time_ms": float(i)})
            pong = b.wait_for(_pong_of(float(i)))
            rtt.append((time.perf_counter() - sent) * 1000)
            hold.append(pong["server_time_ms"] - pong["server_receive_ms"])
        fanout, lead_left = [], []
        for i in range(COMMANDS):
            sent = time.perf_counter()
            a.send({"type": "play" if i % 2 == 0 else "pause"})
            state = b.wait_for(_state_playing(i % 2 == 0))
            fanout.append((time.perf_counter() - sent) * 1000)
            lead_left.append(state["server_time_ms"] - time.time() * 1000)
        a.close()
        b.close()
        time.sleep(0.3)
    app.extensions["downbeat.hub"].stop()
    app.extensions["downbeat.room_ticker"].stop()
    rows = [
        ["ping round trip (ms)", *_stats(rtt)],
        ["server hold of a ping (ms)", *_stats(hold)],
        ["host command -> listener state (ms)", *_stats(fanout)],
        [f"lead left on arrival (ms, of {LEAD_MS})", *_stats(lead_left)],
    ]
    report(
        "room_socket",
        ["measure", "p50", "p95", "max"],
        rows,
        notes="loopback, werkzeug threaded server, SQLite, real Redis; 2 shared cores under other load",
    )
    assert len(rtt) == PINGS and len(fanout) == COMMANDS
