"""Cheap WebSocket clients for the fan-out benchmark: N raw sockets in one process, one selector.

Python WebSocket clients cost tens of microseconds per message, so 1,000 of them at 60 frames/s
would starve on two cores and measure themselves. These read whatever bytes are waiting per
socket, count frames with ``bytes.count`` and time only the newest frame of each read (its
``sent_ms`` against the arrival time): the delay of the freshest picture the client has. A
small receive buffer (64 KB, about 100 frames) keeps the kernel from hiding a backlog on the
client side, as a real network window would.

Run: ``python -m tests.benchmarks.fanout_clients HOST PORT N SECONDS START_AT`` -> JSON on stdout:
``{"connected": n, "received": frames, "delays": [[t_offset_s, delay_ms], ...]}``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import selectors
import socket
import sys
import time

RCVBUF = 64 * 1024
SENT = re.compile(rb'"sent_ms":([0-9.]+)')
MARK = b'"type":"visual"'
SAMPLE_EVERY = 3  # keep a third of the timed reads: plenty for p99, a small JSON


def connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise ConnectionError(head[:80].decode(errors="replace"))
    sock.setblocking(False)
    return sock


def main(host: str, port: int, n: int, seconds: float, start_at: float) -> None:
    sel = selectors.DefaultSelector()
    connected = 0
    for i in range(n):
        try:
            sel.register(connect(host, port), selectors.EVENT_READ)
            connected += 1
        except OSError:
            pass
        if i % 50 == 49:
            time.sleep(0.02)
    received = 0
    delays: list[list[float]] = []
    until = start_at + seconds
    reads = 0
    while time.time() < until:
        for key, _ in sel.select(timeout=0.1):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                sel.unregister(sock)
                continue
            if not data:
                sel.unregister(sock)
                continue
            now = time.time()
            if now < start_at:
                continue
            received += data.count(MARK)
            sent = None
            for sent in SENT.finditer(data):  # noqa: B007 - the last match is the newest frame
                pass
            reads += 1
            if sent is not None and reads % SAMPLE_EVERY == 0:
                delays.append([round(now - start_at, 3), round(now * 1000.0 - float(sent.group(1)), 2)])
    json.dump({"connected": connected, "received": received, "delays": delays}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
