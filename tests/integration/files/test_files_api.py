"""Project files through the HTTP API (docs/FILES.md), on SQLite and PostgreSQL: kinds from
the bytes, versions, limits, downloads (Range, ETag), rename and delete with the purge job,
listing, the events every version stages, the stream worker's signed internal calls and the
job that asks again for a stalled analysis. Every refusal is checked to have kept nothing:
no row, no object in ``<data dir>/files``, nothing left in ``<data dir>/files-staging``."""

from __future__ import annotations

import hashlib
import io
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from contracts.files import (
    FILE_ANALYSIS_PURPOSE,
    FILE_CONTENT_PURPOSE,
    analysis_signed_bytes,
    file_analysis_path,
    file_content_path,
)
from control_plane.files.jobs import JOBS
from control_plane.files.models import FileComment, FileVersion, ProjectFile
from control_plane.files.services.analysis import MAX_ATTEMPTS
from control_plane.kits.extensions import db
from downbeat.signing import HEADER, sign
from tests.integration.api_helpers import bearer, register
from tests.integration.files.files_helpers import (
    MUSICXML,
    PNG,
    Crew,
    crew,
    events,
    files_app,
    new_version,
    nothing_kept,
    pdf_bytes,
    problem_code,
    rows,
    settings_of,
    snapshot,
    staged_files,
    stored_objects,
    upload,
    wav_bytes,
)

RANDOM = random.Random(16).randbytes(10_000)  # no magic number, not UTF-8: "other"
TEXT = "Liner notes — café ♪\nTake 3 is the one.\n".encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _created(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def _content(client: FlaskClient, person: dict[str, Any], file_id: int, number: int = 1, **headers: str) -> Any:
    return client.get(f"/api/files/{file_id}/versions/{number}/content", headers={**bearer(person), **headers})


def _run_job(app: Flask, name: str, now: datetime | None = None) -> int:
    with app.app_context():
        count = JOBS[name](db.session(), now or datetime.now(UTC), settings_of(app))
        db.session.remove()
        return count


# --- kinds, versions, limits ------------------------------------------------------------------

KINDS = [
    # bytes, a misleading name, kind, served type, inline?
    (wav_bytes(0.5), "chart.pdf", "audio", "audio/wav", True),
    (PNG, "take.wav", "image", "image/png", True),
    (pdf_bytes(), "photo.png", "score", "application/pdf", True),
    (MUSICXML, "notes.txt", "score", "application/vnd.recordare.musicxml+xml", False),
    (RANDOM, "song.mp3", "other", "application/octet-stream", False),
    (TEXT, "cover.png", "document", "text/plain; charset=utf-8", False),
    # A page someone hopes we render in our origin: plain text, an attachment, never HTML.
    (b"<!doctype html><html><script>alert(1)</script></html>", "chart.html", "document", "text/plain", False),
]


def test_the_kind_comes_from_the_bytes_never_the_name(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    for data, name, kind, content_type, inline in KINDS:
        file = _created(upload(client, c.member, c.project_id, data, name))
        assert (file["name"], file["kind"], file["current_version"]) == (name, kind, 1), file
        (version,) = file["versions"]
        assert version["content_type"].startswith(content_type)
        assert (version["size"], version["sha256"], version["number"]) == (len(data), _sha(data), 1)
        assert version["uploaded_by"] == {"id": c.member["user"]["id"], "name": "Mia Drums"}
        assert version["analysis"] == (
            {"status": "pending", "progress": 0.0, "result": None, "error": None} if kind == "audio" else None
        )
        served = _content(client, c.owner, file["id"])
        assert served.status_code == 200
        assert served.get_data() == data
        assert served.headers["Content-Type"].startswith(content_type)
        assert served.headers["Content-Length"] == str(len(data))
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["ETag"] == f'"{_sha(data)}"'
        disposition = served.headers["Content-Disposition"]
        assert disposition.startswith("inline;" if inline else "attachment;"), (name, disposition)
        assert f'filename="{name}"' in disposition
    assert len(stored_objects(app)) == len(KINDS)
    assert staged_files(app) == []


def test_names_come_from_the_form_or_the_file_name_without_folders_or_control_characters(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    for filename, form, expected in (
        ("../../etc/passwd", {}, "passwd"),
        ("/home/mia/take 3.wav", {}, "take 3.wav"),
        ("take.wav", {"name": '  Take 3 \u2014 caf\u00e9 "final"  '}, 'Take 3 \u2014 caf\u00e9 "final"'),
        ("bell\u0007.wav", {}, "bell.wav"),
        ("", {}, "Untitled"),
    ):
        file = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), filename, **form))
        assert file["name"] == expected, filename
        disposition = _content(client, c.member, file["id"]).headers["Content-Disposition"]
        assert disposition.startswith("inline; filename=")
        assert "\n" not in disposition and disposition.isascii()
        if not expected.isascii() or '"' in expected:
            assert "filename*=UTF-8''" in disposition
            assert '"final"' not in disposition  # no quote that ends the header's quoted name early
    answer = upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav", name="x" * 201)
    assert "name" in problem_code(answer, 422, "validation-error")["errors"]
    assert staged_files(app) == []


