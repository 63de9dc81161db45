"""Comments on file versions (docs/FILES.md), on SQLite and PostgreSQL: a pin is a moment or
span of audio or a point of a PDF page, never both and never the wrong one; replies belong
to their thread; resolve and reopen are idempotent; ``@name`` mentions tell the member; the
listing narrows to a version and pages with a cursor. A refused comment keeps nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from control_plane.files.models import FileVersion
from control_plane.kits.extensions import db
from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import (
    MUSICXML,
    Crew,
    crew,
    events,
    new_version,
    nothing_kept,
    pdf_bytes,
    problem_code,
    snapshot,
    upload,
    wav_bytes,
)


def _post(client: FlaskClient, person: dict[str, Any], file_id: int, **body: Any) -> Any:
    return client.post(f"/api/files/{file_id}/comments", json={"version": 1, **body}, headers=bearer(person))


def _created(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def _files(client: FlaskClient, c: Crew) -> tuple[int, int]:
    """An audio file and a PDF on the crew's project."""
    take = _created(upload(client, c.member, c.project_id, wav_bytes(1.0), "take.wav"))
    chart = _created(upload(client, c.owner, c.project_id, pdf_bytes(3), "chart.pdf"))
    return int(take["id"]), int(chart["id"])


def _refused(answer: Any, field: str) -> None:
    """A 422 that names ``field``."""
    body = problem_code(answer, 422, "validation-error")
    assert field in body["errors"], body


