"""Who may do what on every file route: the project's owner and members read, upload and
comment; a former member, a stranger and a guessed id get the same 404 (the answer never
tells whether the thing exists); anonymous callers get 401. Nothing an outsider sends
changes anything."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from control_plane.files.models import Deliverable, FileComment, FileUpload, FileVersion, ProjectFile
from control_plane.kits.extensions import db
from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import Crew, crew, pdf_bytes, upload, wav_bytes


@dataclass
class World:
    crew: Crew
    file_id: int
    pdf_id: int
    comment_id: int
    upload_id: str
    deliverable_id: int


def _world(client: FlaskClient) -> World:
    c = crew(client)
    audio = upload(client, c.owner, c.project_id, wav_bytes(), "take.wav")
    assert audio.status_code == 201, audio.get_json()
    pdf = upload(client, c.owner, c.project_id, pdf_bytes(), "chart.pdf")
    assert pdf.status_code == 201, pdf.get_json()
    file_id, pdf_id = audio.get_json()["id"], pdf.get_json()["id"]
    comment = client.post(
        f"/api/files/{file_id}/comments", json={"version": 1, "body": "Nice", "at_ms": 100}, headers=bearer(c.owner)
    )
    assert comment.status_code == 201, comment.get_json()
    started = client.post(
        f"/api/projects/{c.project_id}/uploads", json={"name": "stem.wav", "size": 1000}, headers=bearer(c.owner)
    )
    assert started.status_code == 201, started.get_json()
    deliverable = client.post(
        f"/api/requests/{c.member_request}/deliverables", json={"title": "Drum stems"}, headers=bearer(c.owner)
    )
    assert deliverable.status_code == 201, deliverable.get_json()
    return World(c, file_id, pdf_id, comment.get_json()["id"], started.get_json()["id"], deliverable.get_json()["id"])


def _multipart(data: bytes, name: str) -> dict[str, Any]:
    return {"data": {"file": (io.BytesIO(data), name)}, "content_type": "multipart/form-data"}


Call = Callable[[FlaskClient, World, dict[str, str]], Any]

# Every route of the area (docs/FILES.md), as a call any caller can make.
ROUTES: dict[str, Call] = {
    "list files": lambda c, w, h: c.get(f"/api/projects/{w.crew.project_id}/files", headers=h),
    "upload file": lambda c, w, h: c.post(
        f"/api/projects/{w.crew.project_id}/files", headers=h, **_multipart(wav_bytes(0.1), "x.wav")
    ),
    "members": lambda c, w, h: c.get(f"/api/projects/{w.crew.project_id}/members", headers=h),
    "get file": lambda c, w, h: c.get(f"/api/files/{w.file_id}", headers=h),
    "rename file": lambda c, w, h: c.patch(f"/api/files/{w.file_id}", json={"name": "Renamed"}, headers=h),
    "delete file": lambda c, w, h: c.delete(f"/api/files/{w.pdf_id}", headers=h),
    "new version": lambda c, w, h: c.post(
        f"/api/files/{w.file_id}/versions", headers=h, **_multipart(wav_bytes(0.1), "v.wav")
    ),
    "get version": lambda c, w, h: c.get(f"/api/files/{w.file_id}/versions/1", headers=h),
    "content": lambda c, w, h: c.get(f"/api/files/{w.file_id}/versions/1/content", headers=h),
    "content range": lambda c, w, h: c.get(
        f"/api/files/{w.file_id}/versions/1/content", headers={**h, "Range": "bytes=0-3"}
    ),
    "list comments": lambda c, w, h: c.get(f"/api/files/{w.file_id}/comments", headers=h),
    "comment": lambda c, w, h: c.post(f"/api/files/{w.file_id}/comments", json={"version": 1, "body": "hm"}, headers=h),
    "resolve": lambda c, w, h: c.post(f"/api/comments/{w.comment_id}/resolve", headers=h),
    "reopen": lambda c, w, h: c.post(f"/api/comments/{w.comment_id}/reopen", headers=h),
    "start upload": lambda c, w, h: c.post(
        f"/api/projects/{w.crew.project_id}/uploads", json={"name": "a.wav", "size": 10}, headers=h
    ),
    "get upload": lambda c, w, h: c.get(f"/api/uploads/{w.upload_id}", headers=h),
    "head upload": lambda c, w, h: c.head(f"/api/uploads/{w.upload_id}", headers=h),
    "patch upload": lambda c, w, h: c.patch(
        f"/api/uploads/{w.upload_id}", data=b"RIFF", headers={**h, "Upload-Offset": "0"}
    ),
    "delete upload": lambda c, w, h: c.delete(f"/api/uploads/{w.upload_id}", headers=h),
    "project deliverables": lambda c, w, h: c.get(f"/api/projects/{w.crew.project_id}/deliverables", headers=h),
    "request deliverables": lambda c, w, h: c.get(f"/api/requests/{w.crew.member_request}/deliverables", headers=h),
    "add deliverable": lambda c, w, h: c.post(
        f"/api/requests/{w.crew.member_request}/deliverables", json={"title": "More"}, headers=h
    ),
    "submit": lambda c, w, h: c.post(
        f"/api/deliverables/{w.deliverable_id}/submit", json={"file_id": w.file_id, "version": 1}, headers=h
    ),
    "approve": lambda c, w, h: c.post(f"/api/deliverables/{w.deliverable_id}/approve", json={}, headers=h),
    "request changes": lambda c, w, h: c.post(
        f"/api/deliverables/{w.deliverable_id}/request-changes", json={"note": "louder"}, headers=h
    ),
}
PAGES = ("/projects/{project}/files", "/files/{file}")


def _state(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        counts = tuple(
            int(db.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (ProjectFile, FileVersion, FileComment, FileUpload, Deliverable)
        )
        names = tuple(db.session.scalars(select(ProjectFile.name).order_by(ProjectFile.id)))
        resolved = tuple(db.session.scalars(select(FileComment.resolved_at).order_by(FileComment.id)))
        deleted = tuple(db.session.scalars(select(ProjectFile.deleted_at).order_by(ProjectFile.id)))
        statuses = tuple(db.session.scalars(select(Deliverable.status).order_by(Deliverable.id)))
        return (*counts, hash((names, resolved, deleted, statuses)))


@pytest.mark.parametrize("who", ["former", "stranger", "anonymous"])
def test_outsiders_get_nothing_and_change_nothing(app: Flask, who: str) -> None:
    world = _world(app.test_client())
    before = _state(app)
    client = app.test_client()  # no cookies from the set-up: only what this caller sends counts
    person = {"former": world.crew.former, "stranger": world.crew.stranger}.get(who)
    headers = bearer(person) if person else {}
    for name, call in ROUTES.items():
        answer = call(client, world, headers)
        expected = 401 if person is None else 404
        assert answer.status_code == expected, (who, name, answer.status_code, answer.get_data(as_text=True)[:300])
        if name != "head upload":
            assert answer.mimetype == "application/problem+json", (who, name)
            assert b"Mia" not in answer.get_data() and b"take.wav" not in answer.get_data(), (who, name)
    for path in PAGES:
        url = path.format(project=world.crew.project_id, file=world.file_id)
        if person is None:
            assert client.get(url).status_code in (302, 401), (who, url)
        else:
            page = client.get(url, headers=bearer(person))
            assert page.status_code == 404, (who, url, page.status_code)
    assert _state(app) == before, who


def test_a_guessed_id_and_a_hidden_one_get_the_same_answer(app: Flask) -> None:
    world = _world(app.test_client())
    client = app.test_client()
    stranger = bearer(world.crew.stranger)
    pairs = [
        (f"/api/files/{world.file_id}", "/api/files/987654"),
        (f"/api/files/{world.file_id}/versions/1/content", "/api/files/987654/versions/1/content"),
        (f"/api/projects/{world.crew.project_id}/files", "/api/projects/987654/files"),
        (f"/api/uploads/{world.upload_id}", "/api/uploads/" + "0" * 32),
    ]
    for hidden, missing in pairs:
        a, b = client.get(hidden, headers=stranger), client.get(missing, headers=stranger)
        assert (a.status_code, a.get_json()) == (b.status_code, b.get_json()), (hidden, missing)
    # Even the owner gets that answer for an id that does not exist, and for a version past the last.
    owner = bearer(world.crew.owner)
    assert client.get("/api/files/987654", headers=owner).status_code == 404
    assert client.get(f"/api/files/{world.file_id}/versions/9/content", headers=owner).status_code == 404


@pytest.mark.parametrize("who", ["owner", "member", "pending"])
def test_insiders_read_upload_and_comment(app: Flask, who: str) -> None:
    world = _world(app.test_client())
    client = app.test_client()
    headers = bearer(getattr(world.crew, who))
    for name in (
        "list files",
        "members",
        "get file",
        "get version",
        "content",
        "content range",
        "list comments",
        "project deliverables",
    ):
        answer = ROUTES[name](client, world, headers)
        assert answer.status_code in (200, 206), (who, name, answer.get_data(as_text=True)[:300])
    for name in ("upload file", "new version", "comment", "start upload"):
        answer = ROUTES[name](client, world, headers)
        assert answer.status_code == 201, (who, name, answer.get_json())
    for name in ("resolve", "reopen"):
        assert ROUTES[name](client, world, headers).status_code == 200, (who, name)
    for path in PAGES:
        url = path.format(project=world.crew.project_id, file=world.file_id)
        assert client.get(url, headers=headers).status_code == 200, (who, url)
    # Someone else's resumable upload is theirs alone, even inside the project.
    if who != "owner":
        assert ROUTES["get upload"](client, world, headers).status_code == 404


def test_managing_files_and_deliverables_is_for_their_side(app: Flask) -> None:
    world = _world(app.test_client())
    client = app.test_client()
    member, owner, pending = bearer(world.crew.member), bearer(world.crew.owner), bearer(world.crew.pending)
    # A member may not rename or delete the owner's file (403: they can see it exists).
    assert ROUTES["rename file"](client, world, member).status_code == 403
    assert ROUTES["delete file"](client, world, member).status_code == 403
    assert ROUTES["rename file"](client, world, owner).status_code == 200
    # Deliverables belong to one engagement: the other musicians never see them.
    assert ROUTES["request deliverables"](client, world, pending).status_code == 404
    assert ROUTES["submit"](client, world, pending).status_code == 404
    listed = ROUTES["project deliverables"](client, world, pending)
    assert listed.status_code == 200 and listed.get_json()["items"] == []
    # Each side takes only its own steps.
    assert ROUTES["add deliverable"](client, world, member).status_code == 403
    assert ROUTES["submit"](client, world, owner).status_code == 403
    assert ROUTES["submit"](client, world, member).status_code == 200
    assert ROUTES["approve"](client, world, member).status_code == 403
    assert ROUTES["approve"](client, world, owner).status_code == 200
    assert ROUTES["delete file"](client, world, owner).status_code == 204
    assert ROUTES["get file"](client, world, owner).status_code == 200  # the audio file stays
    assert client.get(f"/api/files/{world.pdf_id}", headers=owner).status_code == 404
