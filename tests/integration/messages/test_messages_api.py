"""The messages API on SQLite and PostgreSQL: direct conversations (one per pair), groups,
sending and retrying, the input rules (422 naming the field, nothing stored), the edit window,
tombstones, mentions, safe Markdown, history pages, read markers, search, blocks and reports."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from control_plane.kits.db.types import utcnow
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.messages.models import Conversation, ConversationMember, Message, MessageReport
from tests.integration.api_helpers import bearer, problem, register
from tests.integration.files.files_helpers import crew, upload, wav_bytes
from tests.integration.messages.messages_helpers import (
    bodies,
    count,
    direct,
    events,
    group,
    history,
    ok,
    post,
    project_conversation,
    read,
    send,
    set_columns,
)


def _uid(person: dict[str, Any]) -> int:
    return int(person["user"]["id"])


def _conversation(client: FlaskClient, person: dict[str, Any], cid: int) -> dict[str, Any]:
    return dict(ok(client.get(f"/api/conversations/{cid}", headers=bearer(person))))


def _search(client: FlaskClient, person: dict[str, Any], q: str, **query: Any) -> list[str]:
    answer = ok(client.get("/api/messages/search", query_string={"q": q, **query}, headers=bearer(person)))
    return [m["body"] for m in answer["items"]]


def _stored(app: Flask) -> dict[str, int]:
    return {
        m.__tablename__: count(app, m)
        for m in (Conversation, ConversationMember, Message, MessageReport, OutboxMessage)
    }


def _field(answer: Any, name: str) -> None:
    """A 422 whose errors name ``name`` (or an item of it: ``attachments.0``)."""
    body = problem(answer, 422)
    assert any(key.split(".")[0] == name for key in body["errors"]), body


def test_direct_is_one_per_pair_and_groups_are_named(app: Flask) -> None:
    client = app.test_client()
    ana, ben, cat = (register(client, name=n) for n in ("Ana Silva", "Ben Ode", "Cat Lee"))
    first = ok(direct(client, ana, ben), 201)
    assert first["kind"] == "direct" and first["title"] == "Ben Ode"
    assert {m["id"] for m in first["members"]} == {_uid(ana), _uid(ben)}
    assert ok(direct(client, ana, ben))["id"] == first["id"]  # 200, the same one
    back = ok(direct(client, ben, ana))
    assert back["id"] == first["id"] and back["title"] == "Ana Silva"
    assert count(app, Conversation, Conversation.kind == "direct") == 1
    problem(history(client, cat, first["id"]), 404)

    made = ok(group(client, ana, "  Trio  ", ben, cat), 201)
    gid = made["id"]
    assert made["title"] == "Trio" and len(made["members"]) == 3
    send(client, cat, gid, "before I go")
    renamed = ok(client.patch(f"/api/conversations/{gid}", json={"title": "Quartet"}, headers=bearer(ben)))
    assert renamed["title"] == "Quartet"
    dan = register(client, name="Dan Moe")
    added = ok(client.post(f"/api/conversations/{gid}/members", json={"member_ids": [_uid(dan)]}, headers=bearer(ana)))
    assert _uid(dan) in {m["id"] for m in added["members"]}
    assert bodies(client, dan, gid) == ["before I go"]  # the history is theirs, not unread
    assert _conversation(client, dan, gid)["unread"] == 0

    # Leaving: 204; they keep what was said and see nothing new, and may not post.
    assert client.delete(f"/api/conversations/{gid}/members/me", headers=bearer(cat)).status_code == 204
    send(client, ana, gid, "after cat left")
    assert bodies(client, cat, gid) == ["before I go"]
    assert problem(post(client, cat, gid, "wait"), 403)["code"] == "not-a-member"
    assert problem(client.patch(f"/api/conversations/{gid}", json={"title": "X"}, headers=bearer(cat)), 403)
    # Adding them back restores everything.
    ok(client.post(f"/api/conversations/{gid}/members", json={"member_ids": [_uid(cat)]}, headers=bearer(ben)))
    assert bodies(client, cat, gid) == ["before I go", "after cat left"]

    # Only groups are renamed or left.
    assert problem(client.patch(f"/api/conversations/{first['id']}", json={"title": "X"}, headers=bearer(ana)), 409)
    assert problem(client.delete(f"/api/conversations/{first['id']}/members/me", headers=bearer(ana)), 409)


def test_bad_conversation_bodies_are_422_naming_the_field_and_store_nothing(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana"), register(client, name="Ben")
    before = _stored(app)
    h = bearer(ana)
    _field(client.post("/api/conversations", json={"kind": "direct", "member_ids": [987654]}, headers=h), "member_ids")
    _field(
        client.post("/api/conversations", json={"kind": "direct", "member_ids": [_uid(ana)]}, headers=h), "member_ids"
    )
    two = {"kind": "direct", "member_ids": [_uid(ben), _uid(ana) + _uid(ben) + 5000]}
    _field(client.post("/api/conversations", json=two, headers=h), "member_ids")
    titled = {"kind": "direct", "member_ids": [_uid(ben)], "title": "Us"}
    _field(client.post("/api/conversations", json=titled, headers=h), "title")
    _field(client.post("/api/conversations", json={"kind": "group", "member_ids": [_uid(ben)]}, headers=h), "title")
    blank = {"kind": "group", "title": "   ", "member_ids": [_uid(ben)]}
    _field(client.post("/api/conversations", json=blank, headers=h), "title")
    _field(client.post("/api/conversations", json={"kind": "room", "member_ids": [_uid(ben)]}, headers=h), "kind")
    _field(
        client.post("/api/conversations", json={"kind": "group", "title": "x", "member_ids": []}, headers=h),
        "member_ids",
    )
    unknown = {"kind": "group", "title": "Band", "member_ids": [_uid(ben), 987654]}
    _field(client.post("/api/conversations", json=unknown, headers=h), "member_ids")
    assert _stored(app) == before


def test_send_and_retry_with_the_same_client_id(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana Silva"), register(client, name="Ben Ode")
    cid = ok(direct(client, ana, ben), 201)["id"]
    first = ok(post(client, ana, cid, "take one", cid="same-1"), 201)
    assert first["body"] == "take one" and first["sender"] == {"id": _uid(ana), "name": "Ana Silva"}
    assert first["conversation_id"] == cid and first["deleted"] is False and first["edited_at"] is None
    again = ok(post(client, ana, cid, "a different body", cid="same-1"))  # 200: the first message
    assert again == first
    assert count(app, Message) == 1 and len(events(app, "message.posted")) == 1
    # The same client_id from someone else is their own message.
    assert ok(post(client, ben, cid, "mine", cid="same-1"), 201)["id"] != first["id"]
    reply = ok(post(client, ben, cid, "reply", reply_to=first["id"]), 201)
    assert reply["reply_to"] == first["id"]
    assert reply["reply_preview"] == {"sender": {"id": _uid(ana), "name": "Ana Silva"}, "excerpt": "take one"}


BAD_MESSAGES: list[tuple[dict[str, Any], str]] = [
    ({"body": ""}, "body"),
    ({"body": "   \n "}, "body"),
    ({"body": "x" * 4001}, "body"),
    ({"body": "bell\x07"}, "body"),
    ({"body": "nul\x00"}, "body"),
    ({"body": "override\u202e"}, "body"),
    ({"body": 12}, "body"),
    ({"client_id": ""}, "client_id"),
    ({"client_id": "has space"}, "client_id"),
    ({"client_id": "x" * 65}, "client_id"),
    ({"client_id": None}, "client_id"),
    ({"reply_to": 0}, "reply_to"),
    ({"reply_to": "1"}, "reply_to"),
    ({"attachments": [0]}, "attachments"),
    ({"attachments": list(range(1, 12))}, "attachments"),
    ({"colour": "red"}, "colour"),
]


def test_bad_message_bodies_are_422_naming_the_field_and_store_nothing(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana"), register(client, name="Ben")
    cid = ok(direct(client, ana, ben), 201)["id"]
    before = _stored(app)
    for extra, name in BAD_MESSAGES:
        body = {"body": "hello", "client_id": "ok-1", **extra}
        answer = client.post(f"/api/conversations/{cid}/messages", json=body, headers=bearer(ana))
        _field(answer, name)
    assert _stored(app) == before
    # Not JSON at all: a 4xx, nothing stored either.
    raw = client.post(f"/api/conversations/{cid}/messages", data="body=hi", headers=bearer(ana))
    assert 400 <= raw.status_code < 500
    assert _stored(app) == before


def test_replies_and_attachments_must_belong_to_the_conversation(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    cid = ok(project_conversation(client, c.owner, c.project_id), 200)["id"]
    file = ok(upload(client, c.owner, c.project_id, wav_bytes(0.2), "take.wav"), 201)
    version = file["versions"][0]["id"]
    # Another project's file, and a group: neither takes this project's files.
    other = ok(
        client.post(
            "/api/projects",
            json={
                "title": "Other",
                "starts_at": "2031-05-05T09:00:00+00:00",
                "ends_at": "2031-05-06T09:00:00+00:00",
                "location": "Elsewhere",
            },
            headers=bearer(c.stranger),
        ),
        201,
    )
    foreign = ok(upload(client, c.stranger, other["id"], wav_bytes(0.2), "theirs.wav"), 201)["versions"][0]["id"]
    gid = ok(group(client, c.owner, "Side", c.member), 201)["id"]
    elsewhere = send(client, c.owner, gid, "in the group")

    attached = ok(post(client, c.member, cid, "", attachments=[version]), 201)  # a file alone is a message
    assert [a["version_id"] for a in attached["attachments"]] == [version]
    assert attached["attachments"][0]["name"] == "take.wav"

    before = _stored(app)
    _field(post(client, c.member, cid, "see", attachments=[foreign]), "attachments")
    _field(post(client, c.member, cid, "see", attachments=[987654]), "attachments")
    _field(post(client, c.owner, gid, "see", attachments=[version]), "attachments")
    _field(post(client, c.member, cid, "re", reply_to=elsewhere), "reply_to")
    _field(post(client, c.member, cid, "re", reply_to=987654), "reply_to")
    assert _stored(app) == before


def test_edits_within_fifteen_minutes_and_tombstones(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana Silva"), register(client, name="Ben Ode")
    cid = ok(direct(client, ana, ben), 201)["id"]
    mid = send(client, ana, cid, "the bridgework is late")
    reply = send(client, ben, cid, "why?", reply_to=mid)

    edited = ok(client.patch(f"/api/messages/{mid}", json={"body": "the bridgework is early"}, headers=bearer(ana)))
    assert edited["body"] == "the bridgework is early" and edited["edited_at"] is not None
    assert events(app, "message.edited")[-1].message["body"] == "the bridgework is early"
    assert problem(client.patch(f"/api/messages/{mid}", json={"body": "mine"}, headers=bearer(ben)), 403)
    _field(client.patch(f"/api/messages/{mid}", json={"body": "  "}, headers=bearer(ana)), "body")
    _field(client.patch(f"/api/messages/{mid}", json={"body": "x" * 4001}, headers=bearer(ana)), "body")
    assert _search(client, ben, "early") == ["the bridgework is early"]
    assert _search(client, ben, "late") == []

    # Sixteen minutes later: too late to edit (deleting is still fine).
    set_columns(app, Message, Message.id == mid, created_at=utcnow() - timedelta(minutes=16))
    late = client.patch(f"/api/messages/{mid}", json={"body": "changed my mind"}, headers=bearer(ana))
    assert problem(late, 409)["code"] == "edit-window-passed"
    assert bodies(client, ben, cid)[0] == "the bridgework is early"

    assert problem(client.delete(f"/api/messages/{mid}", headers=bearer(ben)), 403)  # not the sender
    assert client.delete(f"/api/messages/{mid}", headers=bearer(ana)).status_code == 204
    assert client.delete(f"/api/messages/{mid}", headers=bearer(ana)).status_code == 204  # a repeat
    assert len(events(app, "message.deleted")) == 1
    items = ok(history(client, ben, cid))["items"]
    tomb = items[0]
    assert tomb["id"] == mid and tomb["deleted"] is True
    assert (tomb["body"], tomb["html"], tomb["attachments"], tomb["mentions"]) == ("", "", [], [])
    assert items[1]["id"] == reply and items[1]["reply_preview"]["excerpt"] == ""  # the reply keeps its place
    assert _search(client, ben, "bridgework") == []
    set_columns(app, Message, Message.id == mid, created_at=utcnow())
    assert problem(client.patch(f"/api/messages/{mid}", json={"body": "back"}, headers=bearer(ana)), 409)


def test_mentions_by_full_name_and_unique_first_name(app: Flask) -> None:
    client = app.test_client()
    ana = register(client, name="Ana Silva")
    ben = register(client, name="Ben Ode")
    bea = register(client, name="Bea Ode")
    ben2 = register(client, name="Ben Lima")
    outsider = register(client, name="Zed Zero")
    gid = ok(group(client, ana, "Band", ben, bea, ben2), 201)["id"]

    def mentions(body: str) -> list[int]:
        return list(ok(post(client, ana, gid, body), 201)["mentions"])

    assert mentions("@Ben Ode and @Bea, look") == [_uid(ben), _uid(bea)]
    assert mentions("@ben lima!") == [_uid(ben2)]
    assert mentions("@Ben what do you think") == []  # two Bens: a first name alone names nobody
    assert mentions("@Zed @Ana Silva email@bea.example") == []  # not a member, the sender, an address
    assert _uid(outsider) not in mentions("@Zed Zero")
    posted = events(app, "message.posted")[0]
    mentioned = {r.user_id for r in posted.recipients if r.mentioned}
    assert mentioned == {_uid(ben), _uid(bea)}
    # An edit names people again.
    mid = send(client, ana, gid, "plain")
    edited = ok(client.patch(f"/api/messages/{mid}", json={"body": "@Bea Ode now"}, headers=bearer(ana)))
    assert edited["mentions"] == [_uid(bea)]


SAFE_TAGS = {"p", "a", "strong", "em", "code", "pre", "br"}
SAFE_ATTRIBUTES = {"href", "rel", "target", "class"}


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    parser = Tags()
    parser.feed(html)
    parser.close()
    return found


def test_markdown_never_becomes_raw_html(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana"), register(client, name="Ben")
    cid = ok(direct(client, ana, ben), 201)["id"]
    hostile = [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "![pic](https://example.com/x.png)",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](javascript&#58;alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox)",
        "<javascript:alert(1)>",
        '<a href="https://example.com">x</a>',
        '[x](https://example.com "a" onmouseover=alert(1))',
    ]
    for body in hostile:
        html = ok(post(client, ana, cid, body), 201)["html"]
        for tag, attrs in _tags(html):
            assert tag in SAFE_TAGS, html
            assert {name for name, _ in attrs} <= SAFE_ATTRIBUTES, html
            for name, value in attrs:
                assert name != "href" or (value or "").startswith(("https://", "http://", "mailto:")), html
    safe = ok(post(client, ana, cid, "**loud** and `code` at https://example.com/a?b=1"), 201)["html"]
    assert "<strong>loud</strong>" in safe and "<code>code</code>" in safe
    assert '<a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer" target="_blank">' in safe
    # The text itself is kept as written.
    assert bodies(client, ben, cid)[0] == "<script>alert(1)</script>"


def test_history_pages_in_id_order_without_gaps_or_duplicates(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana"), register(client, name="Ben")
    cid = ok(direct(client, ana, ben), 201)["id"]
    ids = [send(client, ana if i % 2 else ben, cid, f"m{i}") for i in range(7)]

    newest = ok(history(client, ben, cid, limit=3))
    assert [m["id"] for m in newest["items"]] == ids[-3:] and newest["has_more"] is True
    seen, cursor = [m["id"] for m in newest["items"]], newest["next_cursor"]
    while cursor is not None:
        page = ok(history(client, ben, cid, limit=3, before=cursor))
        page_ids = [m["id"] for m in page["items"]]
        assert page_ids == sorted(page_ids)
        seen = page_ids + seen
        cursor = page["next_cursor"]
    assert seen == ids

    caught, cursor = [], "0"
    while cursor is not None:  # catching up after a reconnect: ``after`` pages forward
        page = ok(history(client, ben, cid, limit=2, after=cursor))
        caught += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
    assert caught == ids
    assert [m["id"] for m in ok(history(client, ben, cid, after=ids[2], before=ids[5]))["items"]] == ids[3:5]
    assert ok(history(client, ben, cid, after=ids[-1]))["items"] == []
    for bad in ({"limit": 0}, {"limit": 201}, {"before": 0}, {"after": -1}, {"before": "x"}, {"page": 2}):
        problem(history(client, ben, cid, **bad), 422)


def test_read_markers_never_move_back_and_stop_at_the_newest(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana"), register(client, name="Ben")
    cid = ok(direct(client, ana, ben), 201)["id"]
    ids = [send(client, ana, cid, f"m{i}") for i in range(4)]
    assert _conversation(client, ben, cid)["unread"] == 4
    assert read(client, ben, cid, ids[2]).status_code == 204
    assert _conversation(client, ben, cid)["last_read_id"] == ids[2]
    assert _conversation(client, ben, cid)["unread"] == 1
    assert read(client, ben, cid, ids[0]).status_code == 204  # never back
    assert _conversation(client, ben, cid)["last_read_id"] == ids[2]
    assert read(client, ben, cid, ids[-1] + 10_000).status_code == 204  # clamped to the newest
    seen = _conversation(client, ben, cid)
    assert seen["last_read_id"] == ids[-1] and seen["unread"] == 0
    assert seen["read_markers"][str(_uid(ben))] == ids[-1]
    for bad in ({"up_to": -1}, {"up_to": "5"}, {}, {"up_to": 1.5}):
        _field(client.post(f"/api/conversations/{cid}/read", json=bad, headers=bearer(ben)), "up_to")


def test_search_finds_prefixes_only_where_the_caller_may_read(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    cid = ok(project_conversation(client, c.owner, c.project_id), 200)["id"]
    send(client, c.owner, cid, "The bridge needs strings")
    send(client, c.pending, cid, "Bridges are my thing")
    ana = register(client, name="Ana")
    elsewhere = ok(direct(client, c.owner, ana), 201)["id"]
    send(client, ana, elsewhere, "secret bridge plan")
    assert _search(client, c.member, "bri") == ["Bridges are my thing", "The bridge needs strings"]
    assert _search(client, c.member, "BRIDGE str") == ["The bridge needs strings"]
    assert _search(client, c.member, "plan") == []  # not their conversation
    assert _search(client, c.owner, "bridge") == [
        "secret bridge plan",
        "Bridges are my thing",
        "The bridge needs strings",
    ]
    assert _search(client, c.stranger, "bridge") == []
    assert _search(client, c.member, '"bri*" ^(:') == ["Bridges are my thing", "The bridge needs strings"]
    # Words as people write them: ß, accents, capitals (a query folded past what the index
    # holds finds nothing).
    send(client, c.owner, cid, "Die Straße ist groß, the café too")
    for q in ("Straße", "STRAßE", "groß", "café", "Caf"):
        assert _search(client, c.member, q) == ["Die Straße ist groß, the café too"], q
    # A former member's search stops where their reading does.
    ok(client.post(f"/api/requests/{c.pending_request}/decline", json={}, headers=bearer(c.pending)))
    send(client, c.owner, cid, "bridge moved to Tuesday")
    assert _search(client, c.pending, "bridge") == ["Bridges are my thing", "The bridge needs strings"]
    assert _search(client, c.member, "bridge")[0] == "bridge moved to Tuesday"
    # Pages of results, newest first.
    page = ok(client.get("/api/messages/search", query_string={"q": "bri", "limit": 2}, headers=bearer(c.owner)))
    rest = _search(client, c.owner, "bri", before=page["next_cursor"])
    assert [m["body"] for m in page["items"]] + rest == _search(client, c.owner, "bri")
    problem(client.get("/api/messages/search", query_string={"q": ""}, headers=bearer(c.owner)), 422)


def test_a_block_closes_the_direct_conversation_both_ways_not_groups(app: Flask) -> None:
    client = app.test_client()
    ana, ben, cat = (register(client, name=n) for n in ("Ana", "Ben", "Cat"))
    cid = ok(direct(client, ana, ben), 201)["id"]
    send(client, ben, cid, "hi")
    gid = ok(group(client, cat, "All", ana, ben), 201)["id"]

    assert client.post(f"/api/users/{_uid(ben)}/block", headers=bearer(ana)).status_code == 204
    assert client.post(f"/api/users/{_uid(ben)}/block", headers=bearer(ana)).status_code == 204  # a repeat
    blocked = ok(client.get("/api/users/blocked", headers=bearer(ana)))["items"]
    assert [b["id"] for b in blocked] == [_uid(ben)]
    before = count(app, Message)
    assert problem(post(client, ben, cid, "why?"), 403)["code"] == "blocked"
    assert problem(post(client, ana, cid, "bye"), 403)["code"] == "blocked"
    assert problem(direct(client, ben, ana), 403)["code"] == "blocked"
    assert problem(direct(client, ana, ben), 403)["code"] == "blocked"
    assert count(app, Message) == before
    assert bodies(client, ben, cid) == ["hi"]  # what was said stays readable
    send(client, ben, gid, "still in the group")  # groups are shared with others: unaffected
    send(client, ana, gid, "me too")

    _field(client.post(f"/api/users/{_uid(ana)}/block", headers=bearer(ana)), "user_id")
    problem(client.post("/api/users/987654/block", headers=bearer(ana)), 404)
    assert client.delete(f"/api/users/{_uid(ben)}/block", headers=bearer(ben)).status_code == 204  # not theirs
    assert problem(post(client, ben, cid, "still?"), 403)["code"] == "blocked"
    assert client.delete(f"/api/users/{_uid(ben)}/block", headers=bearer(ana)).status_code == 204
    send(client, ben, cid, "friends again")
    assert ok(direct(client, ben, ana))["id"] == cid


def test_reports_keep_the_text_for_the_admins(app: Flask) -> None:
    client = app.test_client()
    ana, ben, cat = (register(client, name=n) for n in ("Ana", "Ben", "Cat"))
    cid = ok(direct(client, ana, ben), 201)["id"]
    mid = send(client, ana, cid, "something rude")
    first = client.post(f"/api/messages/{mid}/report", json={"reason": "rude"}, headers=bearer(ben))
    report = ok(first, 201)
    assert report["message_id"] == mid and report["status"] == "open" and report["reason"] == "rude"
    again = ok(client.post(f"/api/messages/{mid}/report", json={"reason": "very rude"}, headers=bearer(ben)))
    assert again["id"] == report["id"]
    assert count(app, MessageReport) == 1
    _field(client.post(f"/api/messages/{mid}/report", json={"reason": "mine"}, headers=bearer(ana)), "message_id")
    problem(client.post(f"/api/messages/{mid}/report", json={"reason": "x"}, headers=bearer(cat)), 404)
    _field(client.post(f"/api/messages/{mid}/report", json={"reason": "  "}, headers=bearer(ben)), "reason")
    _field(client.post(f"/api/messages/{mid}/report", json={"reason": "x" * 1001}, headers=bearer(ben)), "reason")
    assert count(app, MessageReport) == 1

    # The sender edits (or deletes) it afterwards: the report still has what was reported.
    ok(client.patch(f"/api/messages/{mid}", json={"body": "something nice"}, headers=bearer(ana)))
    assert client.delete(f"/api/messages/{mid}", headers=bearer(ana)).status_code == 204
    with app.app_context():
        from control_plane.kits.extensions import db

        row = db.session.get(MessageReport, report["id"])
        assert row is not None and row.body_snapshot == "something rude" and row.reporter_id == _uid(ben)
        db.session.remove()