def test_a_new_version_becomes_current_and_the_old_one_stays_readable(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    first, second = wav_bytes(0.5, freq=440.0), wav_bytes(0.7, freq=660.0)
    file = _created(upload(client, c.member, c.project_id, first, "take.wav", note="first take"))
    version = _created(new_version(client, c.owner, file["id"], second, note="  tighter hi-hat  "))
    assert (version["number"], version["note"], version["sha256"]) == (2, "tighter hi-hat", _sha(second))
    assert version["uploaded_by"]["id"] == c.owner["user"]["id"]
    assert version["content_url"] == f"/api/files/{file['id']}/versions/2/content"

    again = client.get(f"/api/files/{file['id']}", headers=bearer(c.member)).get_json()
    assert again["current_version"] == 2
    assert [(v["number"], v["note"], v["sha256"], v["size"]) for v in again["versions"]] == [
        (1, "first take", _sha(first), len(first)),
        (2, "tighter hi-hat", _sha(second), len(second)),
    ]
    assert _content(client, c.pending, file["id"], 1).get_data() == first
    assert _content(client, c.pending, file["id"], 2).get_data() == second
    one = client.get(f"/api/files/{file['id']}/versions/1", headers=bearer(c.owner)).get_json()
    assert (one["number"], one["sha256"], one["note"]) == (1, _sha(first), "first take")
    problem_code(client.get(f"/api/files/{file['id']}/versions/3", headers=bearer(c.owner)), 404, "version-not-found")
    problem_code(_content(client, c.owner, file["id"], 3), 404, "version-not-found")

    before = snapshot(app)
    refused = problem_code(new_version(client, c.member, file["id"], pdf_bytes()), 422, "kind-mismatch")
    assert "file" in refused["errors"]
    nothing_kept(app, before)
    assert client.get(f"/api/files/{file['id']}", headers=bearer(c.member)).get_json()["current_version"] == 2


def test_versions_uploaded_at_once_are_numbered_one_after_the_other(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    file = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav"))
    takes = [wav_bytes(0.5, freq=200.0 + 50 * n) for n in range(6)]
    people = [c.owner, c.member, c.pending] * 2
    start = threading.Barrier(len(takes))

    def send(n: int) -> tuple[int, dict[str, Any]]:
        own = app.test_client()  # one client (and app context) per thread
        start.wait()
        answer = new_version(own, people[n], file["id"], takes[n])
        return answer.status_code, answer.get_json()

    with ThreadPoolExecutor(len(takes)) as pool:
        answers = list(pool.map(send, range(len(takes))))
    assert [status for status, _ in answers] == [201] * len(takes), answers
    assert sorted(body["number"] for _, body in answers) == list(range(2, len(takes) + 2))
    again = client.get(f"/api/files/{file['id']}", headers=bearer(c.owner)).get_json()
    assert again["current_version"] == len(takes) + 1
    by_number = {v["number"]: v["sha256"] for v in again["versions"]}
    for n, (_, body) in enumerate(answers):
        assert by_number[body["number"]] == _sha(takes[n])
        assert _content(client, c.owner, file["id"], body["number"]).get_data() == takes[n]
    assert len(events(app, "file.version_added")) == len(takes) + 1
    assert len(stored_objects(app)) == len(takes) + 1
    assert staged_files(app) == []


def test_uploads_over_the_limit_of_their_kind_are_refused_and_leave_nothing(tmp_path: Path, database_url: str) -> None:
    with files_app(tmp_path, database_url, max_audio_bytes=10_000, max_image_bytes=64) as app:
        client = app.test_client()
        c = crew(client)
        before = snapshot(app)
        # Over the limit once the first bytes showed the kind (mid-stream) ...
        refused = problem_code(
            upload(client, c.member, c.project_id, wav_bytes(1.0), "long.wav"), 413, "file-too-large"
        )
        assert (refused["kind"], refused["limit_bytes"]) == ("audio", 10_000)
        assert "file" in refused["errors"]
        nothing_kept(app, before)
        # ... and a file shorter than the sniffed head, over a smaller limit.
        refused = problem_code(upload(client, c.member, c.project_id, PNG, "dot.png"), 413, "file-too-large")
        assert (refused["kind"], refused["limit_bytes"]) == ("image", 64)
        nothing_kept(app, before)
        # Other kinds keep their own limits.
        _created(upload(client, c.member, c.project_id, RANDOM, "blob.bin"))
        file = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "short.wav"))
        before = snapshot(app)
        problem_code(new_version(client, c.member, file["id"], wav_bytes(1.0)), 413, "file-too-large")
        nothing_kept(app, before)


