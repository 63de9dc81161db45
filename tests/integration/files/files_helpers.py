"""People around one project for the files tests: its owner, a member (accepted request), a
pending member, a former member (declined), a stranger; and bytes of each kind, made here."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contracts import decode
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from downbeat.settings import Settings, StorageSettings
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer, problem, register

ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]


def _at(day: int, hour: int) -> str:
    return datetime(2031, 5, 5 + day, hour, tzinfo=UTC).isoformat()


@dataclass
class Crew:
    owner: dict[str, Any]
    member: dict[str, Any]
    pending: dict[str, Any]
    former: dict[str, Any]
    stranger: dict[str, Any]
    project_id: int
    member_request: int
    former_request: int
    pending_request: int = 0


def _musician(client: FlaskClient, name: str) -> dict[str, Any]:
    person = register(client, roles=["musician"], name=name)
    answer = client.put("/api/musicians/me/availability", json={"weekly": ALL_WEEK}, headers=bearer(person))
    assert answer.status_code == 200, answer.get_json()
    return person


def _request(client: FlaskClient, owner: dict[str, Any], project_id: int, musician: dict[str, Any], day: int) -> int:
    body = {
        "musician_id": musician["user"]["id"],
        "instrument": "Drums",
        "starts_at": _at(day, 10),
        "ends_at": _at(day, 12),
        "offer": {"amount": 25000, "currency": "EUR"},
    }
    answer = client.post(f"/api/projects/{project_id}/requests", json=body, headers=bearer(owner))
    assert answer.status_code == 201, answer.get_json()
    return int(answer.get_json()["id"])


def crew(client: FlaskClient) -> Crew:
    owner = register(client, roles=["producer"], name="Paula Producer")
    member = _musician(client, "Mia Drums")
    pending = _musician(client, "Pete Pending")
    former = _musician(client, "Fred Former")
    stranger = register(client, roles=["producer", "musician"], name="Sam Stranger")
    answer = client.post(
        "/api/projects",
        json={"title": "Album", "starts_at": _at(0, 9), "ends_at": _at(6, 23), "location": "Hansa"},
        headers=bearer(owner),
    )
    assert answer.status_code == 201, answer.get_json()
    project_id = int(answer.get_json()["id"])
    member_request = _request(client, owner, project_id, member, 0)
    assert client.post(f"/api/requests/{member_request}/accept", headers=bearer(member)).status_code == 200
    pending_request = _request(client, owner, project_id, pending, 1)
    former_request = _request(client, owner, project_id, former, 2)
    assert client.post(f"/api/requests/{former_request}/accept", headers=bearer(former)).status_code == 200
    answer = client.post(f"/api/requests/{former_request}/cancel", json={}, headers=bearer(former))
    assert answer.status_code == 200, answer.get_json()
    return Crew(owner, member, pending, former, stranger, project_id, member_request, former_request, pending_request)


def wav_bytes(seconds: float = 1.0, rate: int = 8000, freq: float = 440.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return out.getvalue()


def pdf_bytes(pages: int = 2) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
MUSICXML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 '
    b'Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">\n<score-partwise version="4.0"><part-list/>'
    b"</score-partwise>\n"
)


def upload(
    client: FlaskClient, person: dict[str, Any], project_id: int, data: bytes, filename: str, **form: str
) -> Any:
    return client.post(
        f"/api/projects/{project_id}/files",
        data={"file": (io.BytesIO(data), filename), **form},
        headers=bearer(person),
        content_type="multipart/form-data",
    )


def new_version(client: FlaskClient, person: dict[str, Any], file_id: int, data: bytes, note: str = "") -> Any:
    return client.post(
        f"/api/files/{file_id}/versions",
        data={"file": (io.BytesIO(data), "take.wav"), "note": note},
        headers=bearer(person),
        content_type="multipart/form-data",
    )


# --- what the tests look at besides the API: rows, objects, staged bytes, staged events ---


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.extensions["downbeat.settings"]
    return settings


def stored_objects(app: Flask) -> list[Path]:
    """Every object the folder adapter holds (empty folders left behind do not count)."""
    root = settings_of(app).storage_path
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def staged_files(app: Flask) -> list[Path]:
    """Whatever is left in the staging folder (bytes on their way in)."""
    folder = settings_of(app).data_path / "files-staging"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def rows(app: Flask, model: Any) -> int:
    with app.app_context():
        count = int(db.session.scalar(select(func.count()).select_from(model)) or 0)
        db.session.remove()
        return count


def events(app: Flask, event_type: str | None = None) -> list[Any]:
    """The events staged in the outbox, oldest first (decoded), of one type or all."""
    with app.app_context():
        found = [decode(row.payload) for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        db.session.remove()
    return [event for event in found if event_type is None or event.type == event_type]


def nothing_kept(app: Flask, before: dict[str, int]) -> None:
    """A refusal stored nothing: no new row of any files table, no object, nothing staged."""
    assert snapshot(app) == before
    assert staged_files(app) == []


def snapshot(app: Flask) -> dict[str, int]:
    from control_plane.files.models import Deliverable, FileComment, FileUpload, FileVersion, ProjectFile

    counts = {m.__tablename__: rows(app, m) for m in (ProjectFile, FileVersion, FileComment, FileUpload, Deliverable)}
    counts["objects"] = len(stored_objects(app))
    counts["outbox"] = rows(app, OutboxMessage)
    return counts


def problem_code(answer: Any, status: int, code: str) -> dict[str, Any]:
    """The problem+json body of an answer that must have this status and code."""
    body = problem(answer, status)
    assert body["code"] == code, body
    return body


@contextmanager
def files_app(
    tmp_path: Path, database_url: str, storage: StorageSettings | None = None, **files: Any
) -> Iterator[Flask]:
    """An app like the ``app`` fixture's with other ``[files]`` settings (tiny limits), or
    another storage."""
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    settings = make_settings(tmp_path, database_url)
    settings = replace(settings, files=replace(settings.files, **files), storage=storage or settings.storage)
    flask_app = create_app(settings, TESTING=True)
    try:
        yield flask_app
    finally:
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()
