"""Musician search over 100,000 generated profiles: p50/p95 latency through the HTTP API.

For SQLite and for PostgreSQL: migrate, bulk-insert 100,000 musicians (instruments, genres,
coordinates around 40 cities, rates, bios, weekly availability for 70 % of them, and 5,000
accepted engagements in the searched week), ANALYZE, start the real server (gunicorn, as
``downbeat control-plane`` runs it), then one client sends each filter mix sequentially over
one keep-alive connection. Beside the HTTP figures, the same searches run in-process
(``search_musicians`` on the benchmark's own connection: SQL plus shaping, no HTTP) as the
reference that shows how much is the database and how much is the web layer; ``/healthz``
gives the floor of a request that does nothing.

Goal: p95 < 20 ms. Run: ``.venv/bin/pytest tests/benchmarks/test_bench_search.py -m benchmark -s``
(``BENCH_SEARCH_PROFILES`` and ``BENCH_SEARCH_REQUESTS`` change the sizes).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from sqlalchemy import Engine, create_engine, insert, text

from downbeat.settings import load_settings
from tests.benchmarks.report import report
from tests.support.services import free_port, postgres_available, postgres_database, running_redis, wait_port

pytestmark = pytest.mark.benchmark

PROFILES = int(os.environ.get("BENCH_SEARCH_PROFILES", "100000"))
REQUESTS = int(os.environ.get("BENCH_SEARCH_REQUESTS", "200"))
WARMUP = 20
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
GOAL_P95_MS = 20.0
SEED = 8

CITIES = [
    ("Berlin", 52.52, 13.405, "Europe/Berlin"), ("Hamburg", 53.55, 9.99, "Europe/Berlin"),
    ("Munich", 48.14, 11.58, "Europe/Berlin"), ("Cologne", 50.94, 6.96, "Europe/Berlin"),
    ("Leipzig", 51.34, 12.37, "Europe/Berlin"), ("Vienna", 48.21, 16.37, "Europe/Vienna"),
    ("Zurich", 47.38, 8.54, "Europe/Zurich"), ("Paris", 48.86, 2.35, "Europe/Paris"),
    ("Lyon", 45.76, 4.84, "Europe/Paris"), ("London", 51.51, -0.13, "Europe/London"),
    ("Manchester", 53.48, -2.24, "Europe/London"), ("Dublin", 53.35, -6.26, "Europe/Dublin"),
    ("Amsterdam", 52.37, 4.9, "Europe/Amsterdam"), ("Brussels", 50.85, 4.35, "Europe/Brussels"),
    ("Copenhagen", 55.68, 12.57, "Europe/Copenhagen"), ("Stockholm", 59.33, 18.07, "Europe/Stockholm"),
    ("Oslo", 59.91, 10.75, "Europe/Oslo"), ("Helsinki", 60.17, 24.94, "Europe/Helsinki"),
    ("Warsaw", 52.23, 21.01, "Europe/Warsaw"), ("Prague", 50.08, 14.44, "Europe/Prague"),
    ("Budapest", 47.5, 19.04, "Europe/Budapest"), ("Madrid", 40.42, -3.7, "Europe/Madrid"),
    ("Barcelona", 41.39, 2.17, "Europe/Madrid"), ("Lisbon", 38.72, -9.14, "Europe/Lisbon"),
    ("Rome", 41.9, 12.5, "Europe/Rome"), ("Milan", 45.46, 9.19, "Europe/Rome"),
    ("Athens", 37.98, 23.73, "Europe/Athens"), ("Istanbul", 41.01, 28.98, "Europe/Istanbul"),
    ("New York", 40.71, -74.0, "America/New_York"), ("Nashville", 36.16, -86.78, "America/Chicago"),
    ("Chicago", 41.88, -87.63, "America/Chicago"), ("Los Angeles", 34.05, -118.24, "America/Los_Angeles"),
    ("New Orleans", 29.95, -90.07, "America/Chicago"), ("Toronto", 43.65, -79.38, "America/Toronto"),
    ("Montreal", 45.5, -73.57, "America/Toronto"), ("Mexico City", 19.43, -99.13, "America/Mexico_City"),
    ("Sao Paulo", -23.55, -46.63, "America/Sao_Paulo"), ("Tokyo", 35.68, 139.69, "Asia/Tokyo"),
    ("Melbourne", -37.81, 144.96, "Australia/Melbourne"), ("Adelaide", -34.93, 138.6, "Australia/Adelaide"),
]  # fmt: skip
INSTRUMENTS = [
    "Drums", "Bass", "Guitar", "Piano", "Keys", "Vocals", "Saxophone", "Trumpet", "Trombone",
    "Violin", "Viola", "Cello", "Double bass", "Flute", "Clarinet", "Percussion", "Synth",
    "Harp", "Accordion", "Banjo", "Mandolin", "Organ", "Tuba", "Oud", "Sitar",
]  # fmt: skip
GENRES = [
    "Jazz", "Funk", "Soul", "Rock", "Pop", "Hip hop", "Classical", "Folk", "Country", "Blues",
    "Metal", "Reggae", "Latin", "Electronic", "Gospel", "Indie", "Punk", "Afrobeat", "RnB", "Ambient",
]  # fmt: skip
FIRST = ["Ada", "Ben", "Cleo", "Dev", "Eve", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kira", "Leo", "Mia", "Nico",
         "Olga", "Pia", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Vito", "Wren", "Xena", "Yuri", "Zoe"]  # fmt: skip
LAST = ["Brushes", "Lowend", "Stix", "Ride", "Soul", "Keys", "Reed", "Bell", "Strings", "Groove", "Vox",
        "Horn", "Tone", "Beat", "Chord", "Fret", "Slide", "Mallet", "Snare", "Hammond"]  # fmt: skip
BIO_WORDS = [
    "session",
    "touring",
    "studio",
    "live",
    "improviser",
    "sight",
    "reader",
    "arranger",
    "bebop",
    "swing",
    "groove",
    "pocket",
    "brushes",
    "orchestral",
    "chamber",
    "wedding",
    "festival",
    "theatre",
    "musical",
    "recording",
    "producer",
    "songwriter",
    "teacher",
    "vintage",
    "analog",
    "modular",
    "latin",
    "cuban",
    "brazilian",
    "balkan",
    "klezmer",
    "gospel",
    "choir",
    "big",
    "band",
    "quartet",
    "trio",
]
WEEK_START = datetime(2031, 5, 5, tzinfo=UTC)  # a Monday


# --- generating the data -----------------------------------------------------------------


def _load(engine: Engine, count: int) -> dict[str, Any]:
    """Bulk-insert ``count`` musicians (Core executemany, batches of 5,000)."""
    from control_plane.accounts.models import User
    from control_plane.musicians.models import (
        NO_RATE,
        BookingRequest,
        MusicianAvailability,
        MusicianGenre,
        MusicianInstrument,
        MusicianProfile,
        MusicianWeekWindow,
        Project,
    )
    from control_plane.musicians.services.availability import Availability
    from control_plane.musicians.services.profiles import search_words
    from control_plane.musicians.services.week_index import week_windows

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        first_id = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM users")).scalar_one()) + 1
    for batch_start in range(0, count, 5000):
        users, profiles, instruments, genres, availability, windows = [], [], [], [], [], []
        for n in range(batch_start, min(count, batch_start + 5000)):
            user_id = first_id + n
            city, lat, lon, zone = rng.choice(CITIES)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
            plays = rng.sample(INSTRUMENTS, rng.choice((1, 1, 2, 3)))
            likes = rng.sample(GENRES, rng.choice((1, 2, 3)))
            rate = None if rng.random() < 0.1 else rng.randrange(5_000, 60_000, 500)
            users.append(
                {
                    "id": user_id,
                    "email": f"m{n}@bench.example",
                    "password_hash": "x",
                    "name": name,
                    "roles": ["musician"],
                    "timezone": zone,
                    "created_at": now,
                }
            )
            profiles.append(
                {
                    "user_id": user_id,
                    "display_name": name,
                    "genres": likes,
                    "bio": " ".join(rng.sample(BIO_WORDS, 8)),
                    "city": city,
                    "lat": lat + rng.uniform(-0.3, 0.3),
                    "lon": lon + rng.uniform(-0.45, 0.45),
                    "rate_amount": rate,
                    "rate_currency": "EUR",
                    "rate_per": rng.choice(("hour", "session")),
                    "rate_sort": NO_RATE if rate is None else rate,
                    "links": [],
                    "photo_url": None,
                    "search_text": search_words(plays, likes, city),
                    "rating_count": 0,
                    "rating_sum": 0,
                    "rating_rank": round(rng.uniform(2.5, 4.9), 3),
                    "updated_at": now,
                }
            )
            instruments += [
                {"user_id": user_id, "key": p.casefold(), "name": p, "position": i} for i, p in enumerate(plays)
            ]
            genres += [{"user_id": user_id, "key": g.casefold()} for g in likes]
            if rng.random() < 0.7:
                days = rng.sample(range(7), rng.randint(2, 5))
                start = rng.choice((9, 10, 14, 17, 18))
                weekly = [
                    {
                        "weekday": d,
                        "start": f"{start:02d}:00",
                        "end": f"{min(24, start + rng.choice((4, 6, 8))):02d}:00",
                    }
                    for d in sorted(days)
                ]
                availability.append(
                    {
                        "user_id": user_id,
                        "timezone": None,
                        "weekly": weekly,
                        "exceptions": [],
                        "updated_at": now,
                        "indexed_zone": zone,
                        "has_open_dates": False,
                    }
                )
                parsed = Availability.from_json(zone, weekly, [])
                windows += [{"user_id": user_id, "start_w": s, "end_w": e} for s, e in week_windows(parsed, now)]
        with engine.begin() as conn:
            conn.execute(insert(User.__table__), users)
            conn.execute(insert(MusicianProfile.__table__), profiles)
            conn.execute(insert(MusicianInstrument.__table__), instruments)
            conn.execute(insert(MusicianGenre.__table__), genres)
            if availability:
                conn.execute(insert(MusicianAvailability.__table__), availability)
                conn.execute(insert(MusicianWeekWindow.__table__), windows)
    # 5,000 accepted engagements in the searched week (one per musician: no overlaps).
    with engine.begin() as conn:
        producer = first_id + count
        conn.execute(
            insert(User.__table__),
            [
                {
                    "id": producer,
                    "email": "producer@bench.example",
                    "password_hash": "x",
                    "name": "Bench Producer",
                    "roles": ["producer"],
                    "timezone": "UTC",
                    "created_at": now,
                }
            ],
        )
        project_id = conn.execute(
            insert(Project.__table__).returning(Project.__table__.c.id),
            [
                {
                    "owner_id": producer,
                    "title": "Bench",
                    "description": "",
                    "starts_at": WEEK_START,
                    "ends_at": WEEK_START + timedelta(days=7),
                    "timezone": "UTC",
                    "location": "",
                    "instruments_needed": [],
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        ).scalar_one()
        engaged = rng.sample(range(first_id, first_id + count), min(5000, count))
        rows = []
        for musician in engaged:
            starts = WEEK_START + timedelta(hours=rng.randrange(0, 7 * 24 - 4))
            rows.append(
                {
                    "project_id": project_id,
                    "requester_id": producer,
                    "musician_id": musician,
                    "instrument": "Drums",
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=3),
                    "offer_amount": 10000,
                    "offer_currency": "EUR",
                    "message": "",
                    "status": "accepted",
                    "expires_at": starts,
                    "reason": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(insert(BookingRequest.__table__), rows)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return {"seconds": time.perf_counter() - started}


# --- the filter mixes --------------------------------------------------------------------


def _window(rng: random.Random) -> dict[str, str]:
    start = WEEK_START + timedelta(days=rng.randrange(7), hours=rng.choice((10, 15, 19)))
    return {"available_from": start.isoformat(), "available_to": (start + timedelta(hours=2)).isoformat()}


def _near(rng: random.Random) -> str:
    _city, lat, lon, _zone = rng.choice(CITIES)
    return f"{lat:.3f},{lon:.3f}"


MIXES: dict[str, Callable[[random.Random], dict[str, str]]] = {
    "instrument+near+radius": lambda r: {
        "instrument": r.choice(INSTRUMENTS), "near": _near(r), "radius_km": "50"},
    "genre+max_rate+sort=rate": lambda r: {
        "genre": r.choice(GENRES), "max_rate": str(r.randrange(10_000, 40_000, 1000)), "sort": "rate"},
    "q text": lambda r: {"q": r.choice(BIO_WORDS + [g.split()[0] for g in GENRES] + FIRST)},
    "availability window": lambda r: _window(r),
    "combined": lambda r: {
        "instrument": r.choice(INSTRUMENTS[:8]), "near": _near(r), "radius_km": "100",
        "max_rate": "40000", "sort": "rating", **_window(r)},
}  # fmt: skip


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _http(base: str, rng: random.Random, mix: Callable[[random.Random], dict[str, str]]) -> tuple[list[float], float]:
    latencies, found = [], 0
    with requests.Session() as http:
        for n in range(WARMUP + REQUESTS):
            url = f"{base}/api/musicians?{urlencode({**mix(rng), 'limit': '20'})}"
            started = time.perf_counter()
            answer = http.get(url, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200, answer.text[:300]
            if n >= WARMUP:
                latencies.append(elapsed)
                found += len(answer.json()["items"])
    return latencies, found / REQUESTS


def _in_process(database_url: str, rng: random.Random, mix: Callable[[random.Random], dict[str, str]]) -> list[float]:
    """The reference: the same use case without HTTP (parse, SQL, shaping)."""
    from control_plane.app import create_app
    from control_plane.kits.extensions import db
    from control_plane.musicians.schemas import SearchQuery
    from control_plane.musicians.services.search import search_musicians
    from control_plane.musicians.services.search_filters import search_filters

    settings = load_settings("test", environ={})
    app = create_app(replace(settings, database=replace(settings.database, url=database_url)))
    latencies = []
    with app.app_context():
        for n in range(WARMUP + REQUESTS):
            params = {**mix(rng), "limit": "20"}
            started = time.perf_counter()
            search_musicians(db.session, search_filters(SearchQuery.model_validate(dict(parse_qsl(urlencode(params))))))
            db.session.rollback()
            if n >= WARMUP:
                latencies.append((time.perf_counter() - started) * 1000)
        db.session.remove()
        db.engine.dispose()
    return latencies


@contextmanager
def _server(database_url: str, tmp_path: Path, redis_url: str) -> Iterator[str]:
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
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def _measure(database_url: str, label: str, tmp_path: Path, redis_url: str) -> list[list[Any]]:
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    engine = create_engine(database_url)
    loaded = _load(engine, PROFILES)
    engine.dispose()
    rows: list[list[Any]] = []
    with _server(database_url, tmp_path, redis_url) as base:
        with requests.Session() as http:
            floor = []
            for _ in range(WARMUP + REQUESTS):
                started = time.perf_counter()
                http.get(f"{base}/healthz", timeout=10)
                floor.append((time.perf_counter() - started) * 1000)
        p50, p95 = _percentiles(floor[WARMUP:])
        rows.append([label, "/healthz (floor)", p50, p95, "", "", "", ""])
        for name, mix in MIXES.items():
            latencies, found = _http(base, random.Random(SEED), mix)
            reference = _in_process(database_url, random.Random(SEED), mix)
            p50, p95 = _percentiles(latencies)
            r50, r95 = _percentiles(reference)
            rows.append([label, name, p50, p95, r50, r95, round(found, 1), "yes" if p95 < GOAL_P95_MS else "no"])
    rows.append([label, f"load {PROFILES} profiles (s)", round(loaded["seconds"], 1), "", "", "", "", ""])
    return rows


COLUMNS = [
    "db",
    "mix",
    "http p50 ms",
    "http p95 ms",
    "in-process p50 ms",
    "in-process p95 ms",
    "items/page",
    "p95<20ms",
]
NOTES = (
    f"{PROFILES} profiles, {REQUESTS} sequential requests per mix (after {WARMUP} warm-up) over one keep-alive "
    f"connection, gunicorn {WORKERS} workers; the in-process columns run the same searches without HTTP. "
    "Shared 2-core machine: other work runs beside it."
)


@pytest.mark.timeout(3600)
def test_bench_search_sqlite(tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    with running_redis(tmp_path / "redis") as redis_url:
        rows = _measure(f"sqlite:///{tmp_path / 'search.db'}", "sqlite", tmp_path, redis_url)
    report("musician_search_sqlite", COLUMNS, rows, NOTES)


@pytest.mark.timeout(3600)
def test_bench_search_postgres(tmp_path: Path) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    (tmp_path / "redis").mkdir()
    with running_redis(tmp_path / "redis") as redis_url, postgres_database() as database_url:
        rows = _measure(database_url, "postgresql", tmp_path, redis_url)
    report("musician_search_postgres", COLUMNS, rows, NOTES)
