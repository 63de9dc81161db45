"""Thin path 2: Chromium streams a WAV over WebRTC into a room; another client of the room
receives `visual` frames whose level follows the audio (loud half, quiet half)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import websocket
from playwright.sync_api import sync_playwright

from tests.e2e.conftest import launch_chromium
from tests.support.audio import write_gated_tone
from tests.support.people import PASSWORD, register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e
LOUD, QUIET = 0.05, 0.005


def _collect_visual_frames(stack: Stack, code: str, token: str, seconds: float) -> list[dict[str, Any]]:
    ws = websocket.create_connection(stack.base.replace("http", "ws") + f"/ws/rooms/{code}", timeout=5)
    ws.send(json.dumps({"type": "auth", "token": token, "since": None}))
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            continue
        if message["type"] == "visual":
            frames.append(message)
    ws.close()
    return frames


def _level_runs(levels: list[float]) -> list[str]:
    """Collapse the level sequence into runs of 'loud'/'quiet' (ignoring the transitions)."""
    runs: list[str] = []
    for level in levels:
        state = "loud" if level > LOUD else "quiet" if level < QUIET else None
        if state and (not runs or runs[-1] != state):
            runs.append(state)
    return runs


def test_browser_microphone_drives_visuals_in_another_client(stack: Stack, tmp_path: Path) -> None:
    host = register_person(stack.base, ["facilitator"], "Hana Host")
    listener = register_person(stack.base, ["user"], "Leo Listener")
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Live test"}, token=host["access_token"])
    assert status == 201, room
    code = room["code"]
    assert http_json("POST", f"{stack.base}/api/rooms/{code}/join", {}, token=listener["access_token"])[0] == 200

    wav = write_gated_tone(tmp_path / "gated.wav")
    with sync_playwright() as playwright:
        browser = launch_chromium(
            playwright,
            [
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            context = browser.new_context(base_url=stack.base)
            login = context.request.post("/api/auth/login", data={"email": host["email"], "password": PASSWORD})
            assert login.ok, login.text()
            page = context.new_page()
            page.goto(f"/rooms/{code}")
            page.click("#go-live")
            page.wait_for_selector("#live-status[data-stream-id]", timeout=30_000)
            stream_id = page.get_attribute("#live-status", "data-stream-id")
            frames = _collect_visual_frames(stack, code, listener["access_token"], seconds=9.0)
            meter_frames = int(page.get_attribute("#level-meter", "data-frames") or 0)
        finally:
            browser.close()

    assert frames, "no visual frames reached the second client"
    assert {f["stream_id"] for f in frames} == {stream_id}
    levels = [f["rms"] for f in frames]
    runs = _level_runs(levels)
    rate = len(frames) / 9.0
    print(
        f"\nvisual frames: {len(frames)} in 9 s ({rate:.0f}/s), runs: {runs}, "
        f"max rms {max(levels):.3f}, min rms {min(levels):.4f}"
    )
    # The gated tone alternates every second: the level must follow it, up and down, repeatedly.
    assert runs.count("loud") >= 3 and runs.count("quiet") >= 3
    assert max(levels) > 0.15  # a 0.5-amplitude sine has an RMS of about 0.35
    ts = [f["t_ms"] for f in frames]
    assert ts == sorted(ts)  # in stream order
    assert meter_frames > 0  # the host's own room page drew the meter from the same frames
