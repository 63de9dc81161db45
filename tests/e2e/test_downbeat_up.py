"""`downbeat up` as a new user runs it: every process ready, the demo seeded, and the demo
user's booking in one browser appears on the demo facilitator's page in another, live."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from control_plane.seed import DEMO_PASSWORD
from tests.e2e.browser import HOME
from tests.e2e.conftest import launch_chromium
from tests.support.services import free_port

pytestmark = pytest.mark.e2e


class UpProcess:
    def __init__(self, tmp_path: Path) -> None:
        self.ports = {name: free_port() for name in ("cp", "notify", "media", "worker", "relay", "kafka", "redis")}
        env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "REDIS_URL", "DATABASE_URL")}
        env.update(
            {
                "DOWNBEAT_ENV": "test",
                "DOWNBEAT_DATA_DIR": str(tmp_path / "var"),
                "DOWNBEAT_CONTROL_PLANE__PORT": str(self.ports["cp"]),
                "DOWNBEAT_NOTIFICATIONS__PORT": str(self.ports["notify"]),
                "DOWNBEAT_MEDIA__PORT": str(self.ports["media"]),
                "DOWNBEAT_WORKER__PORT": str(self.ports["worker"]),
                "DOWNBEAT_RELAY__PORT": str(self.ports["relay"]),
                "DOWNBEAT_KAFKA__EMBEDDED_PORT": str(self.ports["kafka"]),
                "DOWNBEAT_REDIS__EMBEDDED_PORT": str(self.ports["redis"]),
                "NO_COLOR": "1",
            }
        )
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "downbeat", "up", "--no-install"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not printed; output:\n" + "\n".join(self.lines[-60:]))


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()
        process.reader.join(timeout=10)
        if process.process.stdout is not None:
            process.process.stdout.close()


def test_up_starts_everything_and_a_demo_booking_alerts_the_facilitator(up: UpProcess) -> None:
    up.wait_for(r"Downbeat is up\.", timeout=240)
    base = up.wait_for(r"Web UI and API\s+(http://\S+)", timeout=5).group(1)
    room = up.wait_for(r"Demo room: (http://\S+)", timeout=5).group(1)
    for name in ("control-plane", "relay", "notifications", "media", "worker-1"):
        up.wait_for(rf"{name} ready", timeout=5)
    assert base == f"http://127.0.0.1:{up.ports['cp']}"
    assert re.search(r"/rooms/[2-9A-HJKMNP-Z]{6}$", room)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            facilitator = browser.new_context(base_url=base).new_page()
            _login(facilitator, "facilitator@downbeat.local")
            facilitator.goto("/facilitator")
            expect(facilitator.locator("#alerts-status")).to_have_text("live", timeout=20_000)

            user = browser.new_context(base_url=base).new_page()
            _login(user, "user@downbeat.local")
            user.goto("/sessions")
            card = user.locator(".session-card", has_text="Sunday Drum Circle")
            card.locator(".book-button").click()
            expect(card.locator(".booking-status")).to_contain_text("Booked", timeout=10_000)

            alert = facilitator.locator("#alerts .alert-item").first
            expect(alert).to_contain_text("Uma User", timeout=15_000)
            expect(alert).to_contain_text("Sunday Drum Circle")
        finally:
            browser.close()

    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=60) == 0
    up.wait_for(r"downbeat\s+\| stopped", timeout=5)
    # Every child is gone: its ports are free again.
    for port in up.ports.values():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))


def _login(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("#login-form input[name=email]", email)
    page.fill("#login-form input[name=password]", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(HOME)  # each role lands on its own page
