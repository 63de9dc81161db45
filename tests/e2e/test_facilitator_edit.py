"""The facilitator edits a session in a real browser: the edit dialog, a refused capacity, a save."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import VIEWER_ZONE, HeldRead, Visitor
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e


@pytest.fixture
def visitor(chromium: Browser, stack: Stack) -> Iterator[Visitor]:
    opened = Visitor(chromium, stack.base, viewport={"width": 1024, "height": 900})
    yield opened
    opened.close()


def _session(stack: Stack, owner: dict[str, Any], title: str, **fields: Any) -> dict[str, Any]:
    starts_at = (datetime.now(UTC) + timedelta(days=21)).replace(hour=17, minute=0, second=0, microsecond=0)
    body = {
        "title": title,
        "description": "Grooves in 7/8.",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
        "timezone": "Europe/Berlin",
        "capacity": 3,
        "location": "Studio 2, Leipzig",
        "status": "published",
        **fields,
    }
    status, listing = http_json("POST", f"{stack.base}/api/sessions", body, token=owner["access_token"])
    assert status == 201, listing
    return dict(listing)


def _book(stack: Stack, person: dict[str, Any], session_id: int) -> None:
    status, booking = http_json(
        "POST", f"{stack.base}/api/bookings", {"session_id": session_id}, token=person["access_token"]
    )
    assert status == 201, booking


def test_the_host_edits_title_and_capacity_and_sees_a_capacity_below_the_bookings_refused(
    stack: Stack, visitor: Visitor
) -> None:
    host = register_person(stack.base, ["facilitator"], "Edda Editor")
    listing = _session(stack, host, "Odd meters workshop")
    for name in ("Ada Attendee", "Ben Attendee"):
        _book(stack, register_person(stack.base, ["user"], name), listing["id"])
    draft = _session(stack, host, "Draft jam", status="draft")
    gone = _session(stack, host, "Called-off jam")
    assert http_json("POST", f"{stack.base}/api/sessions/{gone['id']}/cancel", {}, token=host["access_token"])[0] == 200

    page = visitor.login(host)
    assert page.url.endswith("/facilitator")  # a facilitator starts on their dashboard
    row = page.locator(f'.my-session[data-session-id="{listing["id"]}"]')
    expect(row.locator(".seats-capacity")).to_have_text("3")
    # Drafts and published sessions can be edited; a cancelled one cannot.
    expect(page.locator(f'.my-session[data-session-id="{draft["id"]}"] button.edit-session')).to_be_visible()
    expect(page.locator(f'.my-session[data-session-id="{gone["id"]}"] button.edit-session')).to_have_count(0)

    row.locator("button.edit-session").click()
    dialog = page.locator("#edit-dialog")
    expect(dialog).to_be_visible()
    form = dialog.locator("#edit-form")
    expect(form.locator("[name=title]")).to_have_value("Odd meters workshop")
    expect(form.locator("[name=description]")).to_have_value("Grooves in 7/8.")
    expect(form.locator("[name=capacity]")).to_have_value("3")
    expect(form.locator("[name=location]")).to_have_value("Studio 2, Leipzig")
    expect(form.locator("[name=timezone]")).to_have_value("Europe/Berlin")
    expect(form.locator("[name=kind]")).to_have_value("session")
    expect(form.locator("#e-capacity-hint")).to_contain_text("2 seats are taken")
    # People booked on these terms: time, price and refund policy are fixed now.
    for name in ("kind", "starts_at", "ends_at", "timezone", "price", "currency", "refund_policy.full_until_hours"):
        expect(form.locator(f"[name='{name}']")).to_be_disabled()
    expect(form.locator("#e-publish-row")).to_be_hidden()

    # Two seats are taken: a capacity of 1 is refused, with the server's words at the field.
    form.locator("[name=title]").fill("Odd meters masterclass")
    form.locator("[name=capacity]").fill("1")
    form.locator("#edit-save").click()
    capacity_error = form.locator('.field-error[data-field="capacity"]')
    expect(capacity_error).to_be_visible()
    expect(capacity_error).to_have_text("must be at least 2")
    expect(form.locator(".form-error")).to_contain_text("2 seats are taken")
    expect(form.locator("[name=capacity]")).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()
    expect(form.locator("[name=title]")).to_have_value("Odd meters masterclass")  # input kept
    expect(row.locator(".my-session-title")).to_have_text("Odd meters workshop")  # nothing saved
    status, unchanged = http_json("GET", f"{stack.base}/api/sessions/{listing['id']}", token=host["access_token"])
    assert status == 200 and unchanged["title"] == "Odd meters workshop" and unchanged["capacity"] == 3

    form.locator("[name=capacity]").fill("5")
    form.locator("#edit-save").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".my-session-title")).to_have_text("Odd meters masterclass")
    expect(row.locator(".seats-capacity")).to_have_text("5")
    expect(row.locator(".seats-taken")).to_have_text("2")
    message = page.locator("#flash .flash")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("“Odd meters masterclass” is saved.")
    status, saved = http_json("GET", f"{stack.base}/api/sessions/{listing['id']}", token=host["access_token"])
    assert status == 200 and saved["title"] == "Odd meters masterclass" and saved["capacity"] == 5
    assert saved["seats_left"] == 3 and saved["location"] == "Studio 2, Leipzig"

    # A draft nobody booked: its terms can change too. Move it a day later, charge for it and
    # publish it from the same dialog; the message replaces the last one.
    draft_row = page.locator(f'.my-session[data-session-id="{draft["id"]}"]')
    draft_row.locator("button.edit-session").click()
    expect(form.locator("#e-publish-row")).to_be_visible()
    expect(form.locator("[name=starts_at]")).to_be_enabled()
    starts = datetime.fromisoformat(draft["starts_at"]).astimezone(ZoneInfo(VIEWER_ZONE))
    expect(form.locator("[name=starts_at]")).to_have_value(f"{starts:%Y-%m-%dT%H:%M}")
    later = starts + timedelta(days=1)
    form.locator("[name=starts_at]").fill(f"{later:%Y-%m-%dT%H:%M}")
    form.locator("[name=ends_at]").fill(f"{later + timedelta(hours=3):%Y-%m-%dT%H:%M}")
    form.locator("[name=price]").fill("15")
    form.locator("[name=location]").fill("Online")
    form.locator("#e-publish").check()
    form.locator("#edit-save").click()
    expect(dialog).to_be_hidden()
    expect(draft_row).to_have_attribute("data-status", "published")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("“Draft jam” is saved and published.")
    message.locator(".flash-close").click()
    expect(message).to_have_count(0)
    status, published = http_json("GET", f"{stack.base}/api/sessions/{draft['id']}", token=host["access_token"])
    assert status == 200 and published["status"] == "published" and published["location"] == "Online"
    assert published["price"] == {"amount": 1500, "currency": "EUR"}
    assert datetime.fromisoformat(published["starts_at"]) == later
    assert datetime.fromisoformat(published["ends_at"]) == later + timedelta(hours=3)
    assert published["refund_policy"] == draft["refund_policy"]  # untouched, so not sent


def test_a_list_read_that_overlaps_a_delete_does_not_bring_the_draft_back(stack: Stack, visitor: Visitor) -> None:
    """CI once saw a deleted draft come back: a list read sent before the DELETE landed after it."""
    host = register_person(stack.base, ["facilitator"], "Reva Reloader")
    kept = _session(stack, host, "Kept jam")
    doomed = _session(stack, host, "Doomed draft", status="draft")
    page = visitor.login(host)
    doomed_row = page.locator(f'.my-session[data-session-id="{doomed["id"]}"]')
    expect(doomed_row).to_be_visible()

    # Hold the answer of the next list read: it is read from the server now (with the draft in
    # it) and handed to the page only after the delete went through.
    read = HeldRead(page, "**/api/sessions?mine=true*")
    page.click("#reload-sessions")
    read.wait()  # the held read is under way; the draft still shows meanwhile
    doomed_row.locator("button.delete-session").click()
    page.click("#confirm-ok")
    expect(doomed_row).to_have_count(0)
    assert doomed["title"] in read.release().text()  # the held answer really is stale
    page.wait_for_function("document.querySelector('#my-sessions').getAttribute('aria-busy') === 'false'")
    expect(page.locator(f'.my-session[data-session-id="{kept["id"]}"]')).to_be_visible()
    expect(doomed_row).to_have_count(0)
    status, listing = http_json("GET", f"{stack.base}/api/sessions?mine=true", token=host["access_token"])
    assert status == 200 and [item["id"] for item in listing["items"]] == [kept["id"]]


def test_a_list_redrawn_while_the_delete_dialog_is_open_still_loses_the_draft(stack: Stack, visitor: Visitor) -> None:
    """A live alert redraws the list at any moment; the one CI caught came while the dialog was open."""
    host = register_person(stack.base, ["facilitator"], "Dora Dialog")
    doomed = _session(stack, host, "Draft to drop", status="draft")
    page = visitor.login(host)
    doomed_row = page.locator(f'.my-session[data-session-id="{doomed["id"]}"]')
    doomed_row.locator("button.delete-session").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    before = doomed_row.element_handle()
    page.evaluate("document.querySelector('#reload-sessions').click()")  # behind the modal dialog
    page.wait_for_function("el => !el.isConnected", arg=before)  # the row was drawn anew
    page.click("#confirm-ok")
    expect(doomed_row).to_have_count(0)
    status, listing = http_json("GET", f"{stack.base}/api/sessions?mine=true", token=host["access_token"])
    assert status == 200 and listing["items"] == []
