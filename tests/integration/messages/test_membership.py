"""Who is in a project or session conversation, on SQLite and PostgreSQL: membership follows
the requests (pending, accepted; declined, cancelled and expired ones make a former member
who keeps what they could read and nothing after) and the confirmed bookings (a waitlisted or
unpaid seat is not one; a cancellation makes a former member). Strangers get 404 on every
route. The list shows what the caller is entitled to with unread counts; the badge total
leaves muted conversations out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from control_plane.kits.db.types import utcnow
from control_plane.musicians.models import BookingRequest
from tests.integration.api_helpers import bearer, problem, register
from tests.integration.files.files_helpers import _request, crew
from tests.integration.messages.messages_helpers import (
    bodies,
    book,
    cancel_booking,
    history,
    host_and_session,
    listing,
    ok,
    post,
    project_conversation,
    read,
    send,
    session_conversation,
    set_columns,
    unread_total,
)


def _uid(person: dict[str, Any]) -> int:
    return int(person["user"]["id"])


def _members(client: FlaskClient, person: dict[str, Any], conversation_id: int) -> set[int]:
    body = ok(client.get(f"/api/conversations/{conversation_id}", headers=bearer(person)))
    return {m["id"] for m in body["members"]}


def _former_sees(client: FlaskClient, person: dict[str, Any], cid: int, visible: list[str], hidden_id: int) -> None:
    """A former member reads what existed when they left and nothing after; cannot post."""
    assert bodies(client, person, cid) == visible
    assert ok(history(client, person, cid, after=0))["items"][-1]["body"] == visible[-1]
    conversation = ok(client.get(f"/api/conversations/{cid}", headers=bearer(person)))
    last = conversation["last_message"]
    assert conversation["active"] is False and last["body"] == visible[-1]
    # Nothing about what came after: not the activity, not how far the others have read.
    assert conversation["last_activity_at"] == last["created_at"]
    assert max(conversation["read_markers"].values()) == last["id"] < hidden_id
    assert problem(post(client, person, cid, "still here?"), 403)["code"] == "not-a-member"
    reason = {"reason": "spam"}
    assert problem(client.post(f"/api/messages/{hidden_id}/report", json=reason, headers=bearer(person)), 404)
    # Their read marker stops at what they may read.
    assert read(client, person, cid, hidden_id).status_code == 204
    assert ok(client.get(f"/api/conversations/{cid}", headers=bearer(person)))["last_read_id"] < hidden_id


def test_project_conversation_follows_the_requests(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)  # member: accepted; pending: pending; former: accepted then cancelled
    opened = ok(project_conversation(client, c.owner, c.project_id), 200)
    cid = opened["id"]
    assert {m["id"] for m in opened["members"]} == {_uid(c.owner), _uid(c.member), _uid(c.pending)}
    assert ok(project_conversation(client, c.member, c.project_id))["id"] == cid  # one per project
    assert ok(project_conversation(client, c.pending, c.project_id))["id"] == cid
    for outsider in (c.former, c.stranger):  # the former left before anything was said: nothing to read
        problem(project_conversation(client, outsider, c.project_id), 404)
        problem(history(client, outsider, cid), 404)

    send(client, c.owner, cid, "welcome")
    send(client, c.pending, cid, "thanks, pending here")
    send(client, c.member, cid, "drums ready")

    # Declined: the pending musician keeps the three messages and sees nothing new.
    ok(client.post(f"/api/requests/{c.pending_request}/decline", json={}, headers=bearer(c.pending)))
    after_decline = send(client, c.owner, cid, "after the decline")
    assert _members(client, c.owner, cid) == {_uid(c.owner), _uid(c.member)}
    _former_sees(client, c.pending, cid, ["welcome", "thanks, pending here", "drums ready"], after_decline)

    # Cancelled: the same for the accepted member.
    ok(client.post(f"/api/requests/{c.member_request}/cancel", json={}, headers=bearer(c.owner)))
    after_cancel = send(client, c.owner, cid, "after the cancel")
    _former_sees(
        client, c.member, cid, ["welcome", "thanks, pending here", "drums ready", "after the decline"], after_cancel
    )

    # A new request brings the pending musician back: everything is theirs to read again, and they post.
    again = _request(client, c.owner, c.project_id, c.pending, 3)
    assert _uid(c.pending) in _members(client, c.owner, cid)
    assert ok(project_conversation(client, c.pending, c.project_id))["active"] is True
    send(client, c.pending, cid, "back again")
    # The member who left in between does not see them come back.
    then = ok(client.get(f"/api/conversations/{cid}", headers=bearer(c.member)))
    assert {m["id"] for m in then["members"]} == {_uid(c.owner), _uid(c.member)}
    assert bodies(client, c.pending, cid)[-3:] == ["after the decline", "after the cancel", "back again"]

    # Expired: a pending request past its deadline is no membership (nothing has to run first).
    set_columns(app, BookingRequest, BookingRequest.id == again, expires_at=utcnow() - timedelta(minutes=1))
    after_expiry = send(client, c.owner, cid, "after the expiry")
    assert _uid(c.pending) not in _members(client, c.owner, cid)
    hidden = ok(history(client, c.pending, cid, limit=200))["items"]
    assert hidden[-1]["body"] == "back again" and all(m["id"] != after_expiry for m in hidden)
    assert problem(post(client, c.pending, cid, "hello?"), 403)["code"] == "not-a-member"

    # The stranger and the musician cancelled before any of it still see nothing at all.
    for outsider in (c.former, c.stranger):
        problem(history(client, outsider, cid), 404)
        assert cid not in listing(client, outsider)


def test_a_leaver_who_has_not_been_synced_yet_still_stops_at_the_last_message(app: Flask) -> None:
    """The request is declined and, before anyone opens the conversation, a message is posted:
    posting marks the leaver first, so the new message is already out of their reach."""
    client = app.test_client()
    c = crew(client)
    cid = ok(project_conversation(client, c.owner, c.project_id), 200)["id"]
    first = send(client, c.pending, cid, "first")
    ok(client.post(f"/api/requests/{c.pending_request}/decline", json={}, headers=bearer(c.pending)))
    # Before anything syncs, they already may not post, and what they read ends at `first`.
    assert problem(post(client, c.pending, cid, "x"), 403)["code"] == "not-a-member"
    second = send(client, c.member, cid, "second")
    items = ok(history(client, c.pending, cid))["items"]
    assert [m["id"] for m in items] == [first]
    assert second > first


def test_session_conversation_follows_confirmed_bookings(app: Flask) -> None:
    client = app.test_client()
    host, session = host_and_session(client, capacity=1)
    alice = register(client, name="Alice Attendee")
    bob = register(client, name="Bob Waiting")
    seat = book(client, alice, session["id"])
    assert seat["status"] == "confirmed"
    assert book(client, bob, session["id"], waitlist=True)["status"] == "waitlisted"

    problem(session_conversation(client, bob, session["id"]), 404)  # waitlisted: not a member
    cid = ok(session_conversation(client, alice, session["id"]), 200)["id"]
    assert ok(session_conversation(client, host, session["id"]))["id"] == cid
    assert _members(client, host, cid) == {_uid(host), _uid(alice)}
    problem(history(client, bob, cid), 404)
    send(client, alice, cid, "see you there")

    # Alice cancels: Bob is promoted from the waitlist and joins; Alice keeps what was said.
    cancel_booking(client, alice, seat["id"])
    assert _members(client, host, cid) == {_uid(host), _uid(bob)}
    assert bodies(client, bob, cid) == ["see you there"]  # what was said before is there to read
    later = send(client, host, cid, "room changed")
    _former_sees(client, alice, cid, ["see you there"], later)
    send(client, bob, cid, "thanks")

    # A seat waiting for its payment is not a member either.
    _, paid = host_and_session(client, capacity=2, price={"amount": 2500, "currency": "EUR"})
    carol = register(client, name="Carol Card")
    assert book(client, carol, paid["id"])["status"] == "pending_payment"
    problem(session_conversation(client, carol, paid["id"]), 404)


def test_strangers_get_404_on_every_route(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    host, session = host_and_session(client)
    cid = ok(project_conversation(client, c.owner, c.project_id), 200)["id"]
    sid = ok(session_conversation(client, host, session["id"]), 200)["id"]
    mid = send(client, c.owner, cid, "private")
    gid = ok(
        client.post(
            "/api/conversations",
            json={"kind": "group", "title": "Band", "member_ids": [_uid(c.member)]},
            headers=bearer(c.owner),
        ),
        201,
    )["id"]
    headers = bearer(c.stranger)
    for conversation in (cid, sid, gid, 987654):
        answers = [
            client.get(f"/api/conversations/{conversation}", headers=headers),
            history(client, c.stranger, conversation),
            history(client, c.stranger, conversation, after=0),
            post(client, c.stranger, conversation, "let me in"),
            read(client, c.stranger, conversation, 1),
            client.put(f"/api/conversations/{conversation}/mute", json={"muted": True}, headers=headers),
            client.patch(f"/api/conversations/{conversation}", json={"title": "Mine"}, headers=headers),
            client.post(
                f"/api/conversations/{conversation}/members", json={"member_ids": [_uid(c.stranger)]}, headers=headers
            ),
            client.delete(f"/api/conversations/{conversation}/members/me", headers=headers),
        ]
        for answer in answers:
            assert problem(answer, 404)["code"] == "conversation-not-found", answer.request.path
    for message in (mid, 987654):
        answers = [
            client.patch(f"/api/messages/{message}", json={"body": "mine now"}, headers=headers),
            client.delete(f"/api/messages/{message}", headers=headers),
            client.post(f"/api/messages/{message}/report", json={"reason": "x"}, headers=headers),
        ]
        for answer in answers:
            assert problem(answer, 404)["code"] == "message-not-found", answer.request.path
    problem(project_conversation(client, c.stranger, c.project_id), 404)
    problem(session_conversation(client, c.stranger, session["id"]), 404)
    found = ok(client.get("/api/messages/search", query_string={"q": "private"}, headers=headers))
    assert found["items"] == []
    assert listing(client, c.stranger) == {}
    # Nothing of it changed what the members see.
    assert bodies(client, c.owner, cid) == ["private"]


def test_the_list_shows_entitled_conversations_with_unread_counts_and_the_total_skips_muted(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    cid = ok(project_conversation(client, c.owner, c.project_id), 200)["id"]
    # The member never opened it, yet it is on their list (their request entitles them).
    mine = listing(client, c.member)
    assert mine[cid]["kind"] == "project" and mine[cid]["unread"] == 0 and mine[cid]["title"] == "Project: Album"
    first = send(client, c.owner, cid, "one")
    send(client, c.owner, cid, "two")
    gid = ok(
        client.post(
            "/api/conversations",
            json={"kind": "group", "title": "Rhythm", "member_ids": [_uid(c.member)]},
            headers=bearer(c.owner),
        ),
        201,
    )["id"]
    send(client, c.owner, gid, "groove?")
    mine = listing(client, c.member)
    assert (mine[cid]["unread"], mine[gid]["unread"]) == (2, 1)
    assert next(iter(mine)) == gid  # latest activity first
    assert mine[gid]["last_message"]["body"] == "groove?"
    assert unread_total(client, c.member) == 3
    assert listing(client, c.owner)[cid]["unread"] == 0  # your own messages are read

    # Muted: still counted in the list, left out of the badge total.
    ok(client.put(f"/api/conversations/{cid}/mute", json={"muted": True}, headers=bearer(c.member)))
    assert listing(client, c.member)[cid]["unread"] == 2
    assert unread_total(client, c.member) == 1
    assert ok(client.get("/api/conversations", headers=bearer(c.member)))["unread_total"] == 1
    ok(client.put(f"/api/conversations/{cid}/mute", json={"muted": False}, headers=bearer(c.member)))
    assert read(client, c.member, cid, first).status_code == 204
    assert listing(client, c.member)[cid]["unread"] == 1
    assert unread_total(client, c.member) == 2

    # Someone who left still lists it, counting only what they could read.
    ok(client.post(f"/api/requests/{c.member_request}/cancel", json={}, headers=bearer(c.member)))
    send(client, c.owner, cid, "three")
    mine = listing(client, c.member)
    assert mine[cid]["active"] is False and mine[cid]["unread"] == 1
    assert mine[cid]["last_message"]["body"] == "two"
    assert unread_total(client, c.member) == 2

    # Pages of the list: no conversation twice, none missing.
    pages, cursor = [], None
    while True:
        query: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get("/api/conversations", query_string=query, headers=bearer(c.owner)))
        pages += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [cid, gid]  # "three" made the project the latest
