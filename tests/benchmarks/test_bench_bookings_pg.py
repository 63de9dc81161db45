"""Bookings per second with zero oversell at 50 concurrent clients on PostgreSQL.

The control plane runs as its real server (gunicorn gthread) against PostgreSQL; 50 clients
(asyncio + aiohttp, one connection each) book one seat each as fast as they can. Phase 1 has
seats for everyone (throughput); phase 2 has far fewer seats than buyers (contention).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from downbeat.settings import load_settings
from tests.benchmarks.report import report
from tests.support.services import free_port, postgres_available, postgres_database, running_redis, wait_port

pytestmark = pytest.mark.benchmark
CLIENTS = 50
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# Few threads per process: 64 threads fighting over one GIL make every request slower.
THREADS = int(os.environ.get("BENCH_THREADS", "8"))


def _people(database_url: str, count: int) -> list[str]:
    """Users made directly in the database; tokens signed with the server's test key."""
    from argon2 import PasswordHasher

    from control_plane import create_app
    from control_plane.accounts.models import User
    from control_plane.accounts.tokens import issue_tokens
    from control_plane.extensions import db

    settings = load_settings("test", environ={})
    settings = replace(settings, database=replace(settings.database, url=database_url))
    app = create_app(settings)
    password = PasswordHasher().hash("x" * 12)
    with app.app_context():
        users = [
            User(
                email=f"bench{i}-{time.time_ns()}@example.com",
                name=f"B{i}",
                roles=["user", "facilitator"],
                password_hash=password,
            )
            for i in range(count)
        ]
        db.session.add_all(users)
        db.session.flush()
        tokens = [issue_tokens(u)["access_token"] for u in users]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens


async def _race(base: str, session_id: int, tokens: list[str]) -> tuple[list[float], dict[int, int], float]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for token in tokens:
        queue.put_nowait(token)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            while not queue.empty():
                token = queue.get_nowait()
                started = time.perf_counter()
                async with http.post(
                    f"{base}/api/bookings",
                    json={"session_id": session_id},
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies, statuses, time.perf_counter() - started


def test_bench_bookings_per_second_postgres(tmp_path: Path) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    from control_plane.migrate import upgrade

    with postgres_database() as database_url, running_redis(tmp_path) as redis_url:
        upgrade(database_url)
        port = free_port()
        env = {
            **os.environ,
            "DOWNBEAT_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "DOWNBEAT_CONTROL_PLANE__PORT": str(port),
            "DOWNBEAT_CONTROL_PLANE__WORKERS": str(WORKERS),
            "DOWNBEAT_DATA_DIR": str(tmp_path),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "downbeat", "control-plane"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port, 60)
            base = f"http://127.0.0.1:{port}"
            rows = []
            for phase, seats, buyers in (("throughput", 3000, 3000), ("contention", 200, 2000)):
                tokens = _people(database_url, buyers + 1)
                session_id = _create_session(base, tokens[0], seats)
                latencies, statuses, wall = asyncio.run(_race(base, session_id, tokens[1:]))
                confirmed = statuses.get(201, 0)
                taken = _seats_taken(database_url, session_id)
                assert confirmed == min(seats, buyers) == taken  # zero oversell, zero undersell
                latencies.sort()
                rows.append(
                    [
                        phase,
                        seats,
                        buyers,
                        confirmed,
                        statuses.get(409, 0),
                        buyers / wall,
                        confirmed / wall,
                        statistics.median(latencies),
                        latencies[int(0.95 * (len(latencies) - 1))],
                        taken - confirmed,
                    ]
                )
        finally:
            server.terminate()
            server.wait(30)
    report(
        "bookings_postgres",
        ["phase", "seats", "requests", "201", "409", "requests/s", "bookings/s", "p50 ms", "p95 ms", "oversold"],
        rows,
        f"{CLIENTS} concurrent clients, gunicorn {WORKERS} workers x {THREADS} threads, "
        "PostgreSQL on the same 2-core machine.",
    )


def _create_session(base: str, token: str, capacity: int) -> int:
    from tests.support.stack import http_json

    status, body = http_json(
        "POST",
        f"{base}/api/sessions",
        {
            "title": "Bench",
            "starts_at": "2031-05-01T18:00:00+00:00",
            "ends_at": "2031-05-01T20:00:00+00:00",
            "capacity": capacity,
            "status": "published",
        },
        token=token,
    )
    assert status == 201, body
    return int(body["id"])


def _seats_taken(database_url: str, session_id: int) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT seats_taken FROM sessions WHERE id = :id"), {"id": session_id}).scalar_one()
        confirmed = conn.execute(
            text("SELECT count(*) FROM bookings WHERE session_id = :id AND status = 'confirmed'"), {"id": session_id}
        ).scalar_one()
    engine.dispose()
    assert taken == confirmed
    return int(taken)
