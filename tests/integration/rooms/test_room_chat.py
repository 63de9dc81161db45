"""Room chat over the real room socket (threaded server, real Redis, SQLite and PostgreSQL):
members chat both ways, strangers and leavers cannot, bad input is answered and goes nowhere,
a retried client_id makes one message, the rate limit, and a late joiner's recent history."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import websocket
from flask import Flask

from control_plane.rooms.services.chat import HISTORY_LENGTH, RATE_LIMIT, RoomChat
from control_plane.rooms.services.presence import room_keys_lifetime_ms
from control_plane.rooms.services.rate_window import SlidingWindow
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer
from tests.integration.people import many_people
from tests.integration.room_helpers import LiveServer, RoomClient, live_server, room_settings

PRESENCE_TTL_MS = 4000
FAST_WINDOW_MS = 1500  # the rate limit's window in these tests: RATE_LIMIT per 1.5 s


@pytest.fixture
def server(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[LiveServer]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    # A slow heartbeat: a member who leaves keeps an open socket long enough to try to chat.
    settings = room_settings(
        make_settings(tmp_path, database_url, redis_url), presence_heartbeat_ms=5000, presence_ttl_ms=PRESENCE_TTL_MS
    )
    app = create_app(settings, TESTING=True)
    with live_server(app) as running:
        yield running
        deadline = time.monotonic() + 10  # closed sockets still announce their departure
        while any(t.name.startswith("room-fwd-") for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    app.extensions["downbeat.hub"].stop()
    app.extensions["downbeat.redis"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _with_rate_window(app: Flask, limit: int, window_ms: int) -> None:
    """The app's room chat with another rate window (the rule is the same, the wait shorter)."""
    client = app.extensions["downbeat.redis"]
    lifetime = room_keys_lifetime_ms(PRESENCE_TTL_MS)
    app.extensions["downbeat.room_chat"] = RoomChat(client, lifetime, SlidingWindow(client, limit, window_ms))


def _room(app: Flask, host: dict[str, Any]) -> str:
    response = app.test_client().post("/api/rooms", json={"name": "Chatty"}, headers=bearer(host))
    assert response.status_code == 201, response.get_json()
    code: str = response.get_json()["code"]
    return code


def _connect(server: LiveServer, code: str, person: dict[str, Any]) -> tuple[RoomClient, list[dict[str, Any]]]:
    """A member's socket, past its opening messages (returned, in order)."""
    client = RoomClient(server.ws_base, code, person["access_token"])
    opening = [client.wait_for(lambda m: True) for _ in range(4)]
    return client, opening


def _chat(body: Any, client_id: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "chat", "body": body, "client_id": client_id, **extra}


def _chats(client: RoomClient, settle: float = 0.4) -> list[dict[str, Any]]:
    """Every chat message the socket got (after letting it go quiet), taken out of its inbox."""
    client.drain(settle)
    found = [m for m in client.received if m["type"] == "chat"]
    client.received = [m for m in client.received if m["type"] != "chat"]
    return found


def _error(client: RoomClient) -> dict[str, Any]:
    return client.wait_for(lambda m: m["type"] == "error", timeout=5)


def _closed_by_server(ws: websocket.WebSocket) -> bool:
    try:
        return ws.recv() == ""  # the close frame
    except websocket.WebSocketConnectionClosedException:
        return True
    finally:
        ws.close()
        ws.shutdown()  # type: ignore[no-untyped-call]  # close() is a no-op once the server closed


def test_members_chat_both_ways_and_everyone_gets_each_message_once(server: LiveServer) -> None:
    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    host_ws, host_opening = _connect(server, code, host)
    guest_ws, guest_opening = _connect(server, code, guest)
    try:
        for opening in (host_opening, guest_opening):
            assert [m["type"] for m in opening] == ["participants", "queue", "state", "chat_history"]
            assert opening[-1]["items"] == []

        host_ws.send(_chat("  hello <b>room</b>  ", "host-1"))
        guest_ws.send(_chat("hi host\nsecond line", "guest-1"))
        host_seen, guest_seen = _chats(host_ws), _chats(guest_ws)
        assert host_seen == guest_seen and len(host_seen) == 2
        by_body = {m["body"]: m for m in host_seen}
        first, second = by_body["hello <b>room</b>"], by_body["hi host\nsecond line"]  # trimmed, text as is
        assert first["user"] == host["user"] and first["client_id"] == "host-1"
        assert second["user"] == guest["user"] and second["client_id"] == "guest-1"
        assert sorted(m["id"] for m in host_seen) == [1, 2]
        for message in host_seen:
            assert set(message) == {"type", "id", "user", "body", "client_id", "created_at"}
            sent = datetime.fromisoformat(message["created_at"])
            assert sent.utcoffset() is not None and sent.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
            assert abs((datetime.now(UTC) - sent).total_seconds()) < 30
    finally:
        host_ws.close()
        guest_ws.close()


