"""Fan-out from one gateway process to 250, 500 and 1,000 WebSocket clients in one room at 60
frames/s: delivery delay p50/p99, whether p99 grows over the run, and what share of frames
arrived, for the naive flask-sock broadcaster and Downbeat's hub (queue per socket, and direct
writes of one pre-built frame) side by side (modes: tests/benchmarks/fanout_server.py).

Both servers run as the control plane does (gunicorn gthread, one process, flask-sock). The
clients (raw sockets, two processes, see fanout_clients.py) and Redis share the same two cores, as in the reference
measurement quoted in issue 7 (naive: p99 45 ms at 500 clients, 117 ms at 1,000).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest
import redis

from tests.benchmarks.fanout_server import CHANNEL, RATE_HZ, frame_body
from tests.benchmarks.report import report
from tests.support.services import free_port, wait_port

pytestmark = pytest.mark.benchmark
CLIENTS = (250, 500, 1000)
SECONDS = 10.0
CLIENT_PROCESSES = 2
MODES = ("naive", "hub-queue", "hub-direct")


def _publish(redis_url: str, stop: threading.Event) -> None:
    client = redis.Redis.from_url(redis_url)
    seq = 0
    next_tick = time.monotonic()
    while not stop.is_set():
        next_tick += 1 / RATE_HZ
        time.sleep(max(0.0, next_tick - time.monotonic()))
        # Encoded once per frame, as the stream worker does; the gateway forwards the text.
        client.publish(CHANNEL, json.dumps(frame_body(seq), separators=(",", ":")))
        seq += 1


def _run(mode: str, n: int, redis_url: str) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.fanout_server", mode, str(port), redis_url, str(n + 64)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop = threading.Event()
    publisher = threading.Thread(target=_publish, args=(redis_url, stop), daemon=True)
    try:
        wait_port(port)
        ramp_s = 3.0 + n / 120
        start_at = time.time() + ramp_s
        per = n // CLIENT_PROCESSES
        clients = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.benchmarks.fanout_clients",
                    "127.0.0.1",
                    str(port),
                    str(per),
                    str(SECONDS),
                    str(start_at),
                ],
                stdout=subprocess.PIPE,
            )
            for _ in range(CLIENT_PROCESSES)
        ]
        if mode != "naive":
            publisher.start()
        results = [json.loads(c.communicate(timeout=ramp_s + SECONDS + 60)[0]) for c in clients]
    finally:
        stop.set()
        server.terminate()
        server.wait(15)
    delays = [d for r in results for t, d in r["delays"] if 0 <= t <= SECONDS]
    early = [d for r in results for t, d in r["delays"] if 0 <= t < SECONDS / 3]
    late = [d for r in results for t, d in r["delays"] if SECONDS * 2 / 3 <= t <= SECONDS]
    connected = sum(r["connected"] for r in results)
    received = sum(r["received"] for r in results)
    return {
        "mode": mode,
        "clients": connected,
        "p50_ms": round(float(np.percentile(delays, 50)), 1) if delays else None,
        "p99_ms": round(float(np.percentile(delays, 99)), 1) if delays else None,
        "p99_first_third_ms": round(float(np.percentile(early, 99)), 1) if early else None,
        "p99_last_third_ms": round(float(np.percentile(late, 99)), 1) if late else None,
        "frames_per_client_s": round(received / max(1, connected) / SECONDS, 1),
    }


def test_fanout_hub_against_naive_broadcaster(redis_url: str) -> None:
    rows = []
    for n in CLIENTS:
        for mode in MODES:
            r = _run(mode, n, redis_url)
            rows.append(
                [
                    r["mode"],
                    n,
                    r["clients"],
                    r["p50_ms"],
                    r["p99_ms"],
                    r["p99_first_third_ms"],
                    r["p99_last_third_ms"],
                    r["frames_per_client_s"],
                ]
            )
    report(
        "live_fanout",
        ["mode", "clients", "connected", "p50 ms", "p99 ms", "p99 1st third", "p99 last third", "frames/client/s"],
        rows,
        notes=(
            f"60 frames/s for {SECONDS:.0f} s after the ramp; one gunicorn gthread process; clients (raw sockets, "
            f"64 KB receive buffers, timing the newest frame of each read) in {CLIENT_PROCESSES} processes and "
            "Redis on the same 2 cores (shared with other work: numbers are under contention). "
            "Growth = p99 last third vs first third."
        ),
    )
