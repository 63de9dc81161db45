"""The messages area on a real threaded server (concurrent requests, sockets) with the real
Redis, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from control_plane.kits.extensions import NOTIFICATIONS_KEY
from tests.conftest import make_settings
from tests.integration.room_helpers import LiveServer, live_server


class EmptyInbox:
    """The notification service's client for a socket test: no stored notifications (the
    notification service is not what these tests are about; its store has its own tests)."""

    def since(self, user_id: int, since: int | None, limit: int = 500) -> dict[str, Any]:
        return {"items": [], "has_more": False, "epoch": "messages-tests", "unread": 0}


@pytest.fixture
def server(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[LiveServer]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    settings = make_settings(tmp_path, database_url, redis_url)
    # Every request of a parallel test inside the app at once (the gate lets 4 by default).
    settings = replace(settings, control_plane=replace(settings.control_plane, busy_requests=32))
    app = create_app(settings, TESTING=True)
    app.extensions[NOTIFICATIONS_KEY] = EmptyInbox()
    with live_server(app) as running:
        yield running
    app.extensions["downbeat.hub"].stop()
    app.extensions["downbeat.redis"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