def test_a_stranger_cannot_chat_and_a_member_who_left_cannot_either(server: LiveServer) -> None:
    host, leaver = many_people(server.app, 2)
    code = _room(server.app, host)
    host_ws, _ = _connect(server, code, host)
    try:
        # Not signed in: the socket takes nothing before a valid auth, and closes.
        stranger = websocket.create_connection(f"{server.ws_base}/ws/rooms/{code}", timeout=5)
        stranger.send(json.dumps(_chat("let me in", "s-1")))
        refused = json.loads(stranger.recv())
        assert refused["type"] == "error" and refused["code"] == "auth-required"
        assert _closed_by_server(stranger)
        bad_token = RoomClient(server.ws_base, code, "not-a-token")
        assert _error(bad_token)["code"] == "invalid-token"
        assert _closed_by_server(bad_token.ws)

        # A member who left (POST /leave) while the socket is still open.
        leaver_ws, _ = _connect(server, code, leaver)
        left = server.app.test_client().post(f"/api/rooms/{code}/leave", headers=bearer(leaver))
        assert left.status_code == 200
        leaver_ws.send(_chat("still here?", "leaver-1"))
        error = _error(leaver_ws)
        assert error["code"] == "not-member" and error["request"] == "chat" and error["client_id"] == "leaver-1"
        leaver_ws.close()

        assert _chats(host_ws) == []  # nothing reached the room
    finally:
        host_ws.close()


