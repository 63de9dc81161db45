"""A new musician registers in the browser, fills in the profile and a weekly window, and a
producer finds them on the search page by instrument, genre, distance and a free window:
real processes, real Chromium."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import launch_chromium
from tests.support.people import PASSWORD, register_person
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _login(page: Page, email: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#login-form input[name=email]", email)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def _register_musician(page: Page, name: str) -> None:
    page.goto("/register?next=/musicians/me")
    page.fill("#reg-name", name)
    page.fill("#reg-email", f"{uuid.uuid4().hex[:10]}@example.com")
    page.fill("#reg-password", PASSWORD)
    page.check("#register-form input[name=roles][value=musician]")
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/musicians/me")


def test_a_new_musician_is_found_by_instrument_genre_distance_and_time(stack: Stack) -> None:
    name = f"Noor Oud {uuid.uuid4().hex[:4]}"  # the stack is shared by the session's e2e tests
    producer = register_person(stack.base, ["producer"], "Paula Producer")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            errors: list[str] = []
            # Both browsers live in Berlin: datetime-local inputs are Berlin wall-clock times.
            musician_page = browser.new_context(base_url=stack.base, timezone_id="Europe/Berlin").new_page()
            musician_page.on("pageerror", lambda exc: errors.append(str(exc)))
            _register_musician(musician_page, name)

            form = musician_page.locator("#profile-form")
            form.locator("input[name=instruments]").fill("Oud, Percussion")
            form.locator("input[name=genres]").fill("Arabic jazz, Fusion")
            form.locator("textarea[name=bio]").fill("Maqam improviser, studio and stage.")
            form.locator("input[name=city]").fill("Berlin-Neukölln")
            form.locator("input[name=coords]").fill("52.48, 13.43")
            form.locator("input[name=rate]").fill("180")
            form.locator("textarea[name=links]").fill("https://example.com/me")
            form.locator("button[type=submit]").click()
            # A link outside Spotify, SoundCloud and Bandcamp is refused, next to the field.
            expect(form.locator(".field-error[data-field=links]")).to_contain_text("Spotify, SoundCloud or Bandcamp")
            form.locator("textarea[name=links]").fill("https://noor.bandcamp.com/album/maqam")
            form.locator("button[type=submit]").click()
            expect(form.locator(".form-success")).to_have_text("Profile saved.")

            availability = musician_page.locator("#availability-form")
            availability.locator("input[name=timezone]").fill("Europe/Berlin")
            availability.locator("#weekly .day-row[data-weekday='0'] .add-window").click()  # Monday 18:00-23:00
            availability.locator("button[type=submit]").click()
            expect(availability.locator(".form-success")).to_have_text("Availability saved (Europe/Berlin).")

            producer_page = browser.new_context(base_url=stack.base, timezone_id="Europe/Berlin").new_page()
            producer_page.on("pageerror", lambda exc: errors.append(str(exc)))
            _login(producer_page, producer["email"], "/sessions")
            producer_page.click("nav >> text=Musicians")
            producer_page.wait_for_url("**/musicians")
            filters = producer_page.locator("#musician-filters")
            filters.locator("input[name=instrument]").fill("oud")
            filters.locator("input[name=genre]").fill("fusion")
            filters.locator("input[name=near]").fill("52.52, 13.405")
            filters.locator("input[name=radius_km]").fill("10")
            filters.locator("input[name=available_from]").fill("2031-05-05T19:00")  # a Monday
            filters.locator("input[name=available_to]").fill("2031-05-05T21:30")
            filters.locator("select[name=sort]").select_option("distance")
            filters.locator("button[type=submit]").click()
            card = producer_page.locator("#musician-results .musician-card", has_text=name)
            expect(card).to_have_count(1)
            expect(card.locator(".musician-where")).to_have_text("Berlin-Neukölln · 4.8 km away")
            expect(card).to_contain_text("per session")
            assert "instrument=oud" in producer_page.url and "sort=distance" in producer_page.url

            # Outside the window (Tuesday) or the radius, nobody is found.
            filters.locator("input[name=available_from]").fill("2031-05-06T19:00")
            filters.locator("input[name=available_to]").fill("2031-05-06T21:30")
            filters.locator("button[type=submit]").click()
            expect(producer_page.locator("#no-musicians")).to_be_visible()

            filters.locator("input[name=available_from]").fill("")
            filters.locator("input[name=available_to]").fill("")
            filters.locator("button[type=submit]").click()
            card.locator(".musician-name a").click()
            producer_page.wait_for_url("**/musicians/*")
            expect(producer_page.locator("#m-name")).to_have_text(name)
            expect(producer_page.locator("#m-links .portfolio-bandcamp a")).to_have_text("Bandcamp")
            expect(producer_page.locator("#m-rating")).to_have_text("No reviews yet")
            assert errors == []
        finally:
            browser.close()