def test_bodies_that_are_not_a_file_are_refused_and_leave_nothing(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    file = _created(upload(client, c.member, c.project_id, TEXT, "notes.txt"))
    before = snapshot(app)
    for url in (f"/api/projects/{c.project_id}/files", f"/api/files/{file['id']}/versions"):
        empty = client.post(
            url,
            data={"file": (io.BytesIO(b""), "empty.wav")},
            headers=bearer(c.member),
            content_type="multipart/form-data",
        )
        assert problem_code(empty, 422, "empty-file")["errors"] == {"file": ["empty"]}
        missing = client.post(
            url, data={"note": "no file"}, headers=bearer(c.member), content_type="multipart/form-data"
        )
        assert "file" in problem_code(missing, 400, "file-missing")["errors"]
        as_json = client.post(url, json={"file": "aGVsbG8="}, headers=bearer(c.member))
        problem_code(as_json, 415, "multipart-required")
        long_note = client.post(
            url,
            data={"file": (io.BytesIO(TEXT), "notes.txt"), "note": "x" * 2001},
            headers=bearer(c.member),
            content_type="multipart/form-data",
        )
        assert "note" in problem_code(long_note, 422, "validation-error")["errors"]
        nothing_kept(app, before)


# --- downloads ------------------------------------------------------------------------------------


def test_ranges_and_conditional_downloads(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    size, etag = len(RANDOM), f'"{_sha(RANDOM)}"'
    file_id = _created(upload(client, c.member, c.project_id, RANDOM, "blob.bin"))["id"]

    def part(spec: str, start: int, end: int, **headers: str) -> None:
        answer = _content(client, c.owner, file_id, Range=spec, **headers)
        assert answer.status_code == 206, (spec, answer.status_code)
        assert answer.get_data() == RANDOM[start : end + 1]
        assert answer.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert answer.headers["Content-Length"] == str(end - start + 1)
        assert answer.headers["ETag"] == etag
        assert answer.headers["X-Content-Type-Options"] == "nosniff"

    part("bytes=0-9", 0, 9)
    part("bytes=4000-4999", 4000, 4999)
    part("bytes=-10", size - 10, size - 1)
    part("bytes=9000-", 9000, size - 1)
    part("bytes=9990-20000", 9990, size - 1)  # an end past the file is clipped
    part("bytes=0-9", 0, 9, **{"If-Range": etag})  # unchanged: the range applies

    for spec in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}"):
        refused = _content(client, c.owner, file_id, Range=spec)
        problem_code(refused, 416, "range-not-satisfiable")
        assert refused.headers["Content-Range"] == f"bytes */{size}"
    part(f"bytes=-{size * 10}", 0, size - 1)  # a suffix longer than the file: all of it
    # Ranges a server may ignore (RFC 9110 14.2) get the whole file, not a 416.
    for ignored in ("items=0-5", "bytes=0-1,5-6", "bytes=abc", "bytes=5-2"):
        whole = _content(client, c.owner, file_id, Range=ignored)
        assert (whole.status_code, whole.get_data()) == (200, RANDOM), ignored
        assert "Content-Range" not in whole.headers, ignored

    cached = _content(client, c.owner, file_id, **{"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.get_data() == b""
    assert cached.headers["ETag"] == etag
    changed = _content(client, c.owner, file_id, **{"If-None-Match": '"0000"'})
    assert (changed.status_code, changed.get_data()) == (200, RANDOM)
    # If-Range with another ETag: the file changed since, so the whole of it.
    whole = _content(client, c.owner, file_id, Range="bytes=0-9", **{"If-Range": '"not-the-sha"'})
    assert whole.status_code == 200
    assert whole.get_data() == RANDOM
    assert "Content-Range" not in whole.headers


# --- rename, delete, purge ---------------------------------------------------------------------


def test_only_the_owner_or_the_creator_renames_or_deletes_and_a_deleted_file_is_gone_everywhere(
    app: Flask,
) -> None:
    client = app.test_client()
    c = crew(client)
    file = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav"))
    fid = file["id"]
    _created(new_version(client, c.member, fid, wav_bytes(0.6)))
    kept = _created(upload(client, c.owner, c.project_id, pdf_bytes(), "chart.pdf"))
    comment = _created(
        client.post(f"/api/files/{fid}/comments", json={"version": 1, "body": "nice"}, headers=bearer(c.owner))
    )

    before = snapshot(app)
    # A member who did not create it (the project's owner did not either: still may).
    renaming = client.patch(f"/api/files/{fid}", json={"name": "x"}, headers=bearer(c.pending))
    problem_code(renaming, 403, "not-file-manager")
    problem_code(client.delete(f"/api/files/{fid}", headers=bearer(c.pending)), 403, "not-file-manager")
    assert snapshot(app) == before
    renamed = client.patch(f"/api/files/{fid}", json={"name": "Owner's name"}, headers=bearer(c.owner))
    assert (renamed.status_code, renamed.get_json()["name"]) == (200, "Owner's name")
    renamed = client.patch(f"/api/files/{fid}", json={"name": "  Final take.wav  "}, headers=bearer(c.member))
    assert (renamed.status_code, renamed.get_json()["name"]) == (200, "Final take.wav")
    for bad in ("", "   ", "two\nlines", "x" * 201):
        answer = client.patch(f"/api/files/{fid}", json={"name": bad}, headers=bearer(c.member))
        assert "name" in problem_code(answer, 422, "validation-error")["errors"], bad
    assert client.get(f"/api/files/{fid}", headers=bearer(c.owner)).get_json()["name"] == "Final take.wav"

    assert len(stored_objects(app)) == 3
    assert client.delete(f"/api/files/{fid}", headers=bearer(c.member)).status_code == 204
    for person in (c.owner, c.member, c.pending):
        auth = bearer(person)
        for answer in (
            client.get(f"/api/files/{fid}", headers=auth),
            client.patch(f"/api/files/{fid}", json={"name": "again"}, headers=auth),
            client.delete(f"/api/files/{fid}", headers=auth),
            client.get(f"/api/files/{fid}/versions/1", headers=auth),
            _content(client, person, fid, 1),
            _content(client, person, fid, 2, Range="bytes=0-3"),
            new_version(client, person, fid, wav_bytes(0.5)),
            client.get(f"/api/files/{fid}/comments", headers=auth),
            client.post(f"/api/files/{fid}/comments", json={"version": 1, "body": "hello?"}, headers=auth),
            client.post(f"/api/comments/{comment['id']}/resolve", headers=auth),
            client.post(
                f"/api/projects/{c.project_id}/uploads", json={"name": "v3", "size": 10, "file_id": fid}, headers=auth
            ),
        ):
            assert answer.status_code == 404, (answer.request.method, answer.request.path, answer.get_json())
        listed = client.get(f"/api/projects/{c.project_id}/files", headers=auth).get_json()["items"]
        assert [f["id"] for f in listed] == [kept["id"]]
    assert staged_files(app) == []

    # The job removes the objects, then the rows; a second run finds nothing to do.
    assert len(stored_objects(app)) == 3  # hidden at once, removed by the job
    assert _run_job(app, "files.purge_deleted") == 1
    assert len(stored_objects(app)) == 1
    assert (rows(app, ProjectFile), rows(app, FileVersion), rows(app, FileComment)) == (1, 1, 0)
    assert _run_job(app, "files.purge_deleted") == 0
    assert len(stored_objects(app)) == 1
    assert _content(client, c.member, kept["id"]).get_data() == pdf_bytes()


# --- listing -------------------------------------------------------------------------------------


def _walk(client: FlaskClient, person: dict[str, Any], project_id: int, limit: int, **query: str) -> list[int]:
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(50):
        params = {"limit": str(limit), **query, **({"cursor": cursor} if cursor else {})}
        answer = client.get(f"/api/projects/{project_id}/files", query_string=params, headers=bearer(person))
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def test_listing_walks_every_file_once_newest_change_first(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    uploads = [
        (c.member, wav_bytes(0.5), "a.wav"),
        (c.owner, pdf_bytes(), "b.pdf"),
        (c.pending, PNG, "c.png"),
        (c.member, TEXT, "d.txt"),
        (c.owner, wav_bytes(0.6), "e.wav"),
    ]
    ids = [_created(upload(client, who, c.project_id, data, name))["id"] for who, data, name in uploads]
    newest_first = list(reversed(ids))
    assert _walk(client, c.owner, c.project_id, 1) == newest_first
    assert _walk(client, c.member, c.project_id, 2) == newest_first
    assert _walk(client, c.pending, c.project_id, 1, kind="audio") == [ids[4], ids[0]]
    assert _walk(client, c.owner, c.project_id, 1, kind="score") == [ids[1]]
    assert _walk(client, c.owner, c.project_id, 1, kind="other") == []
    # A new version is a change: the file moves to the front.
    _created(new_version(client, c.member, ids[0], wav_bytes(0.7)))
    assert _walk(client, c.owner, c.project_id, 1) == [ids[0], *newest_first[:-1]]
    # Files changed at the same moment: the id breaks the tie, and none is skipped or repeated.
    with app.app_context():
        same = datetime(2031, 5, 5, 12, tzinfo=UTC)
        db.session.execute(update(ProjectFile).values(updated_at=same))
        db.session.commit()
        db.session.remove()
    assert _walk(client, c.owner, c.project_id, 1) == ids
    assert _walk(client, c.owner, c.project_id, 2) == ids

    url = f"/api/projects/{c.project_id}/files"
    problem_code(client.get(url, query_string={"kind": "video"}, headers=bearer(c.owner)), 422, "validation-error")
    answer = client.get(url, query_string={"cursor": "not-a-cursor"}, headers=bearer(c.owner))
    assert "cursor" in problem_code(answer, 422, "validation-error")["errors"]
    members = client.get(f"/api/projects/{c.project_id}/members", headers=bearer(c.member)).get_json()["items"]
    assert [(m["id"], m["name"], m["role"], m["status"]) for m in members] == [
        (c.owner["user"]["id"], "Paula Producer", "owner", "accepted"),
        *sorted(
            [
                (c.member["user"]["id"], "Mia Drums", "musician", "accepted"),
                (c.pending["user"]["id"], "Pete Pending", "musician", "pending"),
            ]
        ),
    ]  # never the former member nor the stranger


# --- events, the worker's signed calls, stalled analyses -------------------------------------------


def _ids(*people: dict[str, Any]) -> set[int]:
    return {int(p["user"]["id"]) for p in people}


def test_each_version_stages_one_event_telling_the_others(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    baseline = len(events(app))  # the crew's booking requests
    take = wav_bytes(0.5)
    file = _created(upload(client, c.member, c.project_id, take, "take.wav", note="rough"))
    (added,) = events(app, "file.version_added")
    assert (added.file_id, added.project_id, added.version_number, added.version_id) == (
        file["id"],
        c.project_id,
        1,
        file["versions"][0]["id"],
    )
    assert (added.kind, added.analyse, added.attempt, added.note) == ("audio", True, 1, "rough")
    assert (added.sha256, added.size_bytes, added.content_type) == (_sha(take), len(take), "audio/wav")
    assert (added.actor_id, added.actor_name, added.file_name, added.project_title) == (
        c.member["user"]["id"],
        "Mia Drums",
        "take.wav",
        "Album",
    )
    assert set(added.recipients) == _ids(c.owner, c.pending)
    assert len(added.recipients) == 2

    _created(upload(client, c.owner, c.project_id, pdf_bytes(), "chart.pdf"))
    version = _created(new_version(client, c.pending, file["id"], wav_bytes(0.6)))
    before = snapshot(app)
    problem_code(new_version(client, c.pending, file["id"], PNG), 422, "kind-mismatch")
    nothing_kept(app, before)
    _, chart, second = events(app, "file.version_added")
    assert (chart.kind, chart.analyse, chart.version_number) == ("score", False, 1)
    assert set(chart.recipients) == _ids(c.member, c.pending)
    assert (second.file_id, second.version_number, second.version_id, second.analyse) == (
        file["id"],
        2,
        version["id"],
        True,
    )
    assert set(second.recipients) == _ids(c.owner, c.member)
    assert len(events(app)) == baseline + 3  # nothing else was staged
    assert len({e.event_id for e in events(app)}) == baseline + 3


def _report(client: FlaskClient, app: Flask, version_id: int, report: dict[str, Any], secret: str = "") -> Any:
    raw = json.dumps(report).encode()
    signed = analysis_signed_bytes(file_analysis_path(version_id), raw)
    signature = sign(secret or settings_of(app).secret_key, FILE_ANALYSIS_PURPOSE, signed)
    return client.post(
        file_analysis_path(version_id), data=raw, headers={HEADER: signature, "Content-Type": "application/json"}
    )


RESULT = {
    "bpm": 120.0,
    "key": "A minor",
    "meter": 4,
    "loudness_lufs": -14.5,
    "beats": [0.0, 0.5],
    "downbeats": [0.0],
    "waveform": [0.1, 1.0, 0.4],
    "energy": [0.2, 0.3],
    "energy_hz": 10.0,
    "duration_s": 0.5,
}


def test_the_worker_reports_the_analysis_through_the_signed_callback(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    file = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav"))
    fid, vid = file["id"], file["versions"][0]["id"]

    def analysis() -> dict[str, Any]:
        found: dict[str, Any] = client.get(f"/api/files/{fid}/versions/1", headers=bearer(c.owner)).get_json()
        return dict(found["analysis"])

    assert analysis()["status"] == "pending"
    running = _report(client, app, vid, {"status": "running", "progress": 0.25})
    assert (running.status_code, running.get_json()) == (200, {"proceed": True, "status": "running"})
    assert (analysis()["status"], analysis()["progress"]) == ("running", 0.25)
    done = _report(client, app, vid, {"status": "done", "progress": 1.0, "result": RESULT})
    assert (done.status_code, done.get_json()) == (200, {"proceed": True, "status": "done"})
    assert analysis() == {"status": "done", "progress": 1.0, "result": RESULT, "error": None}
    # A redelivered or late report changes nothing and tells the worker to stop.
    for late in ({"status": "done", "result": {**RESULT, "bpm": 90.0}}, {"status": "running", "progress": 0.5}):
        again = _report(client, app, vid, late)
        assert (again.status_code, again.get_json()) == (200, {"proceed": False, "status": "done"})
    assert analysis()["result"] == RESULT

    # A report signed for one version and sent to another (a replay): 401, nothing changes.
    other = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "other.wav"))
    other_vid = other["versions"][0]["id"]
    raw = json.dumps({"status": "failed", "error": "replayed"}).encode()
    for_first = sign(
        settings_of(app).secret_key, FILE_ANALYSIS_PURPOSE, analysis_signed_bytes(file_analysis_path(vid), raw)
    )
    replayed = client.post(
        file_analysis_path(other_vid), data=raw, headers={HEADER: for_first, "Content-Type": "application/json"}
    )
    problem_code(replayed, 401, "bad-signature")
    assert (
        client.get(f"/api/files/{other['id']}/versions/1", headers=bearer(c.owner)).get_json()["analysis"]["status"]
        == "pending"
    )

    # Forged, unsigned, or signed for another body: 401.
    problem_code(_report(client, app, vid, {"status": "running"}, secret="not-our-secret"), 401, "bad-signature")
    unsigned = client.post(file_analysis_path(vid), json={"status": "running"})
    problem_code(unsigned, 401, "bad-signature")
    other_body = client.post(
        file_analysis_path(vid),
        data=b'{"status": "failed"}',
        headers={
            HEADER: sign(
                settings_of(app).secret_key,
                FILE_ANALYSIS_PURPOSE,
                analysis_signed_bytes(file_analysis_path(vid), b'{"status": "running"}'),
            )
        },
        content_type="application/json",
    )
    problem_code(other_body, 401, "bad-signature")
    content_signature = sign(settings_of(app).secret_key, FILE_CONTENT_PURPOSE, b'{"status": "running"}')
    wrong_purpose = client.post(
        file_analysis_path(vid),
        data=b'{"status": "running"}',
        headers={HEADER: content_signature},
        content_type="application/json",
    )
    problem_code(wrong_purpose, 401, "bad-signature")

    # A failure is kept with its reason; a version that is not audio, or unknown, is 404.
    second = _created(upload(client, c.member, c.project_id, wav_bytes(0.6), "other.wav"))
    failed = _report(client, app, second["versions"][0]["id"], {"status": "failed", "error": "decoder choked"})
    assert failed.get_json() == {"proceed": True, "status": "failed"}
    got = client.get(f"/api/files/{second['id']}/versions/1", headers=bearer(c.member)).get_json()["analysis"]
    assert (got["status"], got["error"]) == ("failed", "decoder choked")
    chart = _created(upload(client, c.owner, c.project_id, pdf_bytes(), "chart.pdf"))
    problem_code(_report(client, app, chart["versions"][0]["id"], {"status": "running"}), 404, "version-not-found")
    problem_code(_report(client, app, 987_654, {"status": "running"}), 404, "version-not-found")
    # A finished report without its result is refused (nothing changes).
    third = _created(upload(client, c.member, c.project_id, wav_bytes(0.7), "third.wav"))
    before = snapshot(app)
    problem_code(_report(client, app, third["versions"][0]["id"], {"status": "done"}), 422, "result-missing")
    assert snapshot(app) == before

    # A deleted file's version: 404, the worker stops.
    assert client.delete(f"/api/files/{third['id']}", headers=bearer(c.member)).status_code == 204
    problem_code(_report(client, app, third["versions"][0]["id"], {"status": "running"}), 404, "version-not-found")


def test_the_worker_reads_the_bytes_through_the_signed_internal_path(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    take = wav_bytes(0.5)
    file = _created(upload(client, c.member, c.project_id, take, "take.wav"))
    other = _created(upload(client, c.member, c.project_id, wav_bytes(0.6), "other.wav"))
    vid = file["versions"][0]["id"]
    secret = settings_of(app).secret_key

    def signed(path: str, purpose: str = FILE_CONTENT_PURPOSE) -> dict[str, str]:
        return {HEADER: sign(secret, purpose, path.encode())}

    path = file_content_path(vid)
    answer = client.get(path, headers=signed(path))
    assert answer.status_code == 200
    assert answer.get_data() == take
    assert answer.headers["Content-Type"] == "audio/wav"
    assert answer.headers["ETag"] == f'"{_sha(take)}"'
    head = client.get(path, headers={**signed(path), "Range": "bytes=0-3"})
    assert (head.status_code, head.get_data()) == (206, b"RIFF")

    problem_code(client.get(path), 401, "bad-signature")
    problem_code(client.get(path, headers=bearer(c.owner)), 401, "bad-signature")  # a user's token is no signature
    other_path = file_content_path(other["versions"][0]["id"])
    problem_code(client.get(path, headers=signed(other_path)), 401, "bad-signature")
    problem_code(client.get(path, headers=signed(path, FILE_ANALYSIS_PURPOSE)), 401, "bad-signature")
    missing = file_content_path(987_654)
    problem_code(client.get(missing, headers=signed(missing)), 404, "version-not-found")

    assert client.delete(f"/api/files/{file['id']}", headers=bearer(c.owner)).status_code == 204
    problem_code(client.get(path, headers=signed(path)), 404, "version-not-found")


def test_a_stalled_analysis_is_asked_for_again_then_given_up(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    stalled = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "stalled.wav"))
    finished = _created(upload(client, c.member, c.project_id, wav_bytes(0.6), "finished.wav"))
    deleted = _created(upload(client, c.member, c.project_id, wav_bytes(0.7), "deleted.wav"))
    _created(upload(client, c.member, c.project_id, pdf_bytes(), "chart.pdf"))
    done = _report(client, app, finished["versions"][0]["id"], {"status": "done", "result": RESULT})
    assert done.get_json()["status"] == "done"
    assert client.delete(f"/api/files/{deleted['id']}", headers=bearer(c.member)).status_code == 204
    vid = stalled["versions"][0]["id"]
    staged = len(events(app, "file.version_added"))

    def version() -> FileVersion:
        with app.app_context():
            found = db.session.get(FileVersion, vid)
            assert found is not None
            db.session.expunge(found)
            db.session.remove()
            return found

    later = datetime.now(UTC)
    assert _run_job(app, "files.retry_stalled_analyses", later) == 0  # not stalled yet
    for attempt in range(2, MAX_ATTEMPTS + 1):
        later += timedelta(minutes=settings_of(app).files.analysis_retry_minutes + 1)
        assert _run_job(app, "files.retry_stalled_analyses", later) == 1
        row = version()
        assert (row.analysis_status, row.analysis_attempts) == ("pending", attempt)
        resent = events(app, "file.version_added")[-1]
        assert (resent.version_id, resent.attempt, resent.analyse) == (vid, attempt, True)
        assert resent.recipients == []  # people were told once, with the first event
    later += timedelta(minutes=settings_of(app).files.analysis_retry_minutes + 1)
    assert _run_job(app, "files.retry_stalled_analyses", later) == 0
    row = version()
    assert row.analysis_status == "failed"
    assert row.analysis_error
    later += timedelta(hours=1)
    assert _run_job(app, "files.retry_stalled_analyses", later) == 0
    resent = events(app, "file.version_added")
    assert len(resent) == staged + MAX_ATTEMPTS - 1
    assert {e.version_id for e in resent[staged:]} == {vid}
    assert len({e.event_id for e in resent}) == len(resent)
    with app.app_context():
        statuses = {
            version_id: status
            for version_id, status in db.session.execute(select(FileVersion.id, FileVersion.analysis_status))
        }
        db.session.remove()
    assert statuses[finished["versions"][0]["id"]] == "done"
    assert statuses[deleted["versions"][0]["id"]] == "pending"  # deleted: never asked for again


def test_strangers_and_former_members_learn_nothing(app: Flask) -> None:
    client = app.test_client()
    c: Crew = crew(client)
    file = _created(upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav"))
    outsider = register(client, roles=["user"], name="Olga Outsider")
    before = snapshot(app)
    for person in (c.former, c.stranger, outsider):
        for answer in (
            client.get(f"/api/projects/{c.project_id}/files", headers=bearer(person)),
            upload(client, person, c.project_id, wav_bytes(0.5), "sneaky.wav"),
            client.get(f"/api/files/{file['id']}", headers=bearer(person)),
            _content(client, person, file["id"]),
            new_version(client, person, file["id"], wav_bytes(0.5)),
        ):
            assert answer.status_code == 404, answer.get_json()
    nothing_kept(app, before)
    anonymous = app.test_client()  # no cookie from the registrations above
    assert anonymous.get(f"/api/files/{file['id']}").status_code == 401
    assert anonymous.get(f"/api/projects/{c.project_id}/files").status_code == 401
