"""Resumable uploads (docs/FILES.md "Resumable uploads"): through the test client on SQLite
and PostgreSQL (create, chunks at ``Upload-Offset``, HEAD and GET, finishing as a file or a
version, only the creator sees one, DELETE and the expiry job), then against a real control
plane process: a client killed half-way through a chunk and a server SIGKILLed mid-chunk
both resume from the offset the server tells, and the stored bytes are the original's."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from control_plane.files.jobs import JOBS
from control_plane.files.models import FileUpload
from control_plane.kits.extensions import db
from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import (
    PNG,
    crew,
    events,
    files_app,
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
from tests.support.stack import Stack, http_json

OCTETS = "application/offset+octet-stream"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _create(client: FlaskClient, person: dict[str, Any], project_id: int, **body: Any) -> Any:
    return client.post(f"/api/projects/{project_id}/uploads", json=body, headers=bearer(person))


def _patch(client: FlaskClient, person: dict[str, Any], upload_id: str, offset: int | None, data: bytes) -> Any:
    headers = {**bearer(person), "Content-Type": OCTETS}
    if offset is not None:
        headers["Upload-Offset"] = str(offset)
    return client.patch(f"/api/uploads/{upload_id}", data=data, headers=headers)


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def _expire(app: Flask, now: datetime) -> int:
    with app.app_context():
        count = JOBS["files.expire_uploads"](db.session(), now, settings_of(app))
        db.session.remove()
        return count


def _set_expiry(app: Flask, upload_id: str, moment: datetime) -> None:
    with app.app_context():
        db.session.execute(update(FileUpload).where(FileUpload.id == upload_id).values(expires_at=moment))
        db.session.commit()
        db.session.remove()


def test_an_upload_in_chunks_finishes_as_a_file_with_the_original_bytes(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    data = wav_bytes(1.0)  # 16,044 bytes
    size = len(data)
    before = snapshot(app)
    for body, field in (
        ({"name": "take.wav", "size": 0}, "size"),
        ({"name": "take.wav", "size": "10"}, "size"),
        ({"size": 10}, "name"),
        ({"name": "two\nlines", "size": 10}, "name"),
        ({"name": "take.wav", "size": 10, "colour": "red"}, "colour"),
    ):
        answer = _create(client, c.member, c.project_id, **body)
        assert field in problem_code(answer, 422, "validation-error")["errors"], body
    largest = max(settings_of(app).files.max_other_bytes, settings_of(app).files.max_audio_bytes)
    huge = problem_code(
        _create(client, c.member, c.project_id, name="huge.wav", size=largest + 1), 413, "file-too-large"
    )
    assert "size" in huge["errors"]
    nothing_kept(app, before)

    created = _create(client, c.member, c.project_id, name="take.wav", size=size, note="resumed")
    made = _ok(created, 201)
    uid = made["id"]
    assert created.headers["Location"] == f"/api/uploads/{uid}"
    assert len(uid) == 32
    assert (made["offset"], made["size"], made["status"], made["file_id"]) == (0, size, "open", None)
    assert made["chunk_bytes"] == settings_of(app).files.chunk_bytes
    assert made["expires_at"] and made["url"] == f"/api/uploads/{uid}"

    assert _ok(_patch(client, c.member, uid, 0, data[:3000]))["offset"] == 3000
    head = client.head(f"/api/uploads/{uid}", headers=bearer(c.member))
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("3000", str(size))
    got = _ok(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)))
    assert (got["offset"], got["status"]) == (3000, "open")

    for wrong in (0, 2999, 3001, size):
        refused = problem_code(
            _patch(client, c.member, uid, wrong, data[wrong : wrong + 10]), 409, "upload-offset-mismatch"
        )
        assert refused["offset"] == 3000
    missing = problem_code(_patch(client, c.member, uid, None, data[3000:3010]), 428, "upload-offset-required")
    assert "Upload-Offset" in missing["errors"]
    for bad in ("abc", "-1", "1e3", " 3000", "9" * 20, "\u00b2"):
        answer = client.patch(
            f"/api/uploads/{uid}", data=data[3000:3010], headers={**bearer(c.member), "Upload-Offset": bad}
        )
        assert "Upload-Offset" in problem_code(answer, 400, "upload-offset-invalid")["errors"], bad
    past = problem_code(_patch(client, c.member, uid, 3000, data[3000:] + b"x"), 413, "chunk-too-large")
    assert past["limit_bytes"] == size - 3000
    assert _ok(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)))["offset"] == 3000  # nothing appended

    assert _ok(_patch(client, c.member, uid, 3000, data[3000:9000]))["offset"] == 9000  # past the sniffed head
    assert rows(app, FileUpload) == 1
    finished = _ok(_patch(client, c.member, uid, 9000, data[9000:]), 201)
    assert (finished["status"], finished["offset"], finished["version"]) == ("done", size, 1)
    file = finished["file"]
    assert (file["name"], file["kind"], file["current_version"]) == ("take.wav", "audio", 1)
    (version,) = file["versions"]
    assert (version["sha256"], version["size"], version["note"]) == (_sha(data), size, "resumed")
    served = client.get(f"/api/files/{file['id']}/versions/1/content", headers=bearer(c.owner))
    assert _sha(served.get_data()) == _sha(data)
    assert staged_files(app) == []
    assert len(stored_objects(app)) == 1
    (event,) = events(app, "file.version_added")
    assert (event.file_id, event.analyse, event.actor_id) == (file["id"], True, c.member["user"]["id"])

    # A finished upload answers with its file; a late retry of the last chunk changes nothing.
    again = _ok(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)))
    assert (again["status"], again["offset"], again["file"]["id"]) == ("done", size, file["id"])
    assert problem_code(_patch(client, c.member, uid, 9000, data[9000:]), 409, "upload-finished")["offset"] == size
    assert len(events(app, "file.version_added")) == 1
    assert client.delete(f"/api/uploads/{uid}", headers=bearer(c.member)).status_code == 204
    problem_code(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)), 404, "upload-not-found")
    assert client.get(f"/api/files/{file['id']}", headers=bearer(c.member)).status_code == 200  # the file stays


def test_an_upload_with_file_id_adds_a_version_of_the_same_kind(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    file = _ok(upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav"), 201)
    second = wav_bytes(0.8)
    uid = _ok(_create(client, c.owner, c.project_id, name="ignored", size=len(second), file_id=file["id"]), 201)["id"]
    finished = _ok(_patch(client, c.owner, uid, 0, second), 201)
    assert (finished["version"], finished["file"]["id"], finished["file"]["current_version"]) == (2, file["id"], 2)
    assert finished["file"]["name"] == "take.wav"
    assert finished["file"]["versions"][1]["sha256"] == _sha(second)

    # Another kind than the file's: refused when the last byte arrives, and nothing is left.
    chart = pdf_bytes()
    uid = _ok(_create(client, c.owner, c.project_id, name="chart.pdf", size=len(chart), file_id=file["id"]), 201)["id"]
    before = snapshot(app)
    problem_code(_patch(client, c.owner, uid, 0, chart), 422, "kind-mismatch")
    nothing_kept(app, {**before, "file_uploads": before["file_uploads"] - 1})
    problem_code(client.get(f"/api/uploads/{uid}", headers=bearer(c.owner)), 404, "upload-not-found")

    # A file of another project, or one nobody may see.
    other = _ok(
        client.post(
            "/api/projects",
            json={
                "title": "Other",
                "starts_at": "2031-05-05T09:00:00+00:00",
                "ends_at": "2031-05-06T09:00:00+00:00",
                "location": "Hansa",
            },
            headers=bearer(c.owner),
        ),
        201,
    )
    before = snapshot(app)
    answer = _create(client, c.owner, other["id"], name="x.wav", size=10, file_id=file["id"])
    assert "file_id" in problem_code(answer, 422, "validation-error")["errors"]
    problem_code(_create(client, c.owner, c.project_id, name="x.wav", size=10, file_id=987_654), 404, "file-not-found")
    nothing_kept(app, before)


def test_an_upload_is_its_creators_alone(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    data = pdf_bytes()
    uid = _ok(_create(client, c.member, c.project_id, name="chart.pdf", size=len(data)), 201)["id"]
    _ok(_patch(client, c.member, uid, 0, data[:100]))
    for person in (c.owner, c.pending, c.former, c.stranger):
        auth = bearer(person)
        problem_code(client.get(f"/api/uploads/{uid}", headers=auth), 404, "upload-not-found")
        assert client.head(f"/api/uploads/{uid}", headers=auth).status_code == 404
        problem_code(_patch(client, person, uid, 100, data[100:]), 404, "upload-not-found")
        problem_code(client.delete(f"/api/uploads/{uid}", headers=auth), 404, "upload-not-found")
    for other in ("0" * 32, uid.upper(), uid[:-1], "../" + uid, "x" * 300):
        assert client.get(f"/api/uploads/{other}", headers=bearer(c.member)).status_code == 404, other
    for person in (c.former, c.stranger):
        problem_code(_create(client, person, c.project_id, name="x.pdf", size=10), 404, "project-not-found")
    assert _ok(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)))["offset"] == 100
    assert _ok(_patch(client, c.member, uid, 100, data[100:]), 201)["file"]["kind"] == "score"


def test_delete_and_the_expiry_job_remove_the_staged_bytes(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    data = wav_bytes(0.5)
    before = snapshot(app)
    uid = _ok(_create(client, c.member, c.project_id, name="a.wav", size=len(data)), 201)["id"]
    _ok(_patch(client, c.member, uid, 0, data[:5000]))
    assert len(staged_files(app)) == 1
    assert client.delete(f"/api/uploads/{uid}", headers=bearer(c.member)).status_code == 204
    nothing_kept(app, before)
    problem_code(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)), 404, "upload-not-found")
    problem_code(client.delete(f"/api/uploads/{uid}", headers=bearer(c.member)), 404, "upload-not-found")

    hours = settings_of(app).files.upload_expire_hours
    stale = _ok(_create(client, c.member, c.project_id, name="stale.wav", size=len(data)), 201)["id"]
    _ok(_patch(client, c.member, stale, 0, data[:4000]))
    fresh = _ok(_create(client, c.member, c.project_id, name="fresh.wav", size=len(data)), 201)["id"]
    moving = _ok(_create(client, c.member, c.project_id, name="moving.wav", size=len(data)), 201)["id"]
    now = datetime.now(UTC)
    for old in (stale, moving):
        _set_expiry(app, old, now - timedelta(minutes=1))  # created (and last touched) long ago
    # A chunk now: the upload is moving again, so it is kept another ``upload_expire_hours``.
    _ok(_patch(client, c.member, moving, 0, data[:4000]))
    assert _expire(app, now) == 1
    assert _expire(app, now) == 0  # a second run is harmless
    problem_code(client.get(f"/api/uploads/{stale}", headers=bearer(c.member)), 404, "upload-not-found")
    assert _ok(client.get(f"/api/uploads/{fresh}", headers=bearer(c.member)))["offset"] == 0
    assert _ok(client.get(f"/api/uploads/{moving}", headers=bearer(c.member)))["offset"] == 4000
    assert sorted(p.name for p in staged_files(app)) == sorted(f"upload-{u}.part" for u in (fresh, moving))
    assert _expire(app, now + timedelta(hours=hours, minutes=5)) == 2
    nothing_kept(app, before)


def test_deleting_a_file_removes_its_unfinished_uploads(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    before = snapshot(app)
    file = _ok(upload(client, c.member, c.project_id, wav_bytes(0.5), "take.wav"), 201)
    data = wav_bytes(0.8)
    uid = _ok(_create(client, c.pending, c.project_id, name="v2", size=len(data), file_id=file["id"]), 201)["id"]
    _ok(_patch(client, c.pending, uid, 0, data[:9000]))
    assert client.delete(f"/api/files/{file['id']}", headers=bearer(c.owner)).status_code == 204
    problem_code(client.get(f"/api/uploads/{uid}", headers=bearer(c.pending)), 404, "upload-not-found")
    problem_code(_patch(client, c.pending, uid, 9000, data[9000:]), 404, "upload-not-found")
    assert staged_files(app) == []
    with app.app_context():
        assert JOBS["files.purge_deleted"](db.session(), datetime.now(UTC), settings_of(app)) == 1
        db.session.remove()
    assert {k: v for k, v in snapshot(app).items() if k != "outbox"} == {
        k: v for k, v in before.items() if k != "outbox"
    }


def test_the_expiry_job_also_removes_bytes_a_crash_left_half_finished(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    data = pdf_bytes()
    uid = _ok(_create(client, c.member, c.project_id, name="chart.pdf", size=len(data)), 201)["id"]
    _ok(_patch(client, c.member, uid, 0, data[:100]))
    # What a crash between moving the finished bytes aside and recording the file leaves.
    (staged,) = staged_files(app)
    staged.rename(staged.with_name(f"done-{uid}.part"))
    _set_expiry(app, uid, datetime.now(UTC) - timedelta(minutes=1))
    assert _expire(app, datetime.now(UTC)) == 1
    assert staged_files(app) == []
    assert rows(app, FileUpload) == 0


def test_bytes_over_the_limit_of_their_kind_end_the_upload(tmp_path: Path, database_url: str) -> None:
    with files_app(tmp_path, database_url, max_audio_bytes=10_000, max_image_bytes=64, max_chunk_bytes=6000) as app:
        client = app.test_client()
        c = crew(client)
        data = wav_bytes(1.0)  # 16,044 bytes: under the largest limit, over the audio one
        before = snapshot(app)
        uid = _ok(_create(client, c.member, c.project_id, name="long.wav", size=len(data)), 201)["id"]
        too_big = problem_code(_patch(client, c.member, uid, 0, data[:6001]), 413, "chunk-too-large")
        assert too_big["limit_bytes"] == 6000
        assert _ok(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)))["offset"] == 0
        _ok(_patch(client, c.member, uid, 0, data[:4000]))  # the kind is not known yet
        refused = problem_code(_patch(client, c.member, uid, 4000, data[4000:9000]), 413, "file-too-large")
        assert (refused["kind"], refused["limit_bytes"]) == ("audio", 10_000)
        nothing_kept(app, before)
        problem_code(client.get(f"/api/uploads/{uid}", headers=bearer(c.member)), 404, "upload-not-found")
        # A file shorter than the sniffed head shows its kind with its last byte.
        uid = _ok(_create(client, c.member, c.project_id, name="dot.png", size=len(PNG)), 201)["id"]
        assert problem_code(_patch(client, c.member, uid, 0, PNG), 413, "file-too-large")["kind"] == "image"
        nothing_kept(app, before)


# --- against a real control plane process -------------------------------------------------------

MIB = 1024 * 1024
BIG = random.Random(2024).randbytes(4 * MIB)  # "other": no kind's limit is near


def _healthy(stack: Stack, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process = stack.processes["control-plane"]
        if process.poll() is not None:
            raise RuntimeError(f"the control plane exited with {process.returncode}:\n{stack.tail('control-plane')}")
        try:
            with urllib.request.urlopen(f"{stack.base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the control plane is not up after {timeout}s:\n{stack.tail('control-plane')}")


def _start(stack: Stack) -> None:
    # One gunicorn worker, like `downbeat up` on SQLite; no broker or Redis is needed to
    # upload (events wait in the outbox, live changes are dropped with a warning).
    stack.start("control-plane", extra_env={"DOWNBEAT_CONTROL_PLANE__WORKERS": "1"})
    _healthy(stack)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A real control plane (gunicorn, as `downbeat control-plane` runs it) on SQLite in a
    data dir of its own; nothing listens at the broker and Redis addresses it is given.
    Each test uses its own account, project and upload."""
    data_dir = tmp_path_factory.mktemp("control-plane")
    stack = Stack(data_dir=data_dir, bootstrap="127.0.0.1:1", redis_url="redis://127.0.0.1:1/0")
    stack.run("migrate")
    try:
        _start(stack)
        yield stack
    finally:
        stack.stop_all()