@pytest.mark.parametrize(
    ("message", "named"),
    [
        (_chat(123, "c1"), "body"),
        (_chat("   ", "c1"), "body"),
        (_chat("x" * 1001, "c1"), "body"),
        (_chat("bell\x07", "c1"), "body"),
        (_chat(None, "c1"), "body"),
        ({"type": "chat", "client_id": "c1"}, "body"),
        (_chat("hi", "has space"), "client_id"),
        (_chat("hi", "x" * 65), "client_id"),
        (_chat("hi", ""), "client_id"),
        (_chat("hi", 7), "client_id"),
        ({"type": "chat", "body": "hi"}, "client_id"),
        (_chat("hi", "c1", reply_to=3), "'reply_to'"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, dict) else v,
)
def test_bad_input_gets_an_error_naming_what_is_wrong_and_nothing_is_sent(
    server: LiveServer, message: dict[str, Any], named: str
) -> None:
    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    host_ws, _ = _connect(server, code, host)
    guest_ws, _ = _connect(server, code, guest)
    try:
        guest_ws.send(message)
        error = _error(guest_ws)
        assert error["code"] == "bad-chat" and error["request"] == "chat"
        assert named in error["detail"], error
        valid_id = message.get("client_id") == "c1"
        assert error.get("client_id") == ("c1" if valid_id else None)
        # The socket stays open and usable: a good message after a bad one goes out.
        guest_ws.send(_chat(" " + "y" * 1000 + " ", "c2"))  # 1000 characters once trimmed
        (sent,) = [m for m in _chats(host_ws)]
        assert sent["client_id"] == "c2" and len(sent["body"]) == 1000
    finally:
        host_ws.close()
        guest_ws.close()


def test_a_retried_client_id_makes_one_message_and_is_echoed_to_the_retrying_socket_only(
    server: LiveServer, redis_url: str
) -> None:
    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    host_ws, _ = _connect(server, code, host)
    guest_ws, _ = _connect(server, code, guest)
    guest_again, _ = _connect(server, code, guest)  # the same person in a second tab
    try:
        guest_ws.send(_chat("once", "retry-me"))
        (original,) = _chats(host_ws)
        assert [m["id"] for m in _chats(guest_again)] == [original["id"]]
        assert _chats(guest_ws) == [original]

        guest_ws.send(_chat("once (edited before the retry)", "retry-me"))  # a retry: the first one stands
        assert _chats(guest_ws) == [original]  # echoed to this socket
        guest_again.send(_chat("once", "retry-me"))
        assert _chats(guest_again) == [original]
        assert _chats(host_ws) == []  # the room saw it once

        # The same client_id from someone else is their own message.
        host_ws.send(_chat("mine", "retry-me"))
        (other,) = _chats(guest_ws)
        assert other["id"] == original["id"] + 1 and other["user"] == host["user"]
        store = redis.Redis.from_url(redis_url)
        assert store.llen(f"chat:{code}:log") == 2
        store.close()
    finally:
        for client in (host_ws, guest_ws, guest_again):
            client.close()


def test_the_rate_limit_refuses_with_a_retry_hint_and_lets_the_retry_through_after_it(server: LiveServer) -> None:
    _with_rate_window(server.app, RATE_LIMIT, FAST_WINDOW_MS)
    host, guest = many_people(server.app, 2)
    code = _room(server.app, host)
    host_ws, _ = _connect(server, code, host)
    guest_ws, _ = _connect(server, code, guest)
    try:
        for n in range(RATE_LIMIT):
            guest_ws.send(_chat(f"line {n}", f"burst-{n}"))
        guest_ws.send(_chat("one too many", "burst-extra"))
        error = _error(guest_ws)
        assert error["code"] == "rate-limited" and error["request"] == "chat"
        assert error["client_id"] == "burst-extra"
        assert 0 < error["retry_after_ms"] <= FAST_WINDOW_MS
        assert "try again in" in error["detail"]
        assert [m["body"] for m in sorted(_chats(host_ws), key=lambda m: m["id"])] == [
            f"line {n}" for n in range(RATE_LIMIT)
        ]

        host_ws.send(_chat("the host is not held back", "host-1"))  # the limit is per person
        assert [m["client_id"] for m in _chats(guest_ws)] == [f"burst-{n}" for n in range(RATE_LIMIT)] + ["host-1"]
        assert [m["client_id"] for m in _chats(host_ws)] == ["host-1"]

        time.sleep(error["retry_after_ms"] / 1000 + 0.05)
        guest_ws.send(_chat("one too many", "burst-extra"))  # the refused one, retried as hinted
        (late,) = _chats(host_ws)
        assert late["client_id"] == "burst-extra" and late["id"] == RATE_LIMIT + 2
    finally:
        host_ws.close()
        guest_ws.close()


def test_a_late_joiner_gets_the_recent_history_in_order_after_the_state(server: LiveServer, redis_url: str) -> None:
    _with_rate_window(server.app, 1000, FAST_WINDOW_MS)  # room for a long conversation
    host, late = many_people(server.app, 2)
    code = _room(server.app, host)
    host_ws, _ = _connect(server, code, host)
    try:
        total = HISTORY_LENGTH + 5
        for n in range(total):
            host_ws.send(_chat(f"message {n}", f"m-{n}"))
        assert len(_chats(host_ws, settle=0.6)) == total

        late_ws, opening = _connect(server, code, late)
        assert [m["type"] for m in opening] == ["participants", "queue", "state", "chat_history"]
        items = opening[-1]["items"]
        assert [m["id"] for m in items] == list(range(total - HISTORY_LENGTH + 1, total + 1))
        assert [m["body"] for m in items] == [f"message {n}" for n in range(total - HISTORY_LENGTH, total)]
        assert all(m["type"] == "chat" and m["user"] == host["user"] for m in items)
        late_ws.close()

        # Kept as long as the room's other Redis keys, refreshed while anyone is in the room.
        store = redis.Redis.from_url(redis_url)
        lifetime = room_keys_lifetime_ms(PRESENCE_TTL_MS)
        for key in (f"chat:{code}:log", f"chat:{code}:seq"):
            assert 0 < int(store.pttl(key)) <= lifetime  # type: ignore[arg-type]
        assert 0 < int(store.pttl(f"presence:{code}")) <= lifetime  # type: ignore[arg-type]
        store.close()
    finally:
        host_ws.close()
