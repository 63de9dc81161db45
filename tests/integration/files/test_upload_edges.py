"""The edges an outside review found: a finish that storage fails keeps the bytes for a
retry; while a finish runs, the offset reads as complete; a new version of another kind is
refused at its first chunk; multipart form fields follow the text rules; one file part per
request; one person's unfinished uploads are bounded; a delivered file cannot be deleted,
and a cancelled engagement's deliverable cannot be approved."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from control_plane.kits.storage.factory import STORAGE_KEY
from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import (
    PNG,
    crew,
    files_app,
    nothing_kept,
    problem_code,
    snapshot,
    staged_files,
    upload,
    wav_bytes,
)


def _start(client: FlaskClient, person: dict[str, Any], project_id: int, size: int, **extra: Any) -> str:
    answer = client.post(
        f"/api/projects/{project_id}/uploads", json={"name": "take.wav", "size": size, **extra}, headers=bearer(person)
    )
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def _patch(client: FlaskClient, person: dict[str, Any], upload_id: str, offset: int, data: bytes) -> Any:
    return client.patch(
        f"/api/uploads/{upload_id}",
        data=data,
        headers={**bearer(person), "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
    )


class _FailingOnce:
    """Wraps the app's storage: the first put fails as a full disk would."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.failed, self.name = inner, False, inner.name

    def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        if not self.failed:
            self.failed = True
            raise OSError(28, "No space left on device")
        self.inner.put_file(key, source, content_type=content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_finish_that_storage_fails_keeps_the_bytes_and_a_retry_records_them(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    data = wav_bytes(1.0)
    upload_id = _start(client, c.member, c.project_id, len(data))
    assert _patch(client, c.member, upload_id, 0, data[:5000]).status_code == 200
    app.extensions[STORAGE_KEY] = _FailingOnce(app.extensions[STORAGE_KEY])
    failed = _patch(client, c.member, upload_id, 5000, data[5000:])
    assert failed.status_code == 500
    # The bytes are kept, the offset says complete, and a PATCH at the end records them.
    state = client.get(f"/api/uploads/{upload_id}", headers=bearer(c.member)).get_json()
    assert (state["status"], state["offset"]) == ("open", len(data))
    retried = _patch(client, c.member, upload_id, len(data), b"")
    assert retried.status_code == 201, retried.get_json()
    assert retried.get_json()["file"]["versions"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert staged_files(app) == []


def test_while_a_finish_runs_the_upload_reads_complete_and_a_second_finisher_waits(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    data = wav_bytes(1.0)
    upload_id = _start(client, c.member, c.project_id, len(data))
    inner = app.extensions[STORAGE_KEY]
    entered, release = threading.Event(), threading.Event()

    class _Slow:
        name = inner.name

        def put_file(self, key: str, source: Path, *, content_type: str) -> None:
            entered.set()
            release.wait(30)
            inner.put_file(key, source, content_type=content_type)

        def __getattr__(self, attr: str) -> Any:
            return getattr(inner, attr)

    app.extensions[STORAGE_KEY] = _Slow()
    answers: list[Any] = []
    finisher = threading.Thread(target=lambda: answers.append(_patch(app.test_client(), c.member, upload_id, 0, data)))
    finisher.start()
    assert entered.wait(30)
    try:
        head = client.head(f"/api/uploads/{upload_id}", headers=bearer(c.member))
        assert head.headers["Upload-Offset"] == str(len(data))
        problem_code(_patch(client, c.member, upload_id, len(data), b""), 409, "upload-finishing")
        problem_code(_patch(client, c.member, upload_id, 0, data[:10]), 409, "upload-offset-mismatch")
    finally:
        release.set()
        finisher.join(30)
    assert answers[0].status_code == 201
    assert client.get(f"/api/uploads/{upload_id}", headers=bearer(c.member)).get_json()["status"] == "done"


def test_a_new_version_of_another_kind_is_refused_at_its_first_chunk(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    file_id = upload(client, c.member, c.project_id, wav_bytes(), "take.wav").get_json()["id"]
    before = snapshot(app)
    body = PNG + b"\0" * 20_000
    upload_id = _start(client, c.member, c.project_id, len(body), file_id=file_id)
    refused = problem_code(_patch(client, c.member, upload_id, 0, body[:9000]), 422, "kind-mismatch")
    assert "file" in refused["errors"]
    assert client.get(f"/api/uploads/{upload_id}", headers=bearer(c.member)).status_code == 404
    nothing_kept(app, before)


def test_multipart_fields_follow_the_text_rules_and_one_file_part_only(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    before = snapshot(app)
    for form, field in (({"note": "a\x00b"}, "note"), ({"name": "line\nbreak"}, "name"), ({"name": "x" * 201}, "name")):
        answer = upload(client, c.member, c.project_id, PNG, "a.png", **form)
        assert field in problem_code(answer, 422, "validation-error")["errors"], form
    two = client.post(
        f"/api/projects/{c.project_id}/files",
        data={"file": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(wav_bytes()), "b.wav")]},
        headers=bearer(c.member),
        content_type="multipart/form-data",
    )
    problem_code(two, 400, "one-file-only")
    nothing_kept(app, before)


def test_one_persons_unfinished_uploads_are_bounded(tmp_path: Path, database_url: str) -> None:
    with files_app(tmp_path, database_url, max_open_upload_bytes=10_000) as app:
        client = app.test_client()
        c = crew(client)
        _start(client, c.member, c.project_id, 6_000)
        refused = client.post(
            f"/api/projects/{c.project_id}/uploads", json={"name": "b", "size": 6_000}, headers=bearer(c.member)
        )
        assert problem_code(refused, 409, "too-many-open-uploads")["open_bytes"] == 6_000
        _start(client, c.owner, c.project_id, 6_000)  # someone else's count is their own


def test_a_delivered_file_stays_and_a_cancelled_engagement_is_not_approved(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    file_id = upload(client, c.member, c.project_id, wav_bytes(), "take.wav").get_json()["id"]
    deliverable = client.post(
        f"/api/requests/{c.member_request}/deliverables", json={"title": "Drum stems"}, headers=bearer(c.owner)
    ).get_json()
    submitted = client.post(
        f"/api/deliverables/{deliverable['id']}/submit",
        json={"file_id": file_id, "version": 1},
        headers=bearer(c.member),
    )
    assert submitted.status_code == 200
    refused = problem_code(client.delete(f"/api/files/{file_id}", headers=bearer(c.member)), 409, "file-delivered")
    assert refused["deliverables"] == ["Drum stems"]
    assert client.post(f"/api/requests/{c.member_request}/cancel", json={}, headers=bearer(c.owner)).status_code == 200
    approve = client.post(f"/api/deliverables/{deliverable['id']}/approve", json={}, headers=bearer(c.owner))
    problem_code(approve, 409, "request-not-accepted")