def test_pins_are_a_moment_of_audio_or_a_point_of_a_pdf_page(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take, chart = _files(client, c)

    moment = _created(_post(client, c.owner, take, body="snare is late here", at_ms=500))
    assert (moment["at_ms"], moment["until_ms"], moment["page"], moment["x"], moment["y"]) == (
        500,
        None,
        None,
        None,
        None,
    )
    assert (moment["version"], moment["file_id"], moment["reply_to"], moment["resolved"]) == (1, take, None, False)
    assert moment["author"] == {"id": c.owner["user"]["id"], "name": "Paula Producer"}
    span = _created(_post(client, c.member, take, body="this whole fill", at_ms=200, until_ms=900))
    assert (span["at_ms"], span["until_ms"]) == (200, 900)
    point = _created(_post(client, c.pending, chart, body="wrong chord", page=2, x=0.25, y=0.75))
    assert (point["page"], point["x"], point["y"], point["at_ms"]) == (2, 0.25, 0.75, None)
    plain = _created(_post(client, c.member, chart, body="looks good overall"))
    assert (plain["page"], plain["at_ms"]) == (None, None)

    score = _created(upload(client, c.owner, c.project_id, MUSICXML, "part.musicxml"))
    before = snapshot(app)
    _refused(_post(client, c.owner, take, body="both", at_ms=100, page=1, x=0.1, y=0.1), "at_ms")
    _refused(_post(client, c.owner, chart, body="moment on a page", at_ms=100), "at_ms")
    _refused(_post(client, c.owner, take, body="page on audio", page=1, x=0.5, y=0.5), "page")
    _refused(_post(client, c.owner, take, body="backwards", at_ms=900, until_ms=900), "until_ms")
    _refused(_post(client, c.owner, take, body="end only", until_ms=900), "at_ms")
    _refused(_post(client, c.owner, chart, body="half a point", page=1, x=0.5), "page")
    _refused(_post(client, c.owner, chart, body="off the page", page=1, x=1.5, y=0.5), "x")
    _refused(_post(client, c.owner, chart, body="page zero", page=0, x=0.5, y=0.5), "page")
    _refused(_post(client, c.owner, take, body="negative", at_ms=-1), "at_ms")
    _refused(_post(client, c.owner, take, body="no such version", version=2), "version")
    _refused(_post(client, c.owner, take, body="   "), "body")
    _refused(_post(client, c.owner, take, body="x" * 5001), "body")
    _refused(_post(client, c.owner, take, body="a string moment", at_ms="500"), "at_ms")
    _refused(_post(client, c.owner, score["id"], body="MusicXML has no pages", page=1, x=0.5, y=0.5), "page")
    nothing_kept(app, before)


def test_a_moment_past_the_end_is_refused_once_the_analysis_knows_the_duration(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take, _ = _files(client, c)
    # Before the analysis nothing knows the duration: any moment goes.
    _created(_post(client, c.owner, take, body="somewhere late", at_ms=60_000))
    with app.app_context():
        db.session.execute(
            update(FileVersion)
            .where(FileVersion.file_id == take)
            .values(analysis_status="done", analysis_progress=1.0, analysis={"duration_s": 1.0, "bpm": 120.0})
        )
        db.session.commit()
        db.session.remove()
    before = snapshot(app)
    _refused(_post(client, c.owner, take, body="after the end", at_ms=5000), "at_ms")
    _refused(_post(client, c.owner, take, body="a span past the end", at_ms=500, until_ms=5000), "until_ms")
    nothing_kept(app, before)
    _created(_post(client, c.owner, take, body="the last beat", at_ms=1000))
    _created(_post(client, c.owner, take, body="the tail", at_ms=500, until_ms=1000))


def test_replies_belong_to_their_thread(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take, chart = _files(client, c)
    _created(new_version(client, c.member, take, wav_bytes(1.1)))
    thread = _created(_post(client, c.owner, take, body="too loud", at_ms=100))
    other = _created(_post(client, c.owner, chart, body="on the chart"))

    # Written while looking at version 2: a reply joins its thread's version, with no pin.
    reply = _created(_post(client, c.member, take, version=2, body="fixed in v2", reply_to=thread["id"]))
    assert (reply["reply_to"], reply["version"], reply["at_ms"], reply["page"]) == (thread["id"], 1, None, None)
    (event,) = [e for e in events(app, "file.comment_added") if e.comment_id == reply["id"]]
    assert event.reply_to_author == c.owner["user"]["id"]

    before = snapshot(app)
    _refused(_post(client, c.pending, take, body="pinned reply", reply_to=thread["id"], at_ms=5), "reply_to")
    _refused(_post(client, c.pending, take, body="reply to a reply", reply_to=reply["id"]), "reply_to")
    _refused(_post(client, c.pending, take, body="another file's", reply_to=other["id"]), "reply_to")
    _refused(_post(client, c.pending, take, body="nothing", reply_to=987_654), "reply_to")
    nothing_kept(app, before)


def test_resolve_and_reopen_are_idempotent_and_replies_are_not_threads(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take, _ = _files(client, c)
    thread = _created(_post(client, c.owner, take, body="too loud", at_ms=100))
    reply = _created(_post(client, c.member, take, body="fixed", reply_to=thread["id"]))
    url = f"/api/comments/{thread['id']}"

    first = client.post(f"{url}/resolve", headers=bearer(c.member))
    assert first.status_code == 200, first.get_json()
    resolved = first.get_json()
    assert resolved["resolved"] is True
    assert resolved["resolved_by"] == {"id": c.member["user"]["id"], "name": "Mia Drums"}
    again = client.post(f"{url}/resolve", headers=bearer(c.owner)).get_json()
    assert (again["resolved_at"], again["resolved_by"]) == (resolved["resolved_at"], resolved["resolved_by"])

    def counts() -> tuple[int, int]:
        file = client.get(f"/api/files/{take}", headers=bearer(c.owner)).get_json()
        return int(file["comment_count"]), int(file["open_comment_count"])

    assert counts() == (2, 0)  # the reply is resolved with its thread

    for _ in range(2):
        reopened = client.post(f"{url}/reopen", headers=bearer(c.pending))
        assert reopened.status_code == 200
        assert (reopened.get_json()["resolved"], reopened.get_json()["resolved_by"]) == (False, None)
    assert counts() == (2, 2)
    _created(_post(client, c.owner, take, body="another thread"))
    assert counts() == (3, 3)
    for step in ("resolve", "reopen"):
        problem_code(
            client.post(f"/api/comments/{reply['id']}/{step}", headers=bearer(c.owner)), 409, "reply-not-resolvable"
        )
        for person in (c.former, c.stranger):
            problem_code(client.post(f"{url}/{step}", headers=bearer(person)), 404, "comment-not-found")
        problem_code(client.post(f"/api/comments/987654/{step}", headers=bearer(c.owner)), 404, "comment-not-found")
    listed = client.get(f"/api/files/{take}/comments", headers=bearer(c.owner)).get_json()["items"]
    assert [(x["id"], x["resolved"]) for x in listed[:2]] == [(thread["id"], False), (reply["id"], False)]


def test_mentions_tell_the_members_named(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take, _ = _files(client, c)
    owner, member, pending = (int(p["user"]["id"]) for p in (c.owner, c.member, c.pending))
    before = len(events(app, "file.comment_added"))
    body = "@Mia Drums the fill at 0:30, and @pete pending too. Not @Fred Former, not @Mia Drumsticks, not me@Mia Drums"
    comment = _created(_post(client, c.owner, take, body=body, at_ms=300))
    (event,) = events(app, "file.comment_added")[before:]
    assert (event.comment_id, event.file_id, event.version_number, event.actor_id) == (comment["id"], take, 1, owner)
    assert event.mentioned == [member, pending]
    assert set(event.recipients) == {member, pending}  # the members, never the author
    assert owner not in event.recipients
    assert event.excerpt.startswith("@Mia Drums the fill")

    # Naming yourself tells nobody more; the event still goes to the others.
    _created(_post(client, c.member, take, body="note to self, @Mia Drums: and @Paula Producer"))
    (mine,) = events(app, "file.comment_added")[before + 1 :]
    assert mine.mentioned == [owner]
    assert set(mine.recipients) == {owner, pending}
    assert mine.reply_to_author is None


def test_listing_narrows_to_a_version_and_pages_with_a_cursor(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take, _ = _files(client, c)
    _created(new_version(client, c.member, take, wav_bytes(1.1)))
    made = [
        _created(_post(client, who, take, version=version, body=f"comment {n}", at_ms=10 * n))
        for n, (who, version) in enumerate([(c.owner, 1), (c.member, 2), (c.pending, 1), (c.owner, 2), (c.member, 1)])
    ]
    url = f"/api/files/{take}/comments"

    def walk(limit: int, **query: Any) -> list[int]:
        seen: list[int] = []
        cursor: str | None = None
        for _ in range(20):
            params = {"limit": limit, **query, **({"cursor": cursor} if cursor else {})}
            page = client.get(url, query_string=params, headers=bearer(c.member))
            assert page.status_code == 200, page.get_json()
            seen += [x["id"] for x in page.get_json()["items"]]
            cursor = page.get_json()["next_cursor"]
            if cursor is None:
                return seen
        raise AssertionError("the cursor never ended")

    ids = [m["id"] for m in made]
    assert walk(200) == ids  # oldest first
    assert walk(1) == ids
    assert walk(2) == ids
    assert walk(2, version=1) == [ids[0], ids[2], ids[4]]
    assert walk(1, version=2) == [ids[1], ids[3]]
    listed = client.get(url, query_string={"version": 2}, headers=bearer(c.owner)).get_json()["items"]
    assert {x["version"] for x in listed} == {2}
    problem_code(client.get(url, query_string={"version": 3}, headers=bearer(c.owner)), 404, "version-not-found")
    problem_code(client.get(url, query_string={"limit": 0}, headers=bearer(c.owner)), 422, "validation-error")
    problem_code(client.get(url, query_string={"cursor": "x"}, headers=bearer(c.owner)), 422, "validation-error")
