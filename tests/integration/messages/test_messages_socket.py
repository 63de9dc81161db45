"""Conversations over the real user socket (/ws/notifications on a threaded server, real Redis,
SQLite and PostgreSQL): a message reaches every member's open socket once, the durable copy the
notification service publishes again is not sent twice, edits and deletes arrive as
``message_updated``, read markers and typing reach the other members (never a stranger), and a
socket's presence decides whether a posted message's event counts its member as online."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import websocket

from contracts.channels import user_channel
from contracts.messages import MessageMessage, MessageUpdatedMessage, ReadMessage
from control_plane.kits.realtime import presence
from tests.integration.api_helpers import bearer, register
from tests.integration.messages.messages_helpers import direct, events, ok, read, send
from tests.integration.room_helpers import LiveServer

PROBES = 10**9  # conversation ids of the probes (no real conversation gets near)
_probes = itertools.count(PROBES)
Match = Callable[[dict[str, Any]], bool]


class UserSocket:
    """One person's /ws/notifications socket; keeps what arrived, in order."""

    def __init__(self, server: LiveServer, person: dict[str, Any], store: redis.Redis) -> None:
        self.user_id = int(person["user"]["id"])
        self._store = store
        self.received: list[dict[str, Any]] = []
        self.ws = websocket.create_connection(f"{server.ws_base}/ws/notifications", timeout=10)
        self.ws.send(json.dumps({"type": "auth", "token": person["access_token"], "since": None, "epoch": None}))
        assert self.next(lambda m: True)["type"] == "epoch"  # subscribed before the epoch goes out
        self.settle()

    def next(self, match: Match, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                arrived: dict[str, Any] = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if match(arrived):
                return arrived
            self.received.append(arrived)
        raise AssertionError(f"nothing matching within {timeout}s; got {self.received}")

    def settle(self) -> list[dict[str, Any]]:
        """Everything that arrives before a probe published now on the user's channel (Redis
        keeps one publisher's order): what is in flight is in, nothing more will come."""
        probe = next(_probes)
        self.received = []
        deadline = time.monotonic() + 10
        while True:  # the server's Redis hub may still be subscribing: publish until heard
            self._store.publish(
                user_channel(self.user_id), ReadMessage(conversation_id=probe, user_id=1, up_to=0).to_json()
            )
            try:
                self.next(lambda m: m.get("conversation_id") == probe, timeout=0.5)
                break
            except AssertionError:
                assert time.monotonic() < deadline, "the socket never heard its probe"
        found, self.received = self.received, []
        return [m for m in found if m.get("conversation_id", 0) < PROBES]  # late copies of earlier probes

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _people(server: LiveServer) -> tuple[dict[str, Any], ...]:
    client = server.app.test_client()
    return tuple(register(client, name=n) for n in ("Ana Silva", "Ben Ode", "Cat Lee"))


def _of(kind: str, received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in received if m["type"] == kind]


def test_a_message_reaches_both_members_once_and_the_durable_copy_is_not_sent_again(
    server: LiveServer, store: redis.Redis
) -> None:
    client = server.app.test_client()
    ana, ben, cat = _people(server)
    cid = ok(direct(client, ana, ben), 201)["id"]
    sockets = [UserSocket(server, p, store) for p in (ana, ben, cat)]
    a, b, c = sockets

    posted = ok(
        client.post(
            f"/api/conversations/{cid}/messages", json={"body": "**hi** Ben", "client_id": "s-1"}, headers=bearer(ana)
        ),
        201,
    )
    for s in (a, b):
        (live,) = s.settle()
        assert live == {"type": "message", "message": posted}  # the whole message, no "redelivered"
    assert c.settle() == []  # a stranger's socket hears nothing

    # The notification service publishes the durable copy of every message: not sent again.
    durable = MessageMessage(message=posted, redelivered=True).to_json()
    for s in (a, b):  # (to the members: the event names them)
        store.publish(user_channel(s.user_id), durable)
    assert a.settle() == [] and b.settle() == []
    # A retry of the send adds nothing and tells nobody again.
    again = client.post(
        f"/api/conversations/{cid}/messages", json={"body": "**hi** Ben", "client_id": "s-1"}, headers=bearer(ana)
    )
    assert again.status_code == 200 and b.settle() == []

    # A socket that missed the fast copy gets the durable one, once.
    missed = {**posted, "id": posted["id"] + 1000}
    store.publish(user_channel(b.user_id), MessageMessage(message=missed, redelivered=True).to_json())
    store.publish(user_channel(b.user_id), MessageMessage(message=missed).to_json())
    assert b.settle() == [{"type": "message", "message": missed}]

    # Edits and deletes arrive as message_updated, each version once.
    edited = ok(client.patch(f"/api/messages/{posted['id']}", json={"body": "hi Ben!"}, headers=bearer(ana)))
    for s in (a, b):
        assert s.settle() == [{"type": "message_updated", "message": edited}]
    store.publish(user_channel(b.user_id), MessageUpdatedMessage(message=edited, redelivered=True).to_json())
    assert b.settle() == []
    assert client.delete(f"/api/messages/{posted['id']}", headers=bearer(ana)).status_code == 204
    for s in (a, b):
        (gone,) = s.settle()
        assert gone["type"] == "message_updated"
        assert gone["message"]["deleted"] is True and gone["message"]["body"] == ""
    assert c.settle() == []
    for s in sockets:
        s.close()


def test_reconnecting_fetches_what_was_missed_by_id(server: LiveServer, store: redis.Redis) -> None:
    client = server.app.test_client()
    ana, ben, _ = _people(server)
    cid = ok(direct(client, ana, ben), 201)["id"]
    b = UserSocket(server, ben, store)
    send(client, ana, cid, "one")
    (seen,) = b.settle()
    last = seen["message"]["id"]
    b.close()
    missed = [send(client, ana, cid, "two"), send(client, ana, cid, "three")]
    b = UserSocket(server, ben, store)
    caught = ok(client.get(f"/api/conversations/{cid}/messages", query_string={"after": last}, headers=bearer(ben)))
    assert [m["id"] for m in caught["items"]] == missed
    newer = send(client, ana, cid, "four")
    assert [m["message"]["id"] for m in b.settle()] == [newer]

    # Their list changes live too: a group started with them, then renamed.
    gid = ok(
        client.post(
            "/api/conversations", json={"kind": "group", "title": "Duo", "member_ids": [b.user_id]}, headers=bearer(ana)
        ),
        201,
    )["id"]
    assert b.settle() == [{"type": "conversation", "conversation_id": gid, "change": "added"}]
    ok(client.patch(f"/api/conversations/{gid}", json={"title": "Duet"}, headers=bearer(ana)))
    assert b.settle() == [{"type": "conversation", "conversation_id": gid, "change": "renamed"}]
    b.close()


def test_read_markers_and_typing_reach_the_other_members_only(server: LiveServer, store: redis.Redis) -> None:
    client = server.app.test_client()
    ana, ben, cat = _people(server)
    cid = ok(direct(client, ana, ben), 201)["id"]
    mid = send(client, ana, cid, "are you there?")
    a, b, c = (UserSocket(server, p, store) for p in (ana, ben, cat))

    assert read(client, ben, cid, mid).status_code == 204
    marker = {"type": "read", "conversation_id": cid, "user_id": b.user_id, "up_to": mid}
    assert a.settle() == [marker] and b.settle() == [marker]
    assert read(client, ben, cid, mid).status_code == 204  # nothing moved: nobody is told
    assert a.settle() == [] and c.settle() == []

    b.send({"type": "typing", "conversation_id": cid})
    assert a.next(lambda m: m["type"] == "typing") == {"type": "typing", "conversation_id": cid, "user_id": b.user_id}
    assert _of("typing", b.settle()) == [] and c.settle() == []

    # Typing where you are not a member (or nowhere at all): an error, and nobody hears it.
    wrong = [
        ({"type": "typing", "conversation_id": cid}, "conversation-not-found"),
        ({"type": "typing", "conversation_id": 987654}, "conversation-not-found"),
        ({"type": "typing", "conversation_id": "x"}, "bad-typing"),
        ({"type": "dance"}, "unknown-type"),
    ]
    for message, _ in wrong:
        c.send(message)
    assert [c.next(lambda m: m["type"] == "error")["code"] for _ in wrong] == [code for _, code in wrong]
    assert a.settle() == [] and b.settle() == []
    for s in (a, b, c):
        s.close()


def test_an_open_socket_marks_its_member_online_for_the_message_event(server: LiveServer, store: redis.Redis) -> None:
    app = server.app
    client = app.test_client()
    ana, ben, _ = _people(server)
    cid = ok(direct(client, ana, ben), 201)["id"]
    b = UserSocket(server, ben, store)
    send(client, ana, cid, "online?")
    (event,) = events(app, "message.posted")
    assert [(r.user_id, r.online) for r in event.recipients] == [(b.user_id, True)]

    b.close()
    deadline = time.monotonic() + 10  # the server notices the close on its next turn
    while presence.online(store, [b.user_id]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert presence.online(store, [b.user_id]) == set()
    send(client, ana, cid, "offline now")
    later = events(app, "message.posted")[-1]
    assert [(r.user_id, r.online) for r in later.recipients] == [(b.user_id, False)]
