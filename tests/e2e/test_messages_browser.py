"""Messages in real browsers: a producer (on the project page) and a musician with a request on
the project (on the messages page) chat in the project's conversation, each in their own
Chromium, and see each other's messages, typing and read ticks live; a stranger gets the
404 page and a 404 from the API; the musician closes their browser, three messages go by, and
on their return (on a phone) the badge says 3 and the conversation shows each once, in order,
and again after their socket drops and reconnects.

One module, one stack: the steps share their setup and run in order."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.e2e.browser import Visitor
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e

ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]
PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000  # what a live change may take to reach the other browser on a slow machine


def _api(stack: Stack, method: str, path: str, person: dict[str, Any], body: Any = None) -> Any:
    status, answer = http_json(method, f"{stack.base}{path}", body, token=person["access_token"])
    assert status < 300, (method, path, status, answer)
    return answer


def _bodies(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".msg-list > li .msg-body").all_inner_texts()]


def _ready(page: Page) -> None:
    """The conversation shows its history and hears the socket."""
    convo = page.locator(".convo")
    expect(convo).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    expect(convo).to_have_attribute("data-socket", "live", timeout=WAIT_MS)


class Chat:
    """What the steps share: the people, the project, and the open browsers."""

    def __init__(self, stack: Stack, chromium: Browser, musicians_chromium: Browser) -> None:
        self.stack = stack
        self.chromium = chromium
        # The musician's pages run in a Chromium of their own, not only a context of the same one.
        self.musicians_chromium = musicians_chromium
        # Names and an instrument of their own: other modules on the same stack list musicians.
        self.producer = register_person(stack.base, ["producer"], "Ines Producer")
        self.musician = register_person(stack.base, ["musician"], "Milo Cajon")
        self.stranger = register_person(stack.base, ["producer", "musician"], "Sam Outsider")
        self.project = _api(
            stack,
            "POST",
            "/api/projects",
            self.producer,
            {
                "title": "Harbour Lights EP",
                "starts_at": "2031-06-02T10:00:00+00:00",
                "ends_at": "2031-06-02T18:00:00+00:00",
            },
        )
        _api(stack, "PUT", "/api/musicians/me", self.musician, {"instruments": ["Cajon"]})
        _api(stack, "PUT", "/api/musicians/me/availability", self.musician, {"timezone": "UTC", "weekly": ALL_WEEK})
        # A pending request is enough to belong to the project's conversation.
        _api(
            stack,
            "POST",
            f"/api/projects/{self.project['id']}/requests",
            self.producer,
            {
                "musician_id": self.musician["user"]["id"],
                "instrument": "Cajon",
                "starts_at": "2031-06-02T10:00:00+00:00",
                "ends_at": "2031-06-02T14:00:00+00:00",
                "offer": {"amount": 25000, "currency": "EUR"},
            },
        )
        self.visitors: list[Visitor] = []
        self.conversation_id = 0

    def visitor(self, viewport: dict[str, int] | None = None, *, musician: bool = False) -> Visitor:
        browser = self.musicians_chromium if musician else self.chromium
        visitor = Visitor(browser, self.stack.base, viewport=viewport)
        self.visitors.append(visitor)
        return visitor

    def close(self, visitor: Visitor) -> None:
        self.visitors.remove(visitor)
        visitor.close()


@pytest.fixture(scope="module")
def chat(stack: Stack, chromium: Browser) -> Iterator[Chat]:
    second = chromium.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    shared = Chat(stack, chromium, second)
    try:
        yield shared
    finally:
        problems: list[str] = []
        for visitor in list(shared.visitors):
            problems += visitor.problems
            visitor.context.close()
        second.close()
        assert not problems, problems


@pytest.fixture(scope="module")
def producer_page(chat: Chat) -> Page:
    producer = chat.visitor()
    page = producer.login(chat.producer)
    page.goto(f"/projects/{chat.project['id']}")
    _ready(page)
    expect(page.locator("#project-conversation .convo-empty")).to_be_visible()
    return page


@pytest.fixture(scope="module")
def pair(chat: Chat, producer_page: Page) -> dict[str, Any]:
    """The producer on the project page; the musician on /messages/<id>, found in their list."""
    musician = chat.visitor(musician=True)
    page = musician.login(chat.musician)
    page.click("#nav-messages")
    page.wait_for_url("**/messages")
    item = page.locator("#conversation-list .conv-item", has_text="Project: Harbour Lights EP")
    expect(item).to_have_count(1, timeout=WAIT_MS)
    item.locator("a").click()
    page.wait_for_url(re.compile(r"/messages/\d+$"))
    chat.conversation_id = int(page.url.rsplit("/", 1)[1])
    _ready(page)
    expect(page.locator(".convo-title")).to_have_text("Project: Harbour Lights EP")
    return {"producer": producer_page, "musician": page, "musician_visitor": musician}


def test_messages_typing_and_read_ticks_go_both_ways_live(pair: dict[str, Any]) -> None:
    producer, musician = pair["producer"], pair["musician"]

    # The producer types: the musician sees who, and it fades once nothing follows.
    producer.fill("#project-conversation textarea", "Hi Milo, **welcome** to the EP")
    typing = musician.locator(".convo-typing")
    expect(typing).to_have_text("Ines Producer is typing…", timeout=WAIT_MS)
    producer.press("#project-conversation textarea", "Enter")
    mine = producer.locator(".msg-list > li.is-mine", has_text="Hi Milo")
    expect(mine).to_have_count(1, timeout=WAIT_MS)
    expect(producer.locator("#project-conversation textarea")).to_have_value("")

    theirs = musician.locator(".msg-list > li", has_text="Hi Milo")
    expect(theirs).to_have_count(1, timeout=WAIT_MS)
    expect(theirs.locator(".msg-sender")).to_have_text("Ines Producer")
    expect(theirs.locator(".msg-body strong")).to_have_text("welcome")  # the server's Markdown
    expect(typing).to_have_text("", timeout=WAIT_MS)  # the message ends the hint
    # The musician's page is open: it marks the message read, and the producer's tick says so.
    expect(mine.locator(".msg-ticks")).to_have_attribute("data-state", "read", timeout=WAIT_MS)

    # The musician answers with a reply, Shift+Enter giving a second line.
    theirs.hover()
    theirs.locator("button[data-action=reply]").click()
    expect(musician.locator(".convo-reply")).to_contain_text("Ines Producer")
    box = musician.locator(".convo-input")
    box.press_sequentially("Thanks! <b>Count</b> me in")
    expect(producer.locator(".convo-typing")).to_have_text("Milo Cajon is typing…", timeout=WAIT_MS)
    box.press("Shift+Enter")
    box.press_sequentially("Four songs?")
    box.press("Enter")
    answer = producer.locator(".msg-list > li", has_text="Four songs?")
    expect(answer).to_have_count(1, timeout=WAIT_MS)
    expect(answer.locator(".msg-quote")).to_contain_text("Hi Milo")
    # Written text stays text: the tags show as typed, nothing becomes markup.
    expect(answer.locator(".msg-body")).to_contain_text("<b>Count</b> me in")
    assert answer.locator(".msg-body b").count() == 0
    own = musician.locator(".msg-list > li.is-mine", has_text="Four songs?")
    expect(own.locator(".msg-ticks")).to_have_attribute("data-state", "read", timeout=WAIT_MS)

    # The musician edits the answer; the producer's page shows the new text, marked edited.
    own = musician.locator(f".msg-list > li[data-id='{own.get_attribute('data-id')}']")  # its text will change
    own.hover()
    own.locator("button[data-action=edit]").click()
    editor = own.locator(".msg-edit-input")
    editor.fill("Thanks! Count me in. Four songs?")
    editor.press("Enter")
    expect(answer.locator(".msg-body")).to_have_text("Thanks! Count me in. Four songs?", timeout=WAIT_MS)
    expect(answer.locator(".msg-edited")).to_have_text("edited")


def test_a_stranger_gets_404_by_page_and_by_api(chat: Chat, pair: dict[str, Any]) -> None:
    stranger = chat.visitor()
    page = stranger.login(chat.stranger)
    response = page.goto(f"/messages/{chat.conversation_id}")
    assert response is not None and response.status == 404
    expect(page.locator(".error-page[data-status='404']")).to_be_visible()
    expect(page.locator(".msg-list")).to_have_count(0)
    # The project's conversation by its project: not theirs either.
    page.goto(f"/messages?project={chat.project['id']}")
    expect(page.locator("#open-error")).to_have_text("That conversation does not exist, or you are not in it.")
    expect(page.locator(".convo")).to_have_count(0)
    for path in (f"/api/conversations/{chat.conversation_id}", f"/api/conversations/{chat.conversation_id}/messages"):
        status, problem = http_json("GET", f"{chat.stack.base}{path}", token=chat.stranger["access_token"])
        assert status == 404, (path, problem)
    chat.close(stranger)


def test_an_offline_member_finds_what_was_said_once_and_in_order(chat: Chat, pair: dict[str, Any]) -> None:
    producer = pair["producer"]
    chat.close(pair["musician_visitor"])  # the musician closes their browser

    box = producer.locator("#project-conversation textarea")
    takes = ["Take one is up", "Take two is up", "Take three is up"]
    for text in takes:
        box.fill(text)
        box.press("Enter")
        expect(producer.locator(".msg-list > li.is-mine", has_text=text).locator(".msg-ticks")).to_have_attribute(
            "data-state", "sent", timeout=WAIT_MS
        )

    # Back, on a phone: the badge counts what they missed before any conversation is open.
    returning = chat.visitor(viewport=PHONE, musician=True)
    sockets: list[WebSocketRoute] = []  # the page's sockets, passed through, so one can be dropped

    def through(socket: WebSocketRoute) -> None:
        socket.connect_to_server()
        sockets.append(socket)

    returning.page.route_web_socket("**/ws/notifications", through)
    page = returning.login(chat.musician)
    expect(page.locator("#messages-unread")).to_have_text("3", timeout=WAIT_MS)
    page.click("#nav-messages")
    page.wait_for_url("**/messages")
    item = page.locator("#conversation-list .conv-item", has_text="Project: Harbour Lights EP")
    expect(item.locator(".conv-unread")).to_contain_text("3", timeout=WAIT_MS)
    expect(item.locator(".conv-excerpt")).to_have_text("Ines Producer: Take three is up")
    expect(page.locator("#conversation-pane")).to_be_hidden()  # the list is the phone's first view

    item.locator("a").click()
    page.wait_for_url(f"**/messages/{chat.conversation_id}")
    expect(page.locator(".messenger-list")).to_be_hidden()
    _ready(page)
    expect(page.locator(".msg-list > li", has_text="Take three is up")).to_be_visible()
    bodies = _bodies(page)
    assert bodies[-3:] == takes, bodies
    assert len(bodies) == len(set(bodies)) == 5, bodies  # each once: two earlier, three missed
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways on a phone: {width}"

    # Seen now: the badge empties and the producer's ticks turn to read.
    expect(page.locator("#messages-unread")).to_be_hidden(timeout=WAIT_MS)
    last = producer.locator(".msg-list > li.is-mine", has_text="Take three is up")
    expect(last.locator(".msg-ticks")).to_have_attribute("data-state", "read", timeout=WAIT_MS)

    # The socket drops: what is said meanwhile arrives with the reconnect. A copy of a message
    # already shown and the server's "resync" change nothing: still each once, in order.
    sockets[-1].close()
    box.fill("Take four is up")
    box.press("Enter")
    expect(page.locator(".msg-list > li", has_text="Take four is up")).to_have_count(1, timeout=WAIT_MS)
    assert len(sockets) >= 2, "the page did not reconnect"
    _ready(page)
    shown = _api(chat.stack, "GET", f"/api/conversations/{chat.conversation_id}/messages?limit=1", chat.musician)
    sockets[-1].send(json.dumps({"type": "message", "message": shown["items"][0]}))
    sockets[-1].send(json.dumps({"type": "resync"}))
    box.fill("Take five is up")
    box.press("Enter")
    expect(page.locator(".msg-list > li", has_text="Take five is up")).to_have_count(1, timeout=WAIT_MS)
    takes += ["Take four is up", "Take five is up"]
    bodies = _bodies(page)
    assert bodies[-5:] == takes and len(bodies) == len(set(bodies)) == 7, bodies

    # Back to the list, which has caught up too.
    page.click(".convo-back")
    page.wait_for_url("**/messages")
    expect(page.locator(".messenger-list")).to_be_visible()
    expect(page.locator("#conversation-pane")).to_be_hidden()
    expect(item.locator(".conv-unread")).to_have_count(0, timeout=WAIT_MS)
