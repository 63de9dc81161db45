"""A lean HTTP/1.1 load generator for benchmarks whose server shares the machine's cores.

aiohttp cost about 0.75 ms of CPU per request on this machine, taken from the same two cores
as the server under test. This client speaks only what the benchmarks need (keep-alive
requests with a JSON body, answers framed by Content-Length or chunked) at a fraction of
that, so more of the machine measures the server rather than the load generator.

Two ways to drive it:

- **closed loop** (``closed_loop``): every connection sends its next request as soon as the
  previous answer arrives; throughput is the server's capacity, and latency grows with it
  (Little's law: 50 connections at 300/s means about 170 ms each on average).
- **open loop** (``open_loop``): requests are *scheduled* at a fixed rate and latency counts
  from the scheduled time, so a request that waited for a busy connection is charged for the
  wait (no coordinated omission, as in wrk2). This answers "what latency at 300 requests/s".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Connection", "Request", "Run", "closed_loop", "open_loop"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Run:
    """What one run saw: latencies (ms), answers by status, wall time (s)."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall_s: float = 0.0

    def record(self, status: int, latency_ms: float) -> None:
        self.latencies_ms.append(latency_ms)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Connection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request) -> tuple[int, bytes]:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.body:
            head += ["Content-Type: application/json", f"Content-Length: {len(request.body)}"]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body)
        status, headers = _parse_head(await self._reader.readuntil(b"\r\n\r\n"))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(self._reader)
        else:
            body = await self._reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def closed_loop(
    host: str, port: int, requests: Sequence[Request], connections: int, check: Callable[[int, bytes], None]
) -> Run:
    """Send ``requests`` over ``connections`` connections, each as fast as answers come."""
    return await _drive(host, port, requests, connections, check, rate_per_s=None)


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: int,
    rate_per_s: float,
    check: Callable[[int, bytes], None],
) -> Run:
    """Send request i at ``i / rate_per_s`` seconds (or when a connection frees up, if later);
    each latency counts from the scheduled moment."""
    return await _drive(host, port, requests, connections, check, rate_per_s=rate_per_s)


async def _drive(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: int,
    check: Callable[[int, bytes], None],
    rate_per_s: float | None,
) -> Run:
    run = Run()
    pending = iter(enumerate(requests))  # one shared iterator: each request is sent once
    loop = asyncio.get_running_loop()
    origin = loop.time() + 0.05

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            for index, request in pending:
                started = loop.time()
                if rate_per_s is not None:
                    started = origin + index / rate_per_s
                    if started > loop.time():
                        await asyncio.sleep(started - loop.time())
                status, body = await connection.send(request)
                run.record(status, (loop.time() - started) * 1000)
                check(status, body)
        finally:
            await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    run.wall_s = time.perf_counter() - began
    return run
