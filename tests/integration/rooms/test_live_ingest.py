"""The live path's doors against the real processes (control plane, media, Tansu, worker, Redis):
who may stream, what a malformed offer gets, and that an oversized frame is refused by the
worker while the streams around it keep flowing."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import numpy as np
import websocket
from kafka import KafkaProducer

from contracts import AudioHop, encode_audio_hop
from contracts.live import AUDIO_HOP_HEADER, MAX_AUDIO_HOP_BYTES
from contracts.topics import AUDIO_FRAMES
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def _health(stack: Stack, name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{stack.url(name)}/healthz", timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def _room(stack: Stack) -> tuple[dict[str, Any], str]:
    host = register_person(stack.base, ["facilitator"], "Host")
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Doors"}, token=host["access_token"])
    assert status == 201
    return host, room["code"]


def test_only_the_host_or_allowed_members_may_stream(stack: Stack) -> None:
    _, code = _room(stack)
    stranger = register_person(stack.base, ["user"], "Stranger")
    member = register_person(stack.base, ["user"], "Member")
    assert http_json("POST", f"{stack.base}/api/rooms/{code}/join", {}, token=member["access_token"])[0] == 200
    before = _health(stack, "media")["enqueued"]
    url = f"{stack.base}/api/rooms/{code}/stream"
    for person in (stranger, member):
        status, body = http_json("POST", url, {"sdp": OFFER, "type": "offer"}, token=person["access_token"])
        assert status == 403 and body["code"] == "stream-not-allowed", body
    status, _ = http_json("POST", url, {"sdp": OFFER, "type": "offer"})
    assert status == 401
    media = _health(stack, "media")
    assert media["streams"] == 0 and media["enqueued"] == before  # the media process never saw them


def test_a_malformed_offer_is_a_clear_4xx_at_both_doors(stack: Stack) -> None:
    host, code = _room(stack)
    url = f"{stack.base}/api/rooms/{code}/stream"
    status, body = http_json("POST", url, {"sdp": "hello, I am not SDP", "type": "offer"}, token=host["access_token"])
    assert status == 422 and body["code"] == "invalid-offer" and "SDP" in body["detail"]
    # Shaped like SDP, so it passes the control plane's check, but aiortc cannot use it.
    garbage = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=this-is:nonsense\r\n"
    status, body = http_json("POST", url, {"sdp": garbage, "type": "offer"}, token=host["access_token"])
    assert status == 422 and body["code"] == "invalid-offer", body
    status, body = http_json("POST", url, {"sdp": OFFER, "type": "answer"}, token=host["access_token"])
    assert status == 422 and "type" in body["errors"]
    assert _health(stack, "media")["streams"] == 0  # nothing half-open was left behind


class _Visuals(threading.Thread):
    def __init__(self, stack: Stack, code: str, token: str) -> None:
        super().__init__(daemon=True)
        self.frames: list[dict[str, Any]] = []
        self.ws = websocket.create_connection(stack.base.replace("http", "ws") + f"/ws/rooms/{code}", timeout=2)
        self.ws.send(json.dumps({"type": "auth", "token": token, "since": None}))
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                return
            if '"type":"visual"' in raw:
                self.frames.append(json.loads(raw))


def test_an_oversized_frame_is_refused_and_other_streams_keep_flowing(stack: Stack) -> None:
    host, code = _room(stack)
    listener = _Visuals(stack, code, host["access_token"])
    listener.start()
    refused_before = _health(stack, "worker")["live"]["refused"]
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks=1, max_request_size=4 * MAX_AUDIO_HOP_BYTES)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(800) / 48000)).astype(np.float32)
    oversized = encode_audio_hop(AudioHop("bad0stream", code, 0, time.time() * 1000, 48000, tone))
    oversized = oversized[: AUDIO_HOP_HEADER.size] + b"\0" * (2 * MAX_AUDIO_HOP_BYTES)
    try:
        for seq in range(180):  # three seconds of a good stream, with bad frames in the middle
            hop = AudioHop("good0stream", code, seq, time.time() * 1000, 48000, tone)
            producer.send(AUDIO_FRAMES, encode_audio_hop(hop), key=b"good0stream")
            if seq == 60:
                producer.send(AUDIO_FRAMES, oversized, key=b"bad0stream")
                producer.send(AUDIO_FRAMES, b"DBAH garbage", key=b"bad0stream")
            producer.flush()
            time.sleep(1 / 60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(f.get("seq", 0) >= 170 for f in listener.frames):
            time.sleep(0.1)
    finally:
        producer.close()
        listener.done.set()
        listener.ws.close()
    seqs = [f["seq"] for f in listener.frames if f["stream_id"] == "good0stream"]
    assert seqs and max(seqs) >= 170, f"the good stream stopped after the oversized frame: {seqs[-5:]}"
    assert any(s > 61 for s in seqs) and any(s < 60 for s in seqs)
    assert not any(f["stream_id"] == "bad0stream" for f in listener.frames)
    worker = _health(stack, "worker")
    assert worker["live"]["refused"] >= refused_before + 2
