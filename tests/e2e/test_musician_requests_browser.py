"""A producer sends a booking request from the project page, the musician accepts it in the
inbox page, and the producer's open project page shows it accepted: real processes, real
Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import launch_chromium
from tests.support.people import PASSWORD, register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e

ALL_DAY_EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]


def _api(stack: Stack, method: str, path: str, person: dict[str, Any], body: Any = None) -> Any:
    status, answer = http_json(method, f"{stack.base}{path}", body, token=person["access_token"])
    assert status < 300, answer
    return answer


def _login(page: Page, person: dict[str, Any], next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#login-form input[name=email]", person["email"])
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_musician_accepts_in_the_inbox_and_the_producer_sees_it(stack: Stack) -> None:
    producer = register_person(stack.base, ["producer"], "Paula Producer")
    musician = register_person(stack.base, ["musician"], "Dana Drummer")
    _api(stack, "PUT", "/api/musicians/me", musician, {"instruments": ["Drums"], "location": {"city": "Leipzig"}})
    _api(stack, "PUT", "/api/musicians/me/availability", musician, {"timezone": "UTC", "weekly": ALL_DAY_EVERY_DAY})
    project = _api(
        stack,
        "POST",
        "/api/projects",
        producer,
        {
            "title": "Night Drive EP",
            "starts_at": "2031-06-02T10:00:00+00:00",
            "ends_at": "2031-06-02T18:00:00+00:00",
            "location": "Studio B",
            "instruments_needed": ["Drums"],
        },
    )

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            errors: list[str] = []
            producer_page = browser.new_context(base_url=stack.base, timezone_id="UTC").new_page()
            producer_page.on("pageerror", lambda exc: errors.append(str(exc)))
            _login(producer_page, producer, f"/projects/{project['id']}")
            form = producer_page.locator("#request-form")
            expect(form.locator("select[name=musician_id] option", has_text="Dana Drummer")).to_have_count(1)
            form.locator("select[name=musician_id]").select_option(label="Dana Drummer · Leipzig")
            form.locator("input[name=offer]").fill("250")
            form.locator("textarea[name=message]").fill("Four songs, live takes")
            form.locator("button[type=submit]").click()
            expect(form.locator(".form-success")).to_contain_text("Request sent to Dana Drummer")
            card = producer_page.locator("#project-requests .request-card", has_text="Dana Drummer")
            expect(card.locator(".request-status")).to_have_text("pending")

            musician_page = browser.new_context(base_url=stack.base, timezone_id="UTC").new_page()
            musician_page.on("pageerror", lambda exc: errors.append(str(exc)))
            # The availability editor shows what the API stored and saves it back unchanged.
            _login(musician_page, musician, "/musicians/me")
            expect(musician_page.locator("#weekly .window")).to_have_count(7)
            expect(musician_page.locator("#profile-form input[name=instruments]")).to_have_value("Drums")
            musician_page.click("#availability-form button[type=submit]")
            expect(musician_page.locator("#availability-form .form-success")).to_have_text("Availability saved (UTC).")
            musician_page.click("nav >> text=Requests")
            musician_page.wait_for_url("**/requests")
            inbox_card = musician_page.locator("#inbox .request-card", has_text="Night Drive EP")
            expect(inbox_card.locator(".request-status")).to_have_text("pending", timeout=10_000)
            expect(inbox_card).to_contain_text("Four songs, live takes")
            inbox_card.locator("button[data-action=accept]").click()
            expect(inbox_card.locator(".request-status")).to_have_text("accepted", timeout=10_000)

            # The producer's page was open all along; it picks the change up by itself.
            expect(card.locator(".request-status")).to_have_text("accepted", timeout=15_000)
            assert errors == []
        finally:
            browser.close()

    requests = _api(stack, "GET", "/api/requests?role=requester", producer)["items"]
    assert [(r["status"], r["offer"]) for r in requests] == [("accepted", {"amount": 25000, "currency": "EUR"})]
    availability = _api(stack, "GET", "/api/musicians/me/availability", musician)
    assert availability["weekly"] == ALL_DAY_EVERY_DAY
