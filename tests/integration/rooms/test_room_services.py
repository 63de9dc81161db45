"""The rooms use cases without their routes: live-audio offers through the media port (a
hand-written fake bound where create_app binds the HTTP adapter), the HTTP adapter's refusals,
the analysis status as the stream worker reports it; and a room socket opened mid-stream,
which gets the room's newest visual frame at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from contracts.channels import last_visual_key
from contracts.files import AnalysisReport, AnalysisResult
from contracts.live import MEDIA_OFFER_PATH, MediaAnswer, MediaOffer, VisualParams
from control_plane.kits.extensions import db
from control_plane.rooms.models import Room, Track
from control_plane.rooms.schemas import StreamOffer
from control_plane.rooms.services.analysis import record_analysis_report
from control_plane.rooms.services.media import MEDIA_KEY, HttpMediaClient
from control_plane.rooms.services.refusals import RoomsRefused
from control_plane.rooms.services.streams import offer_stream
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer, register
from tests.integration.room_helpers import LiveServer, RoomClient, live_server

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


class FakeMedia:
    """The media port as a test sees it: keeps every offer, answers each one."""

    def __init__(self) -> None:
        self.offers: list[MediaOffer] = []

    def offer(self, offer: MediaOffer) -> MediaAnswer:
        self.offers.append(offer)
        return MediaAnswer(sdp="v=0\r\n", type="answer", stream_id=offer.stream_id)


def _room(app: Flask, host: dict[str, Any], **fields: Any) -> str:
    response = app.test_client().post("/api/rooms", json={"name": "Live", **fields}, headers=bearer(host))
    assert response.status_code == 201, response.get_json()
    code: str = response.get_json()["code"]
    return code


def test_only_a_checked_offer_reaches_the_media_port(app: Flask) -> None:
    client = app.test_client()
    host, member, stranger = register(client), register(client), register(client)
    code = _room(app, host)
    client.post(f"/api/rooms/{code}/join", headers=bearer(member))
    fake = FakeMedia()
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.code == code))
        assert room is not None
        for person in (member, stranger):
            with pytest.raises(RoomsRefused) as refused:
                offer_stream(db.session, room, person["user"]["id"], StreamOffer(sdp=OFFER, type="offer"), fake)
            assert (refused.value.status, refused.value.code) == (403, "stream-not-allowed")
        with pytest.raises(RoomsRefused) as refused:
            offer_stream(db.session, room, host["user"]["id"], StreamOffer(sdp="hello, not SDP", type="offer"), fake)
        assert (refused.value.status, refused.value.code) == (422, "invalid-offer")
        assert fake.offers == []  # none of those reached the media process
        answer = offer_stream(db.session, room, host["user"]["id"], StreamOffer(sdp=OFFER, type="offer"), fake)
        db.session.remove()
    [sent] = fake.offers
    assert (sent.room_code, sent.user_id, sent.sdp) == (code, host["user"]["id"], OFFER)
    assert answer.stream_id == sent.stream_id and answer.type == "answer"
    # The route goes through the port create_app bound: a fake bound there answers it.
    app.extensions[MEDIA_KEY] = fake
    routed = client.post(f"/api/rooms/{code}/stream", json={"sdp": OFFER, "type": "offer"}, headers=bearer(host))
    assert routed.status_code == 200, routed.get_json()
    assert routed.get_json() == {"sdp": "v=0\r\n", "type": "answer", "stream_id": fake.offers[-1].stream_id}


class MediaStandIn(ThreadingHTTPServer):
    """An HTTP server where the media process would be: answers every POST with ``reply``
    (status, body, content type) and keeps the paths it was sent to."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply: tuple[int, bytes, str] = (503, b"", "text/plain")
        self.paths: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: MediaStandIn

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status, body, content_type = self.server.reply
        self.server.paths.append(self.path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def media_stand_in() -> Iterator[MediaStandIn]:
    server = MediaStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_http_media_client_turns_what_goes_wrong_into_refusals(media_stand_in: MediaStandIn) -> None:
    offer = MediaOffer(sdp=OFFER, type="offer", room_code="ABCDEF", stream_id="0123abcd", user_id=1)
    with pytest.raises(RoomsRefused) as down:
        HttpMediaClient("http://127.0.0.1:1", timeout=2).offer(offer)
    assert (down.value.status, down.value.code) == (503, "media-unavailable")
    media = HttpMediaClient(f"http://127.0.0.1:{media_stand_in.server_port}/", timeout=5)
    problem = json.dumps({"code": "invalid-offer", "detail": "aiortc cannot use it"}).encode()
    cases = [
        ((422, problem, "application/problem+json"), (422, "invalid-offer")),
        ((503, json.dumps({"code": "media-busy", "detail": "full"}).encode(), "application/json"), (503, "media-busy")),
        ((500, b"<html>oops</html>", "text/html"), (503, "media-refused")),
        ((200, b'{"sdp": 5}', "application/json"), (503, "media-unavailable")),
    ]
    for reply, expected in cases:
        media_stand_in.reply = reply
        with pytest.raises(RoomsRefused) as refused:
            media.offer(offer)
        assert (refused.value.status, refused.value.code) == expected, reply
    assert set(media_stand_in.paths) == {MEDIA_OFFER_PATH}
    answer = MediaAnswer(sdp="v=0", type="answer", stream_id="0123abcd")
    media_stand_in.reply = (200, answer.model_dump_json().encode(), "application/json")
    assert media.offer(offer) == answer


def test_the_analysis_status_follows_the_reports_and_stays_done(app: Flask) -> None:
    host = register(app.test_client())
    with app.app_context():
        track = Track(
            owner_id=host["user"]["id"],
            source="upload",
            title="Click",
            artist="",
            duration_ms=1000.0,
            content_type="audio/wav",
            size_bytes=10,
            sha256="0" * 64,
            storage_key="00/x.wav",
            analysis_status="pending",
        )
        db.session.add(track)
        db.session.commit()
        track_id = track.id
        with pytest.raises(RoomsRefused) as missing:
            record_analysis_report(db.session, track_id + 1000, AnalysisReport(status="running"))
        assert (missing.value.status, missing.value.code) == (404, "track-not-found")
        db.session.rollback()

        running = record_analysis_report(db.session, track_id, AnalysisReport(status="running", progress=0.3))
        db.session.commit()
        assert (running.proceed, running.status, running.rooms) == (True, "running", [])
        assert running.message is not None and running.message.track["analysis"]["status"] == "running"
        with pytest.raises(RoomsRefused) as no_result:
            record_analysis_report(db.session, track_id, AnalysisReport(status="done"))
        assert (no_result.value.status, no_result.value.code) == (422, "result-missing")
        db.session.rollback()

        done = record_analysis_report(
            db.session, track_id, AnalysisReport(status="done", progress=1.0, result=AnalysisResult(bpm=120.0))
        )
        db.session.commit()
        assert (done.proceed, done.status) == (True, "done")
        late = record_analysis_report(db.session, track_id, AnalysisReport(status="failed", error="late"))
        db.session.commit()
        assert (late.proceed, late.status, late.message) == (False, "done", None)
        stored = db.session.get(Track, track_id)
        assert stored is not None and stored.analysis_status == "done" and stored.analysis["bpm"] == 120.0
        db.session.remove()


@pytest.fixture
def gateway(tmp_path: Path, redis_url: str) -> Iterator[LiveServer]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    database_url = f"sqlite:///{tmp_path / 'rooms.db'}"
    upgrade(database_url)
    app = create_app(make_settings(tmp_path, database_url, redis_url), TESTING=True)
    with live_server(app) as running:
        yield running
        deadline = time.monotonic() + 10  # closed sockets announce their departure first
        while any(t.name.startswith("room-fwd-") for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.05)
    app.extensions["downbeat.hub"].stop()
    app.extensions["downbeat.redis"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_socket_opened_mid_stream_gets_the_newest_visual_frame(gateway: LiveServer, redis_url: str) -> None:
    app = gateway.app
    client = app.test_client()
    host, late = register(client), register(client)
    code, quiet = _room(app, host), _room(app, host)
    frame = VisualParams(room_code=code, stream_id="0123abcd", t_ms=1000.0, rms=0.2, peak=0.5, seq=60).frame_json()
    store = redis.Redis.from_url(redis_url)
    try:
        store.set(last_visual_key(code), frame, px=5000)  # as the stream worker keeps it
        joiner = RoomClient(gateway.ws_base, code, late["access_token"])
        try:
            first = [joiner.wait_for(lambda m: True)["type"] for _ in range(3)]
            assert first == ["participants", "queue", "state"]
            visual = joiner.wait_for(lambda m: m["type"] == "visual", timeout=5)
            assert visual == json.loads(frame)
        finally:
            joiner.close()
        # A room nobody streams into has no frame kept: its sockets get none.
        other = RoomClient(gateway.ws_base, quiet, host["access_token"])
        try:
            other.wait_for(lambda m: m["type"] == "state")
            other.send({"type": "ping", "client_time_ms": 1.0})
            other.wait_for(lambda m: m["type"] == "pong")
            assert all(m["type"] != "visual" for m in other.received)
        finally:
            other.close()
    finally:
        store.delete(last_visual_key(code))
        store.close()
