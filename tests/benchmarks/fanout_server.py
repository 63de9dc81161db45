"""Two WebSocket fan-out servers for the fan-out benchmark, served the way the control plane is
(gunicorn gthread, one process, flask-sock):

- ``hub-direct``: Downbeat's path. Frames arrive on Redis ``room:BENCH`` (JSON encoded once,
  by the publisher, as the stream worker does); ``RedisHub`` frames each one once and writes
  the same bytes to every socket without blocking (a slow socket skips frames).
- ``hub-queue``: the same hub without the direct path: the text goes to every socket's
  ``RoomFeed`` and each socket's own thread sends the newest frame.
- ``naive``: the reference from issue 7: one thread ticking 60 times a second that builds the
  JSON for each tick and loops over the sockets calling ``ws.send``.

Run: ``python -m tests.benchmarks.fanout_server MODE PORT REDIS_URL THREADS``.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from typing import Any

from flask import Flask
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from control_plane.kits.realtime.hub import RedisHub
from control_plane.server import _Gunicorn

CHANNEL = "room:BENCH"
RATE_HZ = 60


def frame_body(seq: int) -> dict[str, Any]:
    """A visual frame of the real size (~650 bytes), stamped with its send time."""
    return {
        "type": "visual",
        "stream_id": "bench",
        "seq": seq,
        "sent_ms": time.time() * 1000.0,
        "t_ms": seq * 1000 / 60,
        "rms": 0.2,
        "peak": 0.5,
        "bpm": 120.0,
        "beat": seq % 30 == 0,
        "beat_phase": (seq % 30) / 30,
        "onset": 0.1,
        "energy": {"low": 0.2, "mid": 0.1, "high": 0.05},
        "loudness_lufs": -14.2,
        "centroid_hz": 1800.5,
        "flux": 0.02,
        "chroma": [0.5] * 12,
        "key": "A minor",
        "mel": [0.42] * 40,
    }


def hub_app(redis_url: str, direct: bool) -> Flask:
    app = Flask(__name__)
    sock = Sock(app)
    hub = RedisHub(redis_url)

    @sock.route("/ws")
    def feed(ws: Any) -> None:
        if direct:  # visual frames go onto the socket from the hub thread; this thread only waits
            live = hub.subscribe(CHANNEL, ws)
            try:
                while True:
                    ws.receive()
            except (ConnectionClosed, OSError):
                pass
            finally:
                hub.unsubscribe(CHANNEL, live)
            return
        live = hub.subscribe(CHANNEL)
        try:
            while True:  # what the room socket's forwarder does with visual frames
                try:
                    item = live.get(timeout=0.5)
                except queue.Empty:
                    continue
                if isinstance(item, str):
                    ws.send(item)
        except (ConnectionClosed, OSError):
            pass
        finally:
            hub.unsubscribe(CHANNEL, live)

    return app


def naive_app() -> Flask:
    app = Flask(__name__)
    sock = Sock(app)
    sockets: set[Any] = set()
    lock = threading.Lock()
    started = threading.Event()

    def broadcast() -> None:
        seq = 0
        next_tick = time.monotonic()
        while True:
            next_tick += 1 / RATE_HZ
            time.sleep(max(0.0, next_tick - time.monotonic()))
            payload = json.dumps(frame_body(seq), separators=(",", ":"))  # JSON per tick
            seq += 1
            with lock:
                targets = list(sockets)
            for ws in targets:
                try:
                    ws.send(payload)
                except (ConnectionClosed, OSError):
                    with lock:
                        sockets.discard(ws)

    @sock.route("/ws")
    def feed(ws: Any) -> None:
        with lock:
            sockets.add(ws)
        if not started.is_set():
            started.set()
            threading.Thread(target=broadcast, daemon=True).start()
        try:
            while True:
                ws.receive()  # blocks; raises ConnectionClosed when the client goes
        except (ConnectionClosed, OSError):
            pass
        finally:
            with lock:
                sockets.discard(ws)

    return app


def main() -> None:
    mode, port, redis_url, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    app = naive_app() if mode == "naive" else hub_app(redis_url, direct=mode == "hub-direct")
    options = {
        "bind": f"127.0.0.1:{port}",
        "worker_class": "gthread",
        "workers": 1,
        "threads": threads,
        "timeout": 0,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "backlog": 4096,
    }
    _Gunicorn(app, options).run()


if __name__ == "__main__":
    main()
