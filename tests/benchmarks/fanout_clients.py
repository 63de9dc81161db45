"""WebSocket clients for the fan-out benchmark: N connections in one asyncio process, each
recording, per message, arrival time minus the frame's ``sent_ms``.

Run: ``python -m tests.benchmarks.fanout_clients URL N SECONDS`` -> JSON on stdout:
``{"connected": n, "delays": [[t_offset_s, delay_ms], ...] (sampled), "received": n}``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

import aiohttp

SAMPLE = 0.2  # keep a fifth of the delays: plenty for p99, small JSON


async def client(
    session: aiohttp.ClientSession, url: str, t0: float, until: float, out: list[list[float]], counts: list[int]
) -> None:
    async with session.ws_connect(url, autoping=True, max_msg_size=1 << 20) as ws:
        counts[0] += 1
        while time.time() < until:
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout=max(0.1, until - time.time()))
            except TimeoutError:
                break
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.time() * 1000.0
            counts[1] += 1
            if random.random() < SAMPLE:
                sent = json.loads(msg.data)["sent_ms"]
                out.append([round(now / 1000.0 - t0, 3), round(now - sent, 2)])


async def main(url: str, n: int, seconds: float, start_at: float) -> None:
    out: list[list[float]] = []
    counts = [0, 0]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        until = start_at + seconds
        tasks = []
        for i in range(n):
            tasks.append(asyncio.ensure_future(client(session, url, start_at, until, out, counts)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)  # ramp: do not flood the listen backlog
        await asyncio.gather(*tasks, return_exceptions=True)
    json.dump({"connected": counts[0], "received": counts[1], "delays": out}, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