class Uploader:
    """One person's resumable upload against the server, through plain HTTP."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        email = f"{name.lower().replace(' ', '-')}-{time.time_ns()}@example.com"
        status, person = http_json(
            "POST",
            f"{stack.base}/api/auth/register",
            {"email": email, "password": "correct horse battery", "name": name, "roles": ["producer"]},
        )
        assert status == 201, person
        self.token = str(person["access_token"])
        status, project = http_json(
            "POST",
            f"{stack.base}/api/projects",
            {
                "title": "Big files",
                "starts_at": "2031-05-05T09:00:00+00:00",
                "ends_at": "2031-05-06T09:00:00+00:00",
                "location": "Hansa",
            },
            token=self.token,
        )
        assert status == 201, project
        self.project_id = int(project["id"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def create(self, name: str, size: int) -> str:
        status, made = http_json(
            "POST",
            f"{self.stack.base}/api/projects/{self.project_id}/uploads",
            {"name": name, "size": size},
            self.token,
        )
        assert status == 201, made
        return str(made["id"])

    def offset(self, upload_id: str) -> int:
        head = requests.head(f"{self.stack.base}/api/uploads/{upload_id}", headers=self.auth, timeout=20)
        assert head.status_code == 200, head.status_code
        return int(head.headers["Upload-Offset"])

    def patch(self, upload_id: str, offset: int, data: bytes) -> requests.Response:
        return requests.patch(
            f"{self.stack.base}/api/uploads/{upload_id}",
            data=data,
            headers={**self.auth, "Upload-Offset": str(offset), "Content-Type": OCTETS},
            timeout=60,
        )

    def start_chunk(self, upload_id: str, offset: int, declared: int, sent: bytes) -> socket.socket:
        """A PATCH over a raw socket that declares ``declared`` bytes and sends ``sent``."""
        port = self.stack.ports["control-plane"]
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        head = (
            f"PATCH /api/uploads/{upload_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {self.token}\r\nUpload-Offset: {offset}\r\nContent-Type: {OCTETS}\r\n"
            f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + sent)
        return sock

    def wait_offset_above(self, upload_id: str, floor: int, timeout: float = 30.0) -> int:
        """Poll HEAD until the offset passes ``floor`` (the server is writing what arrived)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            offset = self.offset(upload_id)
            if offset > floor:
                return offset
            time.sleep(0.05)
        raise TimeoutError(f"the offset stayed at {floor}")

    def settled_offset(self, upload_id: str, timeout: float = 30.0) -> int:
        """The offset once no request writes to the upload any more: an empty PATCH at the
        offset HEAD tells is accepted only when nobody holds the upload (else 409 busy)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            offset = self.offset(upload_id)
            answer = self.patch(upload_id, offset, b"")
            if answer.status_code == 200:
                return int(answer.json()["offset"])
            assert answer.status_code == 409, (answer.status_code, answer.text)
            time.sleep(0.05)
        raise TimeoutError("the upload stayed busy")

    def finish(self, upload_id: str, data: bytes, offset: int) -> dict[str, Any]:
        answer = self.patch(upload_id, offset, data[offset:])
        assert answer.status_code == 201, (answer.status_code, answer.text)
        body: dict[str, Any] = answer.json()
        return body

    def stored(self, file: dict[str, Any]) -> bytes:
        answer = requests.get(f"{self.stack.base}{file['versions'][0]['content_url']}", headers=self.auth, timeout=60)
        assert answer.status_code == 200
        return answer.content


def _staging(stack: Stack) -> list[Path]:
    folder = stack.data_dir / "files-staging"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def test_a_client_killed_half_way_through_a_chunk_resumes_from_what_arrived(server: Stack) -> None:
    person = Uploader(server, "Killed Client")
    uid = person.create("big.bin", len(BIG))
    first = person.patch(uid, 0, BIG[: MIB // 2])  # an ordinary first chunk
    assert (first.status_code, first.json()["offset"]) == (200, MIB // 2)

    # The next chunk declares 3 MiB; the client dies after 1.5 MiB.
    sent = MIB + MIB // 2
    sock = person.start_chunk(uid, MIB // 2, 3 * MIB, BIG[MIB // 2 : MIB // 2 + sent])
    sock.close()
    person.wait_offset_above(uid, MIB // 2)
    offset = person.settled_offset(uid)
    assert MIB // 2 < offset <= MIB // 2 + sent  # what arrived counts, nothing more
    assert person.offset(uid) == offset

    done = person.finish(uid, BIG, offset)
    assert (done["status"], done["offset"]) == ("done", len(BIG))
    assert done["file"]["versions"][0]["sha256"] == _sha(BIG)
    assert _sha(person.stored(done["file"])) == _sha(BIG)
    assert _staging(server) == []


def test_a_server_killed_mid_chunk_resumes_after_a_restart(server: Stack) -> None:
    person = Uploader(server, "Patient Client")
    uid = person.create("big.bin", len(BIG))
    sent = MIB + MIB // 2
    sock = person.start_chunk(uid, 0, len(BIG), BIG[:sent])
    try:
        arrived = person.wait_offset_above(uid, 0)  # the server is appending, and waits for more
        busy = person.patch(uid, arrived, BIG[arrived : arrived + 10])
        assert (busy.status_code, busy.json()["code"]) == (409, "upload-busy")

        # SIGKILL to gunicorn's whole process group (master and worker): nothing gets to
        # flush, answer or clean up.
        os.killpg(server.processes["control-plane"].pid, signal.SIGKILL)
        server.kill("control-plane")
    finally:
        sock.close()
    _start(server)

    offset = person.offset(uid)
    assert 0 < offset <= sent
    status, state = http_json("GET", f"{server.base}/api/uploads/{uid}", token=person.token)
    assert (status, state["offset"], state["status"]) == (200, offset, "open")
    problem = person.patch(uid, 0, BIG[:10])
    assert (problem.status_code, problem.json()["offset"]) == (409, offset)
    middle = offset + MIB
    assert person.patch(uid, offset, BIG[offset:middle]).json()["offset"] == middle
    done = person.finish(uid, BIG, middle)
    assert done["file"]["versions"][0]["size"] == len(BIG)
    assert _sha(person.stored(done["file"])) == _sha(BIG)
    assert _staging(server) == []
