"""The whole stack as real processes, plus headless Chromium (Debian's) through Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.stack import Stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PROCESSES = ("control-plane", "relay", "notifications", "media", "worker")


@pytest.fixture(scope="session")
def stack(broker: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(data_dir=tmp_path_factory.mktemp("stack"), bootstrap=broker, redis_url=redis_url)
    running.run("migrate")
    for name in PROCESSES:
        running.start(name)
    try:
        running.wait_ready(*PROCESSES)
        yield running
    finally:
        running.stop_all()


def launch_chromium(playwright: Any, extra_args: list[str] | None = None) -> Any:
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):  # type: ignore[attr-defined]
        pytest.fail("Debian's chromium is required for end-to-end tests: apt-get install chromium (make test does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (extra_args or []))
