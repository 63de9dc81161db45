"""Real concurrency against a threaded server, on SQLite and PostgreSQL: twenty parallel
retries of one send make one message and one event; racing creators of a direct or a project
conversation end with one; members racing to open a conversation whose membership changed
all get their answer; and a reader catching up with ``after`` while people post sees every
message once, in id order, with no gap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from control_plane.messages.models import Conversation, ConversationMember, Message
from tests.integration.files.files_helpers import _request, crew
from tests.integration.messages.messages_helpers import count, events, ok
from tests.integration.room_helpers import LiveServer

PARALLEL = 20


def _all_at_once(calls: list[Callable[[requests.Session], requests.Response]]) -> list[requests.Response]:
    """Run every call on its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[requests.Session], requests.Response]) -> requests.Response:
        with requests.Session() as http:
            barrier.wait(10)
            return call(http)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _auth(person: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['access_token']}"}


def test_twenty_parallel_retries_of_one_client_id_make_one_message(server: LiveServer) -> None:
    client = server.app.test_client()
    c = crew(client)
    cid = ok(client.get(f"/api/projects/{c.project_id}/conversation", headers=_auth(c.owner)), 200)["id"]
    url = f"{server.base}/api/conversations/{cid}/messages"
    answers = _all_at_once(
        [
            lambda http, i=i: http.post(
                url, json={"body": f"attempt {i}", "client_id": "retry-me"}, headers=_auth(c.member), timeout=60
            )
            for i in range(PARALLEL)
        ]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * (PARALLEL - 1) + [201], [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["id"] for a in answers}) == 1
    first = next(a.json() for a in answers if a.status_code == 201)
    assert all(a.json() == first for a in answers)  # every retry answers with the first message
    assert count(server.app, Message) == 1
    posted = events(server.app, "message.posted")
    assert [e.message_id for e in posted] == [first["id"]]


def test_racing_creators_of_one_direct_conversation_get_the_same_one(server: LiveServer) -> None:
    client = server.app.test_client()
    c = crew(client)
    pairs = [(c.owner, c.member), (c.member, c.owner)] * (PARALLEL // 2)
    answers = _all_at_once(
        [
            lambda http, me=me, other=other: http.post(
                f"{server.base}/api/conversations",
                json={"kind": "direct", "member_ids": [other["user"]["id"]]},
                headers=_auth(me),
                timeout=60,
            )
            for me, other in pairs
        ]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * (PARALLEL - 1) + [201], [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(server.app, Conversation) == 1
    assert count(server.app, ConversationMember) == 2


def test_racing_openers_of_a_project_conversation_and_a_changed_membership(server: LiveServer) -> None:
    client = server.app.test_client()
    c = crew(client)
    people = [c.owner, c.member, c.pending] * 4
    base = server.base
    opened = _all_at_once(
        [
            lambda http, p=p: http.get(f"{base}/api/projects/{c.project_id}/conversation", headers=_auth(p), timeout=60)
            for p in people
        ]
    )
    assert [a.status_code for a in opened] == [200] * len(people), [a.text for a in opened]
    (cid,) = {a.json()["id"] for a in opened}
    assert count(server.app, Conversation) == 1

    # A new request entitles the former musician, and the pending one declines: everyone
    # racing to look (list, conversation, history, search) brings the rows up to date at once.
    _request(client, c.owner, c.project_id, c.former, 4)
    ok(client.post(f"/api/requests/{c.pending_request}/decline", json={}, headers=_auth(c.pending)))
    paths = [
        f"/api/conversations/{cid}",
        f"/api/conversations/{cid}/messages",
        "/api/conversations",
        "/api/messages/search?q=hello",
    ]
    looks = _all_at_once(
        [
            lambda http, p=p, path=path: http.get(f"{base}{path}", headers=_auth(p), timeout=60)
            for p in (c.owner, c.member, c.former)
            for path in paths
        ]
    )
    assert [a.status_code for a in looks] == [200] * len(looks), [a.text for a in looks if a.status_code != 200]
    assert count(server.app, ConversationMember, ConversationMember.conversation_id == cid) == 4
    assert count(server.app, ConversationMember, ConversationMember.left_at.is_not(None)) == 1


def test_a_reader_catching_up_by_id_sees_every_message_once_while_people_post(server: LiveServer) -> None:
    client = server.app.test_client()
    c = crew(client)
    cid = ok(client.get(f"/api/projects/{c.project_id}/conversation", headers=_auth(c.owner)), 200)["id"]
    url = f"{server.base}/api/conversations/{cid}/messages"
    done = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        with requests.Session() as http:
            last = 0
            while True:
                finished = done.is_set()
                page = http.get(url, params={"after": last, "limit": 200}, headers=_auth(c.owner), timeout=60)
                assert page.status_code == 200, page.text
                ids = [m["id"] for m in page.json()["items"]]
                seen.extend(ids)
                last = ids[-1] if ids else last
                if finished and not ids:
                    return

    watcher = threading.Thread(target=reader)
    watcher.start()
    senders = [c.member, c.pending, c.owner] * 6
    answers = _all_at_once(
        [
            lambda http, i=i, p=p: http.post(
                url, json={"body": f"n{i}", "client_id": f"n-{i}"}, headers=_auth(p), timeout=60
            )
            for i, p in enumerate(senders)
        ]
    )
    done.set()
    watcher.join(60)
    assert [a.status_code for a in answers] == [201] * len(senders)
    assert seen == sorted({a.json()["id"] for a in answers})  # each once, in id order, none missing


def test_identical_blocks_and_reports_at_once_are_repeats_not_errors(server: LiveServer) -> None:
    client = server.app.test_client()
    c = crew(client)
    cid = ok(client.get(f"/api/projects/{c.project_id}/conversation", headers=_auth(c.owner)), 200)["id"]
    sent = client.post(
        f"/api/conversations/{cid}/messages", json={"body": "spam", "client_id": "s1"}, headers=_auth(c.member)
    )
    mid = ok(sent, 201)["id"]
    reports = _all_at_once(
        [
            lambda http: http.post(
                f"{server.base}/api/messages/{mid}/report", json={"reason": "spam"}, headers=_auth(c.owner), timeout=60
            )
            for _ in range(8)
        ]
    )
    assert sorted(a.status_code for a in reports) == [200] * 7 + [201], [a.text for a in reports]
    assert len({a.json()["id"] for a in reports}) == 1
    uid = c.member["user"]["id"]
    blocks = _all_at_once(
        [
            lambda http: http.post(f"{server.base}/api/users/{uid}/block", headers=_auth(c.owner), timeout=60)
            for _ in range(8)
        ]
    )
    assert [a.status_code for a in blocks] == [204] * 8, [a.text for a in blocks]
