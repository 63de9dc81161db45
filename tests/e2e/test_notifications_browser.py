"""Live alerts in a real browser: the toast and the bell count appear without a reload; the
inbox marks things read; the preferences page saves."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import HOME
from tests.support.people import PASSWORD, register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e
SLOW = 20_000


def _login(page: Page, person: dict[str, Any]) -> None:
    page.goto("/login")
    page.fill("#login-form input[name=email]", person["email"])
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(HOME)  # each role lands on its own page


def test_a_booking_shows_a_toast_and_the_bell_count_without_a_reload(stack: Stack, chromium: Browser) -> None:
    host = register_person(stack.base, ["facilitator"], "Tess Toast")
    guest = register_person(stack.base, ["user"], "Bo Booker")
    status, listing = http_json(
        "POST",
        f"{stack.base}/api/sessions",
        {
            "title": "Bell jam",
            "starts_at": "2031-08-01T18:00:00+00:00",
            "ends_at": "2031-08-01T20:00:00+00:00",
            "capacity": 5,
            "status": "published",
        },
        token=host["access_token"],
    )
    assert status == 201
    context = chromium.new_context(base_url=stack.base, locale="en-GB")
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        _login(page, host)
        page.goto("/facilitator")
        expect(page.locator("#bell")).to_be_visible()
        expect(page.locator("#bell-count")).to_be_hidden()
        page.wait_for_timeout(800)  # the bell's socket is open and subscribed
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        assert (
            http_json("POST", f"{stack.base}/api/bookings", {"session_id": listing["id"]}, token=guest["access_token"])[
                0
            ]
            == 201
        )
        expect(page.locator(".toast").filter(has_text="Bo Booker")).to_be_visible(timeout=SLOW)
        expect(page.locator("#bell-count")).to_have_text("1")
        assert navigations == []  # no reload

        page.goto("/inbox")
        item = page.locator(".inbox-item.unread").filter(has_text="Bo Booker")
        expect(item).to_have_count(1)
        page.click("#mark-all-read")
        expect(page.locator(".inbox-item.unread")).to_have_count(0)
        expect(page.locator("#bell-count")).to_be_hidden()

        page.goto("/settings/notifications")
        page.check("input[name='booking.created'][value='both']")
        page.click("#prefs-save")
        expect(page.locator("#prefs-saved")).to_be_visible()
        status, prefs = http_json("GET", f"{stack.base}/api/notifications/preferences", token=host["access_token"])
        assert prefs["preferences"]["booking.created"] == "both"

        page.goto("/mail")  # the local sink's mail, shown in development and tests
        expect(page.locator("h1")).to_have_text("Mail (local sink)")
    finally:
        context.close()
    assert not problems, problems
