"""What browser tests share: a Visitor, one person in their own browser context (the module's
Chromium comes from the ``chromium`` fixture of conftest)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.people import PASSWORD

__all__ = ["HOME", "VIEWER_ZONE", "Visitor"]

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
