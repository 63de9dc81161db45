"""Live path end to end: Chromium 1 (the host) streams a generated 120 BPM drum track through
fake audio capture over WebRTC into a room; Chromium 2 (a listener on the room page) receives
`visual` frames with the tempo and beat flags, and sees the stream end when the host stops."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.e2e.conftest import launch_chromium
from tests.support.drums import write_drum_wav
from tests.support.people import PASSWORD, register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e

COLLECT_FRAMES = """
() => {
  window.__visual = [];
  document.addEventListener("downbeat:visual", (event) => {
    const f = event.detail || {};
    window.__visual.push({stream_id: f.stream_id, bpm: f.bpm, beat: !!f.beat, ended: !!f.ended,
                          seq: f.seq, mel: Array.isArray(f.mel) ? f.mel.length : 0, at: performance.now()});
  });
}
"""


def _health(stack: Stack, name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{stack.url(name)}/healthz", timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def _login(browser: Any, stack: Stack, email: str) -> Any:
    context = browser.new_context(base_url=stack.base)
    login = context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})
    assert login.ok, login.text()
    return context


def test_a_drum_track_streamed_by_one_browser_drives_the_visualiser_of_another(stack: Stack, tmp_path: Path) -> None:
    host = register_person(stack.base, ["facilitator"], "Hana Host")
    listener = register_person(stack.base, ["user"], "Leo Listener")
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Live drums"}, token=host["access_token"])
    assert status == 201, room
    code = room["code"]
    assert http_json("POST", f"{stack.base}/api/rooms/{code}/join", {}, token=listener["access_token"])[0] == 200
    wav = write_drum_wav(tmp_path / "drums-120.wav", bpm=120.0, seconds=30.0)
    # The stack is shared by the session: other tests may already have sent the worker bad frames.
    refused_before = _health(stack, "worker")["live"]["refused"]

    with sync_playwright() as playwright:
        performer_browser = launch_chromium(
            playwright,
            [
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        listener_browser = launch_chromium(playwright)
        try:
            audience = _login(listener_browser, stack, listener["email"]).new_page()
            audience.goto(f"/rooms/{code}")
            audience.evaluate(COLLECT_FRAMES)

            performer = _login(performer_browser, stack, host["email"]).new_page()
            performer.goto(f"/rooms/{code}")
            assert performer.locator("#live-device option").count() >= 1  # device choice offered
            performer.click("#go-live")
            performer.wait_for_selector("#live-status[data-stream-id]", timeout=30_000)
            stream_id = performer.get_attribute("#live-status", "data-stream-id")
            went_live = time.monotonic()

            # Within 15 s of going live: the tempo within 2 BPM of 120, and beat flags.
            try:
                audience.wait_for_function(
                    """(id) => {
                        const frames = (window.__visual || []).filter((f) => f.stream_id === id);
                        const last = frames[frames.length - 1];
                        const beats = frames.filter((f) => f.beat).length;
                        return last && last.bpm && Math.abs(last.bpm - 120) <= 2 && beats >= 3;
                    }""",
                    arg=stream_id,
                    timeout=15_000,
                )
            except PlaywrightTimeout:
                got = audience.evaluate("() => window.__visual")
                pytest.fail(
                    f"after 15 s: {len(got)} frames, last {got[-1:]} ; worker {_health(stack, 'worker')}; "
                    f"media {_health(stack, 'media')}"
                )
            found_after = time.monotonic() - went_live
            frames = audience.evaluate("() => window.__visual")
            canvas = audience.locator("#visualiser")
            drawn = int(canvas.get_attribute("data-frames") or 0)
            meter_frames = int(performer.get_attribute("#level-meter", "data-frames") or 0)
            shown_bpm = audience.text_content("#bpm")

            # Stop: the listener's visualiser is told the stream ended; media and worker let go.
            performer.click("#go-live")
            performer.wait_for_selector("#live-status[data-stopped='true']", timeout=5_000)
            audience.wait_for_selector("#visualiser[data-ended='true']", timeout=20_000)
            ended = audience.evaluate("() => window.__visual.filter((f) => f.ended)")
            # A late joiner, seconds after the end (the newest frame is kept 5 s for joiners),
            # gets no frame of a stream that is over.
            late = audience.context.new_page()
            late.add_init_script(f"({COLLECT_FRAMES})()")
            late.goto(f"/rooms/{code}")
            late.wait_for_selector("#room-status[data-status='live']", timeout=10_000)
            late.wait_for_timeout(1_500)
            late_frames = late.evaluate("(id) => window.__visual.filter((f) => f.stream_id === id)", stream_id)
        finally:
            performer_browser.close()
            listener_browser.close()

    ours = [f for f in frames if f["stream_id"] == stream_id]
    beats = [f for f in ours if f["beat"]]
    print(f"\n{len(ours)} visual frames, {len(beats)} beats, bpm {ours[-1]['bpm']} after {found_after:.1f} s")
    assert abs(ours[-1]["bpm"] - 120.0) <= 2.0
    assert len(beats) >= 3
    assert all(f["mel"] == 40 for f in ours)  # the coarse spectrum rides along
    seqs = [f["seq"] for f in ours]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # in stream order, each frame once
    assert drawn >= len(beats) and shown_bpm is not None and abs(int(shown_bpm) - 120) <= 2
    assert meter_frames > 0  # the performer's own input meter moved
    assert [f["stream_id"] for f in ended] == [stream_id]
    assert late_frames == []

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        media, worker = _health(stack, "media"), _health(stack, "worker")
        if media["streams"] == 0 and worker["streams"] == 0:
            break
        time.sleep(0.25)
    assert media["streams"] == 0 and worker["streams"] == 0, (media, worker)
    assert sum(media["ended"].values()) >= 1
    assert worker["live"]["refused"] == refused_before  # this stream's frames were all accepted
