"""Bookings per second with zero oversell at 50 concurrent clients on PostgreSQL.

The control plane runs as its real server (gunicorn gthread, 2 processes, the shipped thread
count) against PostgreSQL; 50 clients (the lean asyncio client of ``http_load``, one
connection each) book one seat each, every request with its own ``Idempotency-Key`` (what
real clients send). Phases, each first as fast as the clients can go (closed loop), then
spread and hot again scheduled at ``BENCH_RATE`` (open loop):

- ``spread``: the bookings go to 50 sessions (little row-lock contention);
- ``hot``: every booking goes to one session (all of them queue on its counter row);
- ``contention``: one session with far fewer seats than buyers (refusals, oversell check).

Every phase checks zero oversell: 201 answers == ``seats_taken`` == confirmed bookings ==
outbox rows. ``BENCH_LABEL`` names the run (JSON ``bookings_postgres_<label>.json``).

Old and new in the same run: ``BENCH_BASELINE=/path/to/another/checkout`` serves the same
phases from that tree too, alternating baseline and this tree ``BENCH_ROUNDS`` times (2 by
default) against the same database, and prints the ratio this/baseline of every phase's
bookings/s, p95 and server CPU per request, with the machine's load average. Make the
baseline with ``git worktree add /tmp/baseline <commit>``; it needs no install, since the
server runs ``python -m downbeat`` from that folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from downbeat.settings import load_settings
from tests.benchmarks.http_load import Request, closed_loop, open_loop
from tests.benchmarks.report import report
from tests.support.services import free_port, postgres_available, postgres_database, running_redis, wait_port

pytestmark = pytest.mark.benchmark
CLIENTS = 50
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# The shipped thread count (configs/base.toml) unless asked otherwise: BENCH_THREADS=4 shows
# what fewer threads fighting over one GIL give.
THREADS = int(os.environ.get("BENCH_THREADS", "0")) or load_settings("test", environ={}).control_plane.threads
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
LABEL = os.environ.get("BENCH_LABEL", "current")
BASELINE = os.environ.get("BENCH_BASELINE", "")  # another checkout, served in the same run
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
# A diagnostic, not a recommendation: "off" shows how much of a phase is the WAL flush.
SYNCHRONOUS_COMMIT = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "on")
SPREAD_SESSIONS = 50
# The issue's goal rate; the open-loop phases schedule requests at it (latency at that load).
RATE = float(os.environ.get("BENCH_RATE", "300"))
COLUMNS = [
    "label",
    "round",
    "phase",
    "load",
    "sessions",
    "seats",
    "requests",
    "201",
    "409",
    "requests/s",
    "bookings/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "server cpu ms/req",
    "db cpu ms/req",
    "client cpu ms/req",
    "oversold",
]


def _people(database_url: str, count: int) -> list[str]:
    """Users made directly in the database; tokens signed with the server's test key."""
    from argon2 import PasswordHasher

    from control_plane.accounts.auth import issue_tokens
    from control_plane.accounts.models import User
    from control_plane.app import create_app
    from control_plane.kits.extensions import db

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


