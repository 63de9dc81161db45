"""What browser tests share: a Visitor, one person in their own browser context (the module's
Chromium comes from the ``chromium`` fixture of conftest)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.people import PASSWORD

__all__ = ["HOME", "VIEWER_ZONE", "HeldRead", "Visitor"]

HOME = re.compile(r"/(sessions|facilitator|projects|requests)$")

VIEWER_ZONE = "Europe/Berlin"  # the browser's clock, not UTC, so offsets are exercised


class Visitor:
    """One person in their own browser context; page errors and CSP violations fail the test."""

    def __init__(self, browser: Browser, base: str, viewport: dict[str, int] | None = None) -> None:
        options: dict[str, Any] = {"base_url": base, "timezone_id": VIEWER_ZONE, "locale": "en-GB"}
        if viewport:
            options["viewport"] = viewport
        self.context: BrowserContext = browser.new_context(**options)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def login(self, person: dict[str, Any]) -> Page:
        page = self.page
        page.goto("/login")
        page.fill("#login-form input[name=email]", person["email"])
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(HOME)  # each role lands on its own page
        return page

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


class HeldRead:
    """Holds the first GET matching ``pattern``: it is read from the server at once, and its
    (by then stale) answer reaches the page only on ``release()``. For races between a read
    in flight and the page's own change."""

    def __init__(self, page: Page, pattern: str) -> None:
        self.page = page
        self.held: list[tuple[Any, Any]] = []
        page.route(pattern, self._route)

    def _route(self, route: Any) -> None:
        if self.held or route.request.method != "GET":
            route.continue_()
            return
        self.held.append((route, route.fetch()))

    def wait(self, timeout_ms: int = 10_000) -> None:
        """Until the read is held (Playwright runs the route handler while the page waits)."""
        for _ in range(timeout_ms // 20):
            if self.held:
                return
            self.page.wait_for_timeout(20)
        raise AssertionError("the page never sent the read to hold")

    def release(self) -> Any:
        """Hand the stale answer to the page; returns it (an APIResponse) for checks."""
        route, stale = self.held[0]
        route.fulfill(response=stale)
        return stale
