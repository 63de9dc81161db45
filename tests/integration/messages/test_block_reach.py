"""How far a block reaches, attachments that outlive their files, and the edges an outside
review found: a group is no way around a block, a blocked person cannot edit into the
direct conversation, whoever blocked the sender is never told of their messages, a group
has a size, a purged file keeps its place in the conversation, concurrent identical blocks
and reports are repeats (not errors), and an id no row can have is a 404 on every method."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from control_plane.files.jobs import purge_deleted_files
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import current_settings, db
from control_plane.messages.services import conversations as conversation_service
from tests.integration.api_helpers import bearer, problem, register
from tests.integration.files.files_helpers import crew, upload, wav_bytes
from tests.integration.messages.messages_helpers import (
    direct,
    events,
    group,
    history,
    ok,
    project_conversation,
    send,
)


def _uid(person: dict[str, Any]) -> int:
    return int(person["user"]["id"])


def test_a_group_is_no_way_around_a_block(app: Flask) -> None:
    client = app.test_client()
    ana, ben, cat = (register(client, name=n) for n in ("Ana Silva", "Ben Jones", "Cat Lee"))
    gid = ok(group(client, cat, "Band", ben), 201)["id"]
    assert client.post(f"/api/users/{_uid(ben)}/block", headers=bearer(ana)).status_code == 204

    assert problem(group(client, ben, "Just us", ana), 403)["code"] == "blocked"
    assert problem(group(client, ana, "Just us", ben), 403)["code"] == "blocked"
    added = client.post(f"/api/conversations/{gid}/members", json={"member_ids": [_uid(ana)]}, headers=bearer(ben))
    assert problem(added, 403)["code"] == "blocked"
    # Someone else may bring Ana in; Ben's messages there never *tell* her anything.
    ok(client.post(f"/api/conversations/{gid}/members", json={"member_ids": [_uid(ana)]}, headers=bearer(cat)))
    send(client, ben, gid, "@Ana Silva look at this")
    (posted,) = events(app, "message.posted")
    told = {r.user_id: r for r in posted.recipients}
    assert told[_uid(ana)].muted and not told[_uid(ana)].mentioned
    assert not told[_uid(cat)].muted


def test_a_blocked_person_cannot_edit_into_the_direct_conversation(app: Flask) -> None:
    client = app.test_client()
    ana, ben = register(client, name="Ana"), register(client, name="Ben")
    cid = ok(direct(client, ana, ben), 201)["id"]
    mid = send(client, ben, cid, "hello")
    assert client.post(f"/api/users/{_uid(ben)}/block", headers=bearer(ana)).status_code == 204
    edited = client.patch(f"/api/messages/{mid}", json={"body": "you can't block me"}, headers=bearer(ben))
    assert problem(edited, 403)["code"] == "blocked"
    assert ok(history(client, ana, cid))["items"][0]["body"] == "hello"
    assert client.delete(f"/api/messages/{mid}", headers=bearer(ben)).status_code == 204  # taking back is fine


def test_a_group_has_a_size(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversation_service, "MAX_GROUP_SIZE", 3)
    client = app.test_client()
    ana, ben, cat, dan = (register(client, name=n) for n in ("Ana", "Ben", "Cat", "Dan"))
    gid = ok(group(client, ana, "Trio", ben, cat), 201)["id"]
    answer = client.post(f"/api/conversations/{gid}/members", json={"member_ids": [_uid(dan)]}, headers=bearer(ana))
    assert "member_ids" in problem(answer, 422)["errors"]
    assert [m["id"] for m in ok(client.get(f"/api/conversations/{gid}", headers=bearer(ana)))["members"]] == [
        _uid(ana),
        _uid(ben),
        _uid(cat),
    ]


def test_an_attached_file_keeps_its_place_after_it_is_purged(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    cid = ok(project_conversation(client, c.owner, c.project_id))["id"]
    file = ok(upload(client, c.owner, c.project_id, wav_bytes(0.2), "take.wav"), 201)
    version = file["versions"][0]["id"]
    send(client, c.member, cid, "", attachments=[version])
    assert client.delete(f"/api/files/{file['id']}", headers=bearer(c.owner)).status_code == 204
    with app.app_context():
        assert purge_deleted_files(db.session, utcnow() + timedelta(days=1), current_settings()) >= 1
    (shown,) = ok(history(client, c.member, cid))["items"]
    (attachment,) = shown["attachments"]
    assert (attachment["name"], attachment["deleted"], attachment["url"]) == ("take.wav", True, None)
    assert not shown["deleted"]


def test_ids_no_row_can_have_are_404_on_every_method(app: Flask) -> None:
    client = app.test_client()
    ana = register(client, name="Ana")
    huge = 2**64
    for method, path in (
        ("DELETE", f"/api/messages/{huge}"),
        ("PATCH", f"/api/messages/{huge}"),
        ("POST", f"/api/conversations/{huge}/messages"),
        ("GET", f"/api/conversations/{huge}/messages"),
    ):
        answer = client.open(path, method=method, json={"body": "x", "client_id": "c"}, headers=bearer(ana))
        assert answer.status_code == 404, (method, path, answer.status_code)
