"""The room socket over a real threaded server, real Redis, SQLite and PostgreSQL: who may
control, serialised commands, skip votes by present listeners, hand-over, auto-advance and
the clock ping."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from control_plane.rooms.jobs import sweep_absent_hosts
from control_plane.rooms.services.presence import Presence
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer
from tests.integration.people import many_people
from tests.integration.room_helpers import LiveServer, RoomClient, audio_bytes, live_server, room_settings

LEAD_MS = 120


def _gateway_app(tmp_path: Path, database_url: str, redis_url: str) -> Flask:
    from control_plane.app import create_app

    settings = room_settings(
        make_settings(tmp_path, database_url, redis_url),
        lead_ms=LEAD_MS,
        tick_ms=50,
        host_grace_ms=300,
        presence_heartbeat_ms=500,
        presence_ttl_ms=4000,
    )
    return create_app(settings, TESTING=True)


def _shut(app: Flask) -> None:
    from control_plane.kits.extensions import db

    ticker = app.extensions.get("downbeat.room_ticker")
    if ticker is not None:
        ticker.stop()
    app.extensions["downbeat.hub"].stop()
    app.extensions["downbeat.redis"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def server(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[LiveServer]:
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    app = _gateway_app(tmp_path, database_url, redis_url)
    with live_server(app) as running:
        yield running
        _wait_for_sockets_to_finish()
    _shut(app)


def _wait_for_sockets_to_finish(timeout: float = 10.0) -> None:
    """Closed sockets still announce their departure; let them, before the engine goes."""
    deadline = time.monotonic() + timeout
    while any(t.name.startswith("room-fwd-") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)


def _room(app: Flask, host: dict[str, Any], **fields: Any) -> str:
    response = app.test_client().post("/api/rooms", json={"name": "Listening", **fields}, headers=bearer(host))
    assert response.status_code == 201, response.get_json()
    code: str = response.get_json()["code"]
    return code


def _track(app: Flask, owner: dict[str, Any], seconds: float = 30.0) -> int:
    # FLAC keeps the body small: the test client spools big bodies to files it never closes.
    data = {"file": (io.BytesIO(audio_bytes("FLAC", seconds=seconds)), "beat.flac")}
    response = app.test_client().post(
        "/api/tracks", data=data, headers=bearer(owner), content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    track_id: int = response.get_json()["id"]
    return track_id


def _join(app: Flask, code: str, person: dict[str, Any]) -> None:
    assert app.test_client().post(f"/api/rooms/{code}/join", headers=bearer(person)).status_code == 200


def _connect(server: LiveServer, code: str, person: dict[str, Any]) -> RoomClient:
    client = RoomClient(server.ws_base, code, person["access_token"])
    client.wait_for(lambda m: m["type"] == "state")  # participants, queue, then state
    return client


def _room_json(app: Flask, code: str, person: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = app.test_client().get(f"/api/rooms/{code}", headers=bearer(person)).get_json()
    return body


def test_a_non_hosts_control_message_gets_an_error_and_changes_nothing(server: LiveServer) -> None:
    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    track = _track(server.app, host)
    _join(server.app, code, guest)
    host_ws, guest_ws = _connect(server, code, host), _connect(server, code, guest)
    host_ws.send({"type": "queue_add", "track_id": track})
    host_ws.wait_for(lambda m: m["type"] == "queue" and len(m["items"]) == 1)
    before = _room_json(server.app, code, host)
    for message in (
        {"type": "play"},
        {"type": "seek", "position_ms": 5000},
        {"type": "next"},
        {"type": "queue_add", "track_id": track},
        {"type": "hand_over", "user_id": guest["user"]["id"]},
        {"type": "set_permissions", "allow_control": True},
    ):
        guest_ws.send(message)
        error = guest_ws.wait_for(lambda m: m["type"] == "error")
        assert error["code"] in ("not-host", "not-allowed") and error["request"] == message["type"]
    after = _room_json(server.app, code, host)
    assert after["version"] == before["version"] and after["state"] == before["state"]
    assert after["queue"]["items"] == before["queue"]["items"] and after["host_id"] == host["user"]["id"]
    # Once the host allows it, the same message works.
    host_ws.send({"type": "set_permissions", "allow_control": True})
    guest_ws.wait_for(lambda m: m["type"] == "participants" and m["allow_control"])
    guest_ws.send({"type": "play"})
    state = guest_ws.wait_for(lambda m: m["type"] == "state" and m["playing"])
    assert state["track"]["id"] == track
    for ws in (host_ws, guest_ws):
        ws.close()


def test_play_is_scheduled_a_lead_ahead_and_ping_answers_with_server_time(server: LiveServer) -> None:
    (host,) = many_people(server.app, 1)
    code = _room(server.app, host)
    track = _track(server.app, host)
    ws = _connect(server, code, host)
    ws.send({"type": "queue_add", "track_id": track})
    sent = time.time() * 1000
    ws.send({"type": "play", "position_ms": 1000})
    state = ws.wait_for(lambda m: m["type"] == "state" and m["playing"])
    assert state["position_ms"] == 1000 and state["rate"] == 1.0 and state["entry_id"] is not None
    assert state["server_time_ms"] >= sent + LEAD_MS  # starts in the future, for everyone at once
    ws.send({"type": "ping", "client_time_ms": 12345.5})
    pong = ws.wait_for(lambda m: m["type"] == "pong")
    assert pong["client_time_ms"] == 12345.5
    assert pong["server_receive_ms"] <= pong["server_time_ms"] <= time.time() * 1000
    ws.send({"type": "seek", "position_ms": -5})
    assert ws.wait_for(lambda m: m["type"] == "error")["code"] == "bad-message"
    ws.send("not json at all")  # type: ignore[arg-type]
    assert ws.wait_for(lambda m: m["type"] == "error")["code"] == "bad-message"
    # After a Redis reconnect the hub tells every socket to resync: it gets the full snapshot.
    from control_plane.kits.realtime.hub import RESYNC

    ws.drain()
    ws.received.clear()
    server.app.extensions["downbeat.hub"]._broadcast(RESYNC)
    again = ws.wait_for(lambda m: m["type"] == "state")
    assert again["playing"] and again["version"] == state["version"]
    assert [m["type"] for m in ws.received[-2:]] == ["participants", "queue"]
    ws.close()


def test_commands_from_two_controllers_apply_one_after_the_other(server: LiveServer) -> None:
    host, cohost = many_people(server.app, 2)
    code = _room(server.app, host, allow_control=True)
    track = _track(server.app, host, seconds=60)
    _join(server.app, code, cohost)
    a, b = _connect(server, code, host), _connect(server, code, cohost)
    a.send({"type": "queue_add", "track_id": track})
    a.wait_for(lambda m: m["type"] == "state" and m["entry_id"] is not None)
    start = _room_json(server.app, code, host)["version"]
    rounds = 15

    def fire(ws: RoomClient, base: int) -> None:
        for i in range(rounds):
            ws.send({"type": "seek", "position_ms": base + i})

    threads = [threading.Thread(target=fire, args=(a, 10_000)), threading.Thread(target=fire, args=(b, 20_000))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = start + 2 * rounds
    seen = a.wait_for(lambda m: m["type"] == "state" and m["version"] == final, timeout=20)
    a.drain()
    versions = [m["version"] for m in a.received if m["type"] == "state" and m["version"] > start] + [seen["version"]]
    # Every command got its own version: none was lost or merged by a concurrent write.
    assert sorted(set(versions)) == list(range(start + 1, final + 1))
    room = _room_json(server.app, code, host)
    assert room["version"] == final and room["state"]["position_ms"] == seen["position_ms"]
    for ws in (a, b):
        ws.close()


def test_vote_to_skip_counts_only_present_listeners_once_each(server: LiveServer) -> None:
    host, ann, ben, cy = many_people(server.app, 4)
    code = _room(server.app, host)
    first, second = _track(server.app, host), _track(server.app, host)
    for person in (ann, ben, cy):
        _join(server.app, code, person)
    host_ws = _connect(server, code, host)
    host_ws.send({"type": "queue_add", "track_id": first})
    host_ws.send({"type": "queue_add", "track_id": second})
    host_ws.send({"type": "play"})
    playing = host_ws.wait_for(lambda m: m["type"] == "state" and m["playing"])
    # Cy votes, then leaves the room: that vote no longer counts.
    cy_ws = _connect(server, code, cy)
    cy_ws.send({"type": "vote_skip"})
    cy_ws.wait_for(lambda m: m["type"] == "queue" and m["skip_votes"] == 1)
    cy_ws.close()
    ann_ws = _connect(server, code, ann)
    ben_ws = _connect(server, code, ben)
    # Present: host, Ann, Ben (Cy's socket is gone). A majority of 3 is 2.
    ann_ws.send({"type": "vote_skip"})
    ann_ws.send({"type": "vote_skip"})  # twice: still one vote
    queue = ann_ws.latest("queue", settle=0.5)
    assert (queue["skip_votes"], queue["skip_needed"]) == (1, 2)
    assert _room_json(server.app, code, host)["state"]["entry_id"] == playing["entry_id"]  # not skipped yet
    ben_ws.send({"type": "vote_skip"})
    skipped = host_ws.wait_for(lambda m: m["type"] == "state" and m["entry_id"] != playing["entry_id"])
    assert skipped["track"]["id"] == second and skipped["playing"] and skipped["position_ms"] == 0
    for ws in (host_ws, ann_ws, ben_ws):
        ws.close()


def test_hand_over_explicit_on_leave_and_when_the_host_is_gone(server: LiveServer) -> None:
    host, early, late = many_people(server.app, 3)
    code = _room(server.app, host)
    for person in (early, late):
        _join(server.app, code, person)
    host_ws = _connect(server, code, host)
    early_ws = _connect(server, code, early)
    time.sleep(0.05)
    late_ws = _connect(server, code, late)
    # Explicit: the host hands over; the old host's controls stop working.
    host_ws.send({"type": "hand_over", "user_id": late["user"]["id"]})
    parts = early_ws.wait_for(lambda m: m["type"] == "participants" and m["host_id"] == late["user"]["id"])
    assert {p["user_id"]: p["role"] for p in parts["items"]}[late["user"]["id"]] == "host"
    host_ws.send({"type": "pause"})
    assert host_ws.wait_for(lambda m: m["type"] == "error")["code"] == "not-host"
    # On leave: the host leaves, the longest-present member (the original host's socket is
    # still open and oldest) takes over.
    assert server.app.test_client().post(f"/api/rooms/{code}/leave", headers=bearer(late)).status_code == 200
    assert _room_json(server.app, code, early)["host_id"] == host["user"]["id"]
    late_ws.close()
    # When the host's last socket closes and stays closed past the grace, the longest-present
    # member left (early) becomes host: the gateway's ticker does it without any request.
    host_ws.close()
    parts = early_ws.wait_for(lambda m: m["type"] == "participants" and m["host_id"] == early["user"]["id"], 10)
    assert [p["present"] for p in parts["items"] if p["user_id"] == host["user"]["id"]] == [False]
    early_ws.close()


def test_the_queue_advances_on_its_own_at_the_end_of_a_track(server: LiveServer) -> None:
    (host,) = many_people(server.app, 1)
    code = _room(server.app, host)
    short, nxt = _track(server.app, host, seconds=1.0), _track(server.app, host, seconds=1.0)
    ws = _connect(server, code, host)
    ws.send({"type": "queue_add", "track_id": short})
    ws.send({"type": "queue_add", "track_id": nxt})
    ws.send({"type": "queue_move", "entry_id": 10**9, "to_index": 0})
    assert ws.wait_for(lambda m: m["type"] == "error")["code"] == "unknown-entry"
    ws.send({"type": "play"})
    first = ws.wait_for(lambda m: m["type"] == "state" and m["playing"])
    second = ws.wait_for(lambda m: m["type"] == "state" and m["entry_id"] != first["entry_id"], timeout=10)
    assert second["track"]["id"] == nxt and second["playing"] and second["position_ms"] == 0
    # It starts one lead after the first one ran out, not before.
    assert second["server_time_ms"] >= first["server_time_ms"] + 1000 + LEAD_MS - 1
    # At the end of the queue it stops on the last track's end.
    last = ws.wait_for(lambda m: m["type"] == "state" and m["version"] > second["version"], timeout=10)
    assert last["entry_id"] == second["entry_id"] and not last["playing"]
    assert last["position_ms"] == pytest.approx(1000, abs=1)
    ws.close()


def test_absent_hosts_are_swept_only_when_someone_else_is_present(server: LiveServer, redis_url: str) -> None:
    import redis

    from control_plane.kits.extensions import db

    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    _join(server.app, code, guest)
    client = redis.Redis.from_url(redis_url)
    presence = Presence(client, 4000)
    with server.app.app_context():
        engine = db.engine
    # Nobody present: the host keeps the room.
    assert sweep_absent_hosts(engine, client, presence, grace_ms=0) == 0
    conn, newly = presence.connect(code, guest["user"]["id"])
    assert newly
    sweep_absent_hosts(engine, client, presence, grace_ms=0)  # notes the host missing
    sweep_absent_hosts(engine, client, presence, grace_ms=0)
    assert _room_json(server.app, code, guest)["host_id"] == guest["user"]["id"]
    assert presence.disconnect(conn)


def test_two_gateway_processes_share_presence_and_fan_out(
    server: LiveServer, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    """A second app on the same database and Redis stands in for another gunicorn worker."""
    other_app = _gateway_app(tmp_path / "other", database_url, redis_url)
    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    track = _track(server.app, host)
    _join(server.app, code, guest)
    with live_server(other_app) as other:
        host_ws = _connect(server, code, host)
        guest_ws = _connect(other, code, guest)  # a socket on the other process
        parts = host_ws.wait_for(lambda m: m["type"] == "participants" and all(p["present"] for p in m["items"]))
        assert {p["user_id"] for p in parts["items"]} == {host["user"]["id"], guest["user"]["id"]}
        host_ws.send({"type": "queue_add", "track_id": track})
        host_ws.send({"type": "play"})
        state = guest_ws.wait_for(lambda m: m["type"] == "state" and m["playing"])
        assert state["track"]["id"] == track
        guest_ws.send({"type": "vote_skip"})  # counted across processes: 1 of the 2 needed
        queue = host_ws.wait_for(lambda m: m["type"] == "queue" and m["skip_votes"] == 1)
        assert queue["skip_needed"] == 2
        for ws in (host_ws, guest_ws):
            ws.close()
        _wait_for_sockets_to_finish()
    _shut(other_app)
