"""Shared fixtures: real broker, real Redis, real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from downbeat.settings import Settings, load_settings
from tests.support.s3 import running_moto_s3
from tests.support.services import postgres_available, postgres_database, running_redis, running_tansu
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    from downbeat.kafka import create_topics

    with running_tansu() as bootstrap:
        create_topics(bootstrap)
        yield bootstrap


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server for the session: its endpoint URL (use a fresh bucket per test)."""
    with running_moto_s3() as endpoint:
        yield endpoint


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'downbeat.db'}"
        return
    if not postgres_available():
        if os.environ.get("DOWNBEAT_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (DOWNBEAT_REQUIRE_POSTGRES=1) but not reachable")
        pytest.skip("PostgreSQL is not reachable at DOWNBEAT_TEST_POSTGRES")
    with postgres_database() as url:
        yield url


def make_settings(tmp_path: Path, database_url: str, redis_url: str = "", bootstrap: str = "") -> Settings:
    settings = load_settings("test", environ={})
    return replace(
        settings,
        data_dir=str(tmp_path),
        database=replace(settings.database, url=database_url),
        redis=replace(settings.redis, url=redis_url or "redis://127.0.0.1:1/0"),
        kafka=replace(settings.kafka, bootstrap=bootstrap or "127.0.0.1:1"),
        # Nothing listens on port 1: a `make up` stack running beside the tests is never reached.
        media=replace(settings.media, port=1),
    )


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    flask_app = create_app(make_settings(tmp_path, database_url), TESTING=True)
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


PROCESSES = ("control-plane", "relay", "notifications", "media", "worker")


@pytest.fixture(scope="session")
def stack(broker: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(data_dir=tmp_path_factory.mktemp("stack"), bootstrap=broker, redis_url=redis_url)
    running.run("migrate")
    for name in PROCESSES:
        running.start(name)
    try:
        running.wait_ready(*PROCESSES)
        yield running
    finally:
        running.stop_all()