def _requests(work: list[tuple[str, int]]) -> list[Request]:
    """Built before the clock starts: the client only sends and reads during a phase."""
    return [
        Request(
            "POST",
            "/api/bookings",
            {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            json.dumps({"session_id": session_id}).encode(),
        )
        for token, session_id in work
    ]


def _expected(status: int, body: bytes) -> None:
    assert status in (201, 409), (status, body[:300])


def _server(database_url: str, redis_url: str, tmp_path: Path, port: int, tree: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOWNBEAT_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "DOWNBEAT_CONTROL_PLANE__PORT": str(port),
        "DOWNBEAT_CONTROL_PLANE__WORKERS": str(WORKERS),
        "DOWNBEAT_CONTROL_PLANE__THREADS": str(THREADS),
        "DOWNBEAT_DATA_DIR": str(tmp_path),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "downbeat", "control-plane"],
        env=env,
        cwd=tree or None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each process so far (Linux /proc): the cost of a request whatever
    else the shared machine runs, unlike wall-clock throughput."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def _server_pids(server_pid: int) -> list[int]:
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return [server_pid, *(int(pid) for pid in children)]


def _backend_pids(database_url: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalars()
        result = [int(pid) for pid in pids]
    engine.dispose()
    return result


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def _phase(
    port: int,
    database_url: str,
    server_pid: int,
    name: str,
    sessions: int,
    seats: int,
    buyers: int,
    rate: float | None = None,
) -> list[Any]:
    base = f"http://127.0.0.1:{port}"
    tokens = _people(database_url, buyers + 1)
    session_ids = [_create_session(base, tokens[0], seats) for _ in range(sessions)]
    work = [(token, session_ids[i % sessions]) for i, token in enumerate(tokens[1:])]
    server_before = _cpu_seconds(_server_pids(server_pid))
    db_before = _cpu_seconds(_backend_pids(database_url))
    requests = _requests(work)
    client_before = time.process_time()
    if rate is None:
        run = asyncio.run(closed_loop("127.0.0.1", port, requests, CLIENTS, _expected))
    else:
        run = asyncio.run(open_loop("127.0.0.1", port, requests, CLIENTS, rate, _expected))
    client_cpu = time.process_time() - client_before
    statuses, wall = run.statuses, run.wall_s
    server_cpu = _cpu_used(server_before, _cpu_seconds(_server_pids(server_pid)))
    db_cpu = _cpu_used(db_before, _cpu_seconds(_backend_pids(database_url)))
    confirmed = statuses.get(201, 0)
    taken = sum(_seats_taken(database_url, session_id) for session_id in session_ids)
    assert confirmed == min(seats * sessions, buyers) == taken  # zero oversell, zero undersell
    return [
        name,
        "closed" if rate is None else f"open {rate:g}/s",
        sessions,
        seats * sessions,
        buyers,
        confirmed,
        statuses.get(409, 0),
        buyers / wall,
        confirmed / wall,
        run.percentile(0.50),
        run.percentile(0.95),
        run.percentile(0.99),
        1000 * server_cpu / buyers,
        1000 * db_cpu / buyers,
        1000 * client_cpu / buyers,
        taken - confirmed,
    ]


def test_bench_bookings_per_second_postgres(tmp_path: Path) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    from control_plane.kits.db.migrations import upgrade

    trees = [("baseline", BASELINE), (LABEL, "")] if BASELINE else [(LABEL, "")]
    rows: list[list[Any]] = []
    loads: list[float] = []
    with postgres_database() as database_url, running_redis(tmp_path) as redis_url:
        upgrade(database_url)
        _set_synchronous_commit(database_url, SYNCHRONOUS_COMMIT)
        for round_no in range(ROUNDS if BASELINE else 1):
            for label, tree in trees:
                rows += [[label, round_no + 1, *row] for row in _run_tree(tree, database_url, redis_url, tmp_path)]
                loads.append(os.getloadavg()[0])
    table = list(rows)
    if BASELINE:
        table += _ratios(rows, LABEL)
    baseline_note = f"Baseline tree: {BASELINE}; 'ratio' rows are this tree / baseline, mean of the rounds."
    report(
        f"bookings_postgres_{LABEL}",
        COLUMNS,
        table,
        f"{CLIENTS} concurrent clients, gunicorn {WORKERS} workers x {THREADS} threads, one Idempotency-Key "
        f"per request, PostgreSQL (synchronous_commit={SYNCHRONOUS_COMMIT}), server and clients on the same "
        f"2-core machine; 1-minute load average after each tree's phases: {', '.join(f'{x:.2f}' for x in loads)}. "
        + (baseline_note if BASELINE else ""),
    )


def _run_tree(tree: str, database_url: str, redis_url: str, tmp_path: Path) -> list[list[Any]]:
    port = free_port()
    server = _server(database_url, redis_url, tmp_path, port, tree)
    try:
        wait_port(port, 60)
        pid = server.pid
        _phase(port, database_url, pid, "warm-up", 1, 400, 400)  # imports, pools, prepared statements
        per_session = REQUESTS // SPREAD_SESSIONS
        return [
            _phase(port, database_url, pid, "spread", SPREAD_SESSIONS, per_session, REQUESTS),
            _phase(port, database_url, pid, "hot", 1, REQUESTS, REQUESTS),
            _phase(port, database_url, pid, "contention", 1, 200, REQUESTS),
            _phase(port, database_url, pid, "spread", SPREAD_SESSIONS, per_session, REQUESTS, RATE),
            _phase(port, database_url, pid, "hot", 1, REQUESTS, REQUESTS, RATE),
        ]
    finally:
        server.terminate()
        server.wait(30)


RATIO_COLUMNS = ("bookings/s", "p95 ms", "server cpu ms/req")


def _ratios(rows: list[list[Any]], label: str) -> list[list[Any]]:
    """One row per phase: this tree's mean over rounds / the baseline's, for the columns that
    tell speed (bookings/s: above 1 is faster; p95 and CPU: below 1 is better)."""
    out: list[list[Any]] = []
    keys = sorted({(row[2], row[3]) for row in rows}, key=lambda key: [(r[2], r[3]) for r in rows].index(key))
    for phase, load in keys:
        ratio: list[Any] = ["ratio", "-", phase, load] + ["" for _ in COLUMNS[4:]]
        for column in RATIO_COLUMNS:
            index = COLUMNS.index(column)
            mine = [r[index] for r in rows if r[0] == label and (r[2], r[3]) == (phase, load)]
            base = [r[index] for r in rows if r[0] == "baseline" and (r[2], r[3]) == (phase, load)]
            ratio[index] = (sum(mine) / len(mine)) / (sum(base) / len(base)) if mine and base else ""
        out.append(ratio)
    return out


def _set_synchronous_commit(database_url: str, value: str) -> None:
    from sqlalchemy import create_engine, text

    assert value in ("on", "off")
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = {value}'))
    engine.dispose()


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
        events = conn.execute(
            text(
                "SELECT count(*) FROM outbox WHERE event_type = 'booking.created' "
                "AND key = convert_to(CAST(:id AS text), 'UTF8')"
            ),
            {"id": session_id},
        ).scalar_one()
    engine.dispose()
    assert taken == confirmed == events  # every booking has exactly one event
    return int(taken)
