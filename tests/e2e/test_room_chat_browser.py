"""Room chat in two real browsers (one phone-sized) on the whole stack: a message typed in one
shows up in the other, as plain text, both ways; the panel fits a 390 px wide screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import Visitor
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e
SLOW = 20_000
PHONE = {"width": 390, "height": 844}


def _enter_room(visitor: Visitor, person: dict[str, object], code: str) -> Page:
    page = visitor.login(person)
    page.goto(f"/rooms/{code}")
    expect(page.locator("#room-status")).to_have_attribute("data-status", "live", timeout=SLOW)
    return page


def test_a_chat_message_typed_in_one_browser_appears_in_the_other(stack: Stack, chromium: Browser) -> None:
    host = register_person(stack.base, ["user"], "Chat Host")
    guest = register_person(stack.base, ["user"], "Phone Guest")
    status, room = http_json("POST", f"{stack.base}/api/rooms", {"name": "Chat test"}, token=host["access_token"])
    assert status == 201, room
    host_visitor, guest_visitor = Visitor(chromium, stack.base), Visitor(chromium, stack.base, viewport=PHONE)
    try:
        host_page = _enter_room(host_visitor, host, room["code"])
        guest_page = _enter_room(guest_visitor, guest, room["code"])

        # Enter sends; markup in a message is shown as the characters typed.
        host_page.fill("#chat-input", "hello <b>there</b> & welcome")
        host_page.press("#chat-input", "Enter")
        seen = guest_page.locator("#chat-log .chat-item").filter(has_text="hello <b>there</b> & welcome")
        expect(seen).to_have_count(1, timeout=SLOW)
        expect(seen.locator(".chat-name")).to_have_text("Chat Host")
        expect(seen.locator("b")).to_have_count(0)
        expect(host_page.locator("#chat-input")).to_have_value("")
        expect(host_page.locator("#chat-log .chat-item.is-mine:not(.is-sending)")).to_have_count(1, timeout=SLOW)

        # And back, from the phone, with the button.
        guest_page.fill("#chat-input", "hi from my phone")
        guest_page.click("#chat-send")
        expect(host_page.locator("#chat-log .chat-body").last).to_have_text("hi from my phone", timeout=SLOW)
        expect(guest_page.locator("#chat-log .chat-item")).to_have_count(2)

        # The panel fits the phone's width.
        box = guest_page.locator("#chat").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        send = guest_page.locator("#chat-send").bounding_box()
        assert send is not None and send["x"] + send["width"] <= PHONE["width"], send
    finally:
        host_visitor.close()
        guest_visitor.close()
