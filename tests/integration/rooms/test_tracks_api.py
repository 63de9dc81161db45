"""Tracks: upload recognised by content, size limit, direct URLs, HTTP Range, the signed
analysis callback, and (through the real broker, relay and stream worker) the offline
analysis end to end plus a queue that survives a control-plane restart."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from contracts.files import ANALYSIS_PURPOSE
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.rooms.models import Track
from downbeat.signing import HEADER, sign
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer
from tests.integration.people import many_people
from tests.integration.room_helpers import RoomClient, audio_bytes, live_server, room_settings
from tests.support.stack import Stack, http_json

LIMIT = 300_000


@pytest.fixture
def tracks_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    app = create_app(room_settings(make_settings(tmp_path, database_url), max_track_bytes=LIMIT), TESTING=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _upload(app: Flask, person: dict[str, Any], data: bytes, name: str) -> Any:
    return app.test_client().post(
        "/api/tracks",
        data={"file": (io.BytesIO(data), name)},
        headers=bearer(person),
        content_type="multipart/form-data",
    )


FORMATS = [("WAV", "audio/wav"), ("FLAC", "audio/flac"), ("OGG", "audio/ogg"), ("MP3", "audio/mpeg")]


def test_each_format_is_recognised_by_its_bytes_and_measured(tracks_app: Flask) -> None:
    (person,) = many_people(tracks_app, 1)
    for fmt, content_type in FORMATS:
        # Every file is named .mp3: the name must not matter.
        response = _upload(tracks_app, person, audio_bytes(fmt, seconds=2.0), "song.mp3")
        assert response.status_code == 201, (fmt, response.get_json())
        track = response.get_json()
        assert track["content_type"] == content_type and track["source"] == "upload", fmt
        assert track["duration_ms"] == pytest.approx(2000, abs=60), fmt  # MP3 and Vorbis pad a frame or so
        assert track["analysis"]["status"] == "pending" and track["url"] == f"/api/tracks/{track['id']}/audio"
        with tracks_app.app_context():
            # The analysis request was written with the track, in the same transaction.
            rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "files.events"))
            assert track["id"] in [json.loads(row.payload)["track_id"] for row in rows]
            stored = db.session.get(Track, track["id"])
            assert stored is not None and stored.storage_key is not None
            data_path = Path(tracks_app.extensions["downbeat.settings"].data_path)
            assert (data_path / "tracks" / stored.storage_key).is_file()
            db.session.remove()


def test_garbage_is_refused_and_oversize_is_413(tracks_app: Flask) -> None:
    (person,) = many_people(tracks_app, 1)
    garbage = _upload(tracks_app, person, b"this is not audio at all " * 40, "song.mp3")
    assert garbage.status_code == 415 and garbage.mimetype == "application/problem+json"
    assert garbage.get_json()["code"] == "unsupported-audio"
    flac = audio_bytes("FLAC", seconds=1.0)
    broken = _upload(tracks_app, person, flac[:4] + b"\x00garbage" * 100, "x.flac")  # FLAC magic, then junk
    assert broken.status_code == 422 and broken.get_json()["code"] == "unreadable-audio"
    big = _upload(tracks_app, person, audio_bytes("WAV", seconds=8.0), "big.wav")  # ~350 KB > 300 KB
    assert big.status_code == 413 and big.mimetype == "application/problem+json"
    assert big.get_json()["code"] == "track-too-large"
    missing = tracks_app.test_client().post(
        "/api/tracks", data={"other": "x"}, headers=bearer(person), content_type="multipart/form-data"
    )
    assert missing.status_code == 400
    with tracks_app.app_context():
        assert db.session.scalar(select(Track)) is None  # nothing written by any of these
        assert db.session.scalar(select(OutboxMessage)) is None
        db.session.remove()
    leftovers = [
        p for p in (Path(tracks_app.extensions["downbeat.settings"].data_path) / "tracks").rglob("*") if p.is_file()
    ]
    assert leftovers == []


def test_direct_urls_are_http_or_https_only(tracks_app: Flask) -> None:
    (person,) = many_people(tracks_app, 1)
    client = tracks_app.test_client()
    ok = client.post("/api/tracks", json={"url": "https://example.com/music/song.ogg"}, headers=bearer(person))
    assert ok.status_code == 201
    body = ok.get_json()
    assert body["source"] == "url" and body["url"] == "https://example.com/music/song.ogg"
    assert body["title"] == "song" and body["content_type"] == "audio/ogg"
    for bad in ("ftp://example.com/a.mp3", "javascript:alert(1)", "not a url", "file:///etc/passwd"):
        refused = client.post("/api/tracks", json={"url": bad}, headers=bearer(person))
        assert refused.status_code == 422 and "url" in refused.get_json()["errors"], bad
    assert client.get(f"/api/tracks/{body['id']}/audio", headers=bearer(person)).status_code == 404
    listed = client.get("/api/tracks", headers=bearer(person)).get_json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]


def test_audio_is_served_with_ranges_and_conditional_requests(tracks_app: Flask) -> None:
    (person,) = many_people(tracks_app, 1)
    data = audio_bytes("WAV", seconds=1.0)
    track = _upload(tracks_app, person, data, "a.wav").get_json()
    client, url, auth = tracks_app.test_client(), f"/api/tracks/{track['id']}/audio", bearer(person)

    def get(**headers: str) -> Any:
        response = client.get(url, headers={**auth, **headers})
        response.get_data()  # buffer the body, then close: that closes the file on our side
        response.close()
        return response

    whole = get()
    assert whole.status_code == 200 and whole.data == data and whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == len(data) and whole.mimetype == "audio/wav"
    part = get(Range="bytes=100-199")
    assert part.status_code == 206 and part.data == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}" and part.headers["Content-Length"] == "100"
    tail = get(Range="bytes=-10")
    assert tail.status_code == 206 and tail.data == data[-10:]
    beyond = get(Range=f"bytes={len(data) + 10}-")
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    etag = whole.headers["ETag"]
    not_modified = get(**{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not not_modified.data
    stale = get(Range="bytes=0-9", **{"If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == data  # If-Range mismatch: the whole file
    for person_headers in ({}, {"Authorization": "Bearer nope"}):
        assert client.get(url, headers=person_headers).status_code in (401, 422)
    assert client.get("/api/tracks/999999/audio", headers=auth).status_code == 404


def test_analysis_reports_must_be_signed_and_reach_the_rooms_queueing_the_track(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    app = create_app(make_settings(tmp_path, database_url, redis_url), TESTING=True)
    secret = app.extensions["downbeat.settings"].secret_key
    host, other = many_people(app, 2)
    track = _upload(app, host, audio_bytes("WAV", seconds=1.0), "a.wav").get_json()
    code = app.test_client().post("/api/rooms", json={"name": "R"}, headers=bearer(host)).get_json()["code"]
    with live_server(app) as server:
        ws = RoomClient(server.ws_base, code, host["access_token"])
        ws.wait_for(lambda m: m["type"] == "state")
        ws.send({"type": "queue_add", "track_id": track["id"]})
        ws.wait_for(lambda m: m["type"] == "queue" and len(m["items"]) == 1)

        def report(body: dict[str, Any], signature: str | None = "sign") -> requests.Response:
            raw = json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            if signature == "sign":
                headers[HEADER] = sign(secret, ANALYSIS_PURPOSE, raw)
            elif signature:
                headers[HEADER] = signature
            return requests.post(f"{server.base}/internal/tracks/{track['id']}/analysis", data=raw, headers=headers)

        assert report({"status": "running", "progress": 0.5}, signature=None).status_code == 401
        assert report({"status": "running", "progress": 0.5}, signature="t=1,v1=00").status_code == 401
        assert report({"status": "running", "progress": 0.5}).json() == {"proceed": True, "status": "running"}
        progress = ws.wait_for(lambda m: m["type"] == "track")
        assert progress["track"]["analysis"].items() >= {"status": "running", "progress": 0.5}.items()
        result = {"bpm": 120.0, "key": "A minor", "beats": [0.5, 1.0], "downbeats": [0.5], "waveform": [0.1, 1.0]}
        assert report({"status": "done", "progress": 1.0, "result": result}).json()["proceed"] is True
        done = ws.wait_for(lambda m: m["type"] == "track" and m["track"]["analysis"]["status"] == "done")
        assert done["track"]["analysis"]["bpm"] == 120.0 and done["track"]["analysis"]["beats"] == [0.5, 1.0]
        # Analysed once: a redelivered event is told not to run again, and nothing changes.
        assert report({"status": "running", "progress": 0.1}).json() == {"proceed": False, "status": "done"}
        # Someone outside the room cannot read the host's upload (nor learn it exists)...
        outside = app.test_client().get(f"/api/tracks/{track['id']}", headers=bearer(other))
        assert outside.status_code == 404
        assert app.test_client().get(f"/api/tracks/{track['id']}/audio", headers=bearer(other)).status_code == 404
        # ...and once in the room that queues it, they can (they play it).
        joined = app.test_client().post(f"/api/rooms/{code}/join", headers=bearer(other))
        assert joined.status_code in (200, 201, 204), joined.get_json()
        got = app.test_client().get(f"/api/tracks/{track['id']}", headers=bearer(other)).get_json()
        assert got["analysis"]["status"] == "done" and got["analysis"]["key"] == "A minor"
        ws.close()
        time.sleep(0.3)
    app.extensions["downbeat.hub"].stop()
    ticker = app.extensions.get("downbeat.room_ticker")
    if ticker is not None:
        ticker.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- through the real broker, relay, stream worker and a restarted control plane -----------


def _register(stack: Stack, name: str) -> dict[str, Any]:
    email = f"{name.lower()}-{time.time_ns()}@example.com"
    status, body = http_json(
        "POST",
        f"{stack.base}/api/auth/register",
        {"email": email, "password": "correct horse battery", "name": name, "roles": ["user"]},
    )
    assert status == 201, body
    person: dict[str, Any] = body
    return person


def test_uploaded_tracks_are_analysed_by_the_worker_and_the_queue_survives_a_restart(stack: Stack) -> None:
    host = _register(stack, "Host")
    auth = {"Authorization": f"Bearer {host['access_token']}"}
    wav = audio_bytes("WAV", seconds=12.0, bpm=120.0)
    uploaded = requests.post(f"{stack.base}/api/tracks", files={"file": ("click.mp3", wav)}, headers=auth, timeout=20)
    assert uploaded.status_code == 201, uploaded.text
    track = uploaded.json()
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Analysed"}, token=host["access_token"])
    assert status == 201
    ws = RoomClient(stack.base.replace("http://", "ws://"), room["code"], host["access_token"])
    ws.wait_for(lambda m: m["type"] == "state")
    ws.send({"type": "queue_add", "track_id": track["id"]})
    queued = ws.wait_for(lambda m: m["type"] == "queue" and len(m["items"]) == 1)
    analysis = queued["items"][0]["track"]["analysis"]
    if analysis["status"] != "done":  # usually still running: the result arrives as a `track` message
        message = ws.wait_for(
            lambda m: m["type"] == "track" and m["track"]["analysis"]["status"] in ("done", "failed"), timeout=90
        )
        analysis = message["track"]["analysis"]
    assert analysis["status"] == "done", analysis
    assert analysis["bpm"] == pytest.approx(120, abs=2)
    assert len(analysis["beats"]) >= 15 and 100 <= len(analysis["waveform"]) <= 400
    assert max(analysis["waveform"]) == pytest.approx(1.0)
    ws.send({"type": "play", "position_ms": 3000})
    playing = ws.wait_for(lambda m: m["type"] == "state" and m["playing"])
    ws.send({"type": "pause"})  # a paused playhead: a restart must keep it exactly
    paused = ws.wait_for(lambda m: m["type"] == "state" and m["version"] > playing["version"])
    assert not paused["playing"] and paused["position_ms"] >= 3000
    ws.close()

    # SIGKILL to gunicorn's whole process group (master and worker): a crash, nothing gets to
    # flush or say goodbye. Killing only the master would leave its worker serving a while.
    os.killpg(stack.processes["control-plane"].pid, signal.SIGKILL)
    stack.kill("control-plane")
    stack.start("control-plane")
    stack.wait_ready("control-plane")
    status, after = http_json("GET", f"{stack.base}/api/rooms/{room['code']}", token=host["access_token"])
    assert status == 200
    assert [item["track"]["id"] for item in after["queue"]["items"]] == [track["id"]]
    assert {k: after["state"][k] for k in paused} == paused
    assert after["queue"]["items"][0]["track"]["analysis"]["bpm"] == analysis["bpm"]


def test_an_analysis_that_never_reported_back_is_requested_again_then_given_up(tracks_app: Flask) -> None:
    from datetime import UTC, datetime, timedelta

    from control_plane.rooms.jobs import MAX_ANALYSIS_ATTEMPTS, requeue_stalled_analysis

    (person,) = many_people(tracks_app, 1)
    track_id = _upload(tracks_app, person, audio_bytes("WAV", seconds=1.0), "a.wav").get_json()["id"]
    settings = tracks_app.extensions["downbeat.settings"]
    with tracks_app.app_context():
        later = datetime.now(UTC)
        assert requeue_stalled_analysis(db.session(), later, settings) == 0  # not stalled yet
        for attempt in range(2, MAX_ANALYSIS_ATTEMPTS + 2):
            later += timedelta(minutes=11)
            assert requeue_stalled_analysis(db.session(), later, settings) == 1
            track = db.session.get(Track, track_id)
            assert track is not None
            if attempt <= MAX_ANALYSIS_ATTEMPTS:
                assert (track.analysis_status, track.analysis_attempts) == ("pending", attempt)
            else:
                assert track.analysis_status == "failed"
        payloads = [json.loads(r.payload) for r in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert [p["attempt"] for p in payloads] == list(range(1, MAX_ANALYSIS_ATTEMPTS + 1))
        assert len({p["event_id"] for p in payloads}) == MAX_ANALYSIS_ATTEMPTS
        db.session.remove()
