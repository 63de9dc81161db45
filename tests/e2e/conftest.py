"""The whole stack as real processes, plus headless Chromium (Debian's) through Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

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


def launch_chromium(playwright: Any, extra_args: list[str] | None = None) -> Any:
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):  # type: ignore[attr-defined]
        pytest.fail("Debian's chromium is required for end-to-end tests: apt-get install chromium (make test does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (extra_args or []))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test module (a module may define its own with other flags)."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
