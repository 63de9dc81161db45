from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from control_plane.kits.extensions import db
from control_plane.rooms.models import Room
from control_plane.rooms.schemas import CreateRoom
from control_plane.rooms.services.refusals import RoomsRefused
from control_plane.rooms.services.rooms import create_room
from tests.integration.api_helpers import bearer, register

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def test_create_join_leave_and_look_up_by_code(app: Flask) -> None:
    client = app.test_client()
    host, guest = register(client, name="Hana"), register(client, name="Gil")
    created = client.post("/api/rooms", json={"name": "Late jam"}, headers=bearer(host))
    assert created.status_code == 201
    code = created.get_json()["code"]
    assert len(code) == 6 and created.get_json()["host_id"] == host["user"]["id"]
    joined = client.post(f"/api/rooms/{code.lower()}/join", headers=bearer(guest))  # codes are case-insensitive
    assert joined.status_code == 200
    assert [p["name"] for p in joined.get_json()["participants"]] == ["Hana", "Gil"]
    left = client.post(f"/api/rooms/{code}/leave", headers=bearer(guest)).get_json()
    assert [p["name"] for p in left["participants"]] == ["Hana"]
    missing = client.get("/api/rooms/ZZZZZ9", headers=bearer(guest))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_room_code_collisions_are_retried(app: Flask) -> None:
    client = app.test_client()
    host = register(client)
    taken = client.post("/api/rooms", json={"name": "First"}, headers=bearer(host)).get_json()["code"]
    codes = iter([taken, taken, "ABCDEF"])
    with app.app_context():
        from control_plane.accounts.models import User

        user = db.session.get(User, host["user"]["id"])
        assert user is not None
        room = create_room(db.session, user.id, CreateRoom(name="Second"), generate=lambda: next(codes))
        assert room.code == "ABCDEF"
        assert db.session.scalar(select(func.count()).select_from(Room)) == 2
        db.session.remove()


def test_stream_offer_checks_input_and_who_may_stream(app: Flask) -> None:
    client = app.test_client()
    host, guest = register(client), register(client)
    code = client.post("/api/rooms", json={"name": "Live"}, headers=bearer(host)).get_json()["code"]
    client.post(f"/api/rooms/{code}/join", headers=bearer(guest))
    bad = client.post(f"/api/rooms/{code}/stream", json={"sdp": 5, "type": "answer"}, headers=bearer(host))
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"sdp", "type"}
    huge = client.post(f"/api/rooms/{code}/stream", json={"sdp": "x" * 70_000, "type": "offer"}, headers=bearer(host))
    assert huge.status_code == 422 and "sdp" in huge.get_json()["errors"]
    refused = client.post(f"/api/rooms/{code}/stream", json={"sdp": OFFER, "type": "offer"}, headers=bearer(guest))
    assert refused.status_code == 403 and refused.get_json()["code"] == "stream-not-allowed"
    # The media service of this test app is not running: a clear 503, not a stack trace.
    down = client.post(f"/api/rooms/{code}/stream", json={"sdp": OFFER, "type": "offer"}, headers=bearer(host))
    assert down.status_code == 503 and down.get_json()["code"] == "media-unavailable", down.get_json()
    assert client.post("/api/rooms", json={"name": ""}, headers=bearer(host)).status_code == 422


def test_readiness_names_the_dependencies_that_are_down(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 503
    assert body["checks"]["database"] == "ok"
    assert set(body["down"]) == {"redis", "broker"}  # this test app points both at closed ports


def test_codes_that_keep_colliding_give_503_and_write_nothing(app: Flask) -> None:
    client = app.test_client()
    host = register(client)
    taken = client.post("/api/rooms", json={"name": "First"}, headers=bearer(host)).get_json()["code"]
    with app.app_context():
        from control_plane.accounts.models import User

        user = db.session.get(User, host["user"]["id"])
        assert user is not None
        with pytest.raises(RoomsRefused) as refused:
            create_room(db.session, user.id, CreateRoom(name="Never"), generate=lambda: taken)
        assert refused.value.status == 503 and refused.value.code == "no-room-code"
        assert db.session.scalar(select(func.count()).select_from(Room)) == 1
        db.session.remove()


def test_snapshot_shape_leaving_host_hands_over_and_who_may_stream(app: Flask) -> None:
    from control_plane.rooms.services.permissions import may_stream

    client = app.test_client()
    host, first, second = register(client, name="Host"), register(client, name="First"), register(client, name="Second")
    code = client.post("/api/rooms", json={"name": "Shape", "allow_queue": True}, headers=bearer(host)).get_json()[
        "code"
    ]
    client.post(f"/api/rooms/{code}/join", headers=bearer(first))
    room = client.post(f"/api/rooms/{code}/join", headers=bearer(second)).get_json()
    assert room["allow_queue"] is True and room["allow_control"] is False
    assert room["queue"] | {"items": []} == {
        "type": "queue",
        "version": room["version"],
        "items": [],
        "current_entry_id": None,
        "skip_votes": 0,
        "skip_needed": 1,
    }
    assert {"track", "position_ms", "server_time_ms", "playing", "rate", "version", "entry_id"} <= room["state"].keys()
    by_name = {p["name"]: p for p in room["participants"]}
    assert by_name["Host"]["role"] == "host" and by_name["First"]["role"] == "listener"
    assert by_name["First"]["can_queue"] and not by_name["First"]["can_control"]
    with app.app_context():
        found = db.session.scalar(select(Room).where(Room.code == code))
        assert found is not None
        assert may_stream(db.session, found, host["user"]["id"])
        assert not may_stream(db.session, found, first["user"]["id"])
        db.session.remove()
    # Nobody has a socket open here (no one present): the longest member takes over.
    left = client.post(f"/api/rooms/{code}/leave", headers=bearer(host)).get_json()
    assert left["host_id"] == first["user"]["id"]
    assert [p["name"] for p in left["participants"]] == ["First", "Second"]
