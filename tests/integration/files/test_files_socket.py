"""/ws/projects/{id}/files on a real threaded server with the real Redis: a member hears
each change (a comment, a new version, a resolution) as it happens; a stranger and a former
member are refused exactly like a project that does not exist; a musician whose request is
cancelled stops hearing within seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from flask import Flask

from tests.conftest import make_settings
from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import crew, new_version, upload, wav_bytes
from tests.integration.room_helpers import LiveServer, live_server


@pytest.fixture
def server(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[LiveServer]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    app = create_app(make_settings(tmp_path, database_url, redis_url), TESTING=True)
    with live_server(app) as running:
        yield running
    app.extensions["downbeat.hub"].stop()
    app.extensions["downbeat.redis"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _connect(server: LiveServer, project_id: int, person: dict[str, Any]) -> websocket.WebSocket:
    ws = websocket.create_connection(f"{server.ws_base}/ws/projects/{project_id}/files", timeout=10)
    ws.send(json.dumps({"type": "auth", "token": person["access_token"]}))
    return ws


def _next(ws: websocket.WebSocket, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (pongs and the like are skipped)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = json.loads(ws.recv())
        if message["type"] == kind:
            return dict(message)
    raise AssertionError(f"no {kind} message")


def _refused(ws: websocket.WebSocket) -> dict[str, Any]:
    message = _next(ws, "error")
    ws.close()
    return message


def test_members_hear_changes_and_outsiders_hear_nothing(server: LiveServer) -> None:
    app: Flask = server.app
    client = app.test_client()
    c = crew(client)
    member = _connect(server, c.project_id, c.member)
    assert _next(member, "ready")
    stranger_refusal = _refused(_connect(server, c.project_id, c.stranger))
    missing_refusal = _refused(_connect(server, 987654, c.stranger))
    assert stranger_refusal == missing_refusal
    assert _refused(_connect(server, c.project_id, c.former))["code"] == "not-found"

    file = upload(client, c.owner, c.project_id, wav_bytes(), "take.wav").get_json()
    added = _next(member, "file.changed")
    assert (added["file_id"], added["change"]) == (file["id"], "added")

    comment = client.post(
        f"/api/files/{file['id']}/comments", json={"version": 1, "body": "At 0:00", "at_ms": 0}, headers=bearer(c.owner)
    ).get_json()
    heard = _next(member, "file.changed")
    assert (heard["change"], heard["comment_id"]) == ("comment", comment["id"])

    assert new_version(client, c.owner, file["id"], wav_bytes(0.5)).status_code == 201
    heard = _next(member, "file.changed")
    assert (heard["change"], heard["version"]) == ("version", 2)

    # A deliverable is its engagement's business: its musician hears it, the others do not.
    pending = _connect(server, c.project_id, c.pending)
    assert _next(pending, "ready")
    deliverable = client.post(
        f"/api/requests/{c.member_request}/deliverables", json={"title": "Stems"}, headers=bearer(c.owner)
    ).get_json()
    heard = _next(member, "file.changed")
    assert (heard["change"], heard["deliverable_id"]) == ("deliverable", deliverable["id"])
    client.post(f"/api/files/{file['id']}/comments", json={"version": 2, "body": "again"}, headers=bearer(c.owner))
    assert _next(pending, "file.changed")["change"] == "comment"  # the deliverable never reached it
    assert _next(member, "file.changed")["change"] == "comment"
    pending.close()

    # The member's request is cancelled: they are no longer a member, and the socket ends.
    assert client.post(f"/api/requests/{c.member_request}/cancel", json={}, headers=bearer(c.member)).status_code == 200
    assert _refused(member)["code"] == "not-found"
