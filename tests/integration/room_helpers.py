"""Listening-room test helpers: audio made in the test, a real threaded server for sockets,
and a small room-socket client."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import websocket
from flask import Flask
from werkzeug.serving import make_server

from downbeat.settings import Settings

__all__ = ["LiveServer", "RoomClient", "audio_bytes", "live_server"]


def audio_bytes(fmt: str = "WAV", seconds: float = 2.0, bpm: float = 120.0, rate: int = 22050) -> bytes:
    """A click track: a short 1 kHz burst on every beat, encoded as WAV, FLAC, OGG or MP3."""
    t = np.arange(int(seconds * rate)) / rate
    beat = 60.0 / bpm
    envelope = (np.mod(t, beat) < 0.03).astype(np.float64)
    samples = (0.4 * envelope * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    out = io.BytesIO()
    sf.write(out, samples, rate, format=fmt, subtype=subtype)
    return out.getvalue()


@dataclass
class LiveServer:
    app: Flask
    base: str

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://")


@contextmanager
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app on a real threaded HTTP server (flask-sock needs one), on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(5)
        # The room ticker is per app; stop it so it does not outlive this test's database.
        ticker = app.extensions.get("downbeat.room_ticker")
        if ticker is not None:
            ticker.stop()


def room_settings(settings: Settings, **rooms: Any) -> Settings:
    return replace(settings, rooms=replace(settings.rooms, **rooms))


class RoomClient:
    """One person's room socket; keeps every message it received, in order."""

    def __init__(self, ws_base: str, code: str, token: str) -> None:
        self.ws = websocket.create_connection(f"{ws_base}/ws/rooms/{code}", timeout=10)
        self.ws.send(json.dumps({"type": "auth", "token": token}))
        self.received: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first message (already received or arriving within ``timeout``) that matches."""
        for message in self.received:
            if match(message):
                self.received.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                arrived: dict[str, Any] = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if match(arrived):
                return arrived
            self.received.append(arrived)
        raise AssertionError(f"no matching message within {timeout}s; got {[m.get('type') for m in self.received]}")

    def latest(self, kind: str, settle: float = 0.3) -> dict[str, Any]:
        """The newest message of a kind after the socket has been quiet for ``settle`` s."""
        self.drain(settle)
        found = [m for m in self.received if m.get("type") == kind]
        assert found, f"no {kind} message"
        newest: dict[str, Any] = max(found, key=lambda m: m.get("version", 0))
        return newest

    def drain(self, settle: float = 0.3) -> None:
        while True:
            self.ws.settimeout(settle)
            try:
                self.received.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                return

    def close(self) -> None:
        self.ws.close()


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
