"""Email, reminders and metrics of the notification service, against the real local mail
sink (`downbeat mailsink`, aiosmtpd) and the whole stack."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from downbeat.mailsink import StoredMail, read_mails
from tests.support.people import register_person
from tests.support.services import free_port, wait_port
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e
DIGEST_WINDOW_S = 3


@pytest.fixture(scope="module")
def mail_stack(stack: Stack) -> Iterator[Stack]:
    """The stack's notification worker sending to a mail sink, with short digest windows and
    a reminder one hour before sessions; restored to its defaults afterwards."""
    port = free_port()
    smtp = {"DOWNBEAT_SMTP__PORT": str(port)}
    stack.start("mailsink", smtp)
    wait_port(port)
    stack.kill("notifications", sig=15)
    stack.start(
        "notifications",
        {
            **smtp,
            "DOWNBEAT_SMTP__DIGEST_WINDOW_S": str(DIGEST_WINDOW_S),
            "DOWNBEAT_NOTIFICATIONS__REMINDER_MINUTES": "60",
        },
    )
    stack.wait_ready("notifications")
    try:
        yield stack
    finally:
        stack.kill("notifications", sig=15)
        stack.kill("mailsink", sig=15)
        stack.start("notifications")
        stack.wait_ready("notifications")


def _session(stack: Stack, owner: dict[str, Any], starts_at: datetime, title: str) -> dict[str, Any]:
    status, body = http_json(
        "POST",
        f"{stack.base}/api/sessions",
        {
            "title": title,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
            "capacity": 20,
            "status": "published",
        },
        token=owner["access_token"],
    )
    assert status == 201, body
    return dict(body)


def _book(stack: Stack, guest: dict[str, Any], session_id: int) -> dict[str, Any]:
    status, body = http_json(
        "POST", f"{stack.base}/api/bookings", {"session_id": session_id}, token=guest["access_token"]
    )
    assert status == 201, body
    return dict(body)


def _mails_to(stack: Stack, address: str) -> list[StoredMail]:
    return [m for m in read_mails(stack.data_dir / "mail") if address in m.to]


def _wait_mails(stack: Stack, address: str, count: int, timeout: float = 30.0) -> list[StoredMail]:
    deadline = time.monotonic() + timeout
    while len(_mails_to(stack, address)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return _mails_to(stack, address)


def _prefs(stack: Stack, person: dict[str, Any], chosen: dict[str, str]) -> dict[str, Any]:
    status, body = http_json(
        "PUT", f"{stack.base}/api/notifications/preferences", {"preferences": chosen}, token=person["access_token"]
    )
    assert status == 200, body
    return dict(body)


def _inbox_kinds(stack: Stack, person: dict[str, Any]) -> list[str]:
    status, body = http_json("GET", f"{stack.base}/api/notifications?since=0", token=person["access_token"])
    assert status == 200, body
    return [n["kind"] for n in body["items"]]


def test_preferences_decide_inbox_and_email(mail_stack: Stack) -> None:
    stack = mail_stack
    host = register_person(stack.base, ["facilitator"], "Mia Mail")
    guest = register_person(stack.base, ["user"], "Gil Guest")
    status, body = http_json("GET", f"{stack.base}/api/notifications/preferences", token=host["access_token"])
    assert (
        status == 200
        and body["preferences"]["booking.created"] == "in_app"
        and "session.reminder" in body["preferences"]
    )
    saved = _prefs(stack, host, {"booking.created": "email", "booking.cancelled": "none"})
    assert saved["preferences"]["booking.created"] == "email"
    bad = http_json(
        "PUT",
        f"{stack.base}/api/notifications/preferences",
        {"preferences": {"nope": "email"}},
        token=host["access_token"],
    )
    assert bad[0] == 422 and "preferences.nope" in bad[1]["errors"]

    listing = _session(stack, host, datetime(2031, 7, 1, 18, tzinfo=UTC), "Mail jam")
    booking = _book(stack, guest, listing["id"])
    mails = _wait_mails(stack, host["email"], 1)
    assert len(mails) == 1 and mails[0].subject == "New booking: Mail jam" and "Gil Guest" in mails[0].text
    assert "<p" in mails[0].html
    assert (
        http_json("POST", f"{stack.base}/api/bookings/{booking['id']}/cancel", {}, token=guest["access_token"])[0]
        == 200
    )
    time.sleep(DIGEST_WINDOW_S + 2)
    assert len(_mails_to(stack, host["email"])) == 1  # "none": no mail for the cancellation
    assert _inbox_kinds(stack, host) == []  # email only, then nothing: the inbox stays empty
    assert _mails_to(stack, guest["email"]) == []  # the guest never chose email
    assert "booking.confirmed" in _inbox_kinds(stack, guest)


def test_a_burst_of_bookings_becomes_one_digest(mail_stack: Stack) -> None:
    stack = mail_stack
    host = register_person(stack.base, ["facilitator"], "Dora Digest")
    _prefs(stack, host, {"booking.created": "both"})
    listing = _session(stack, host, datetime(2031, 7, 2, 18, tzinfo=UTC), "Digest jam")
    with ThreadPoolExecutor(5) as pool:
        guests = list(pool.map(lambda i: register_person(stack.base, ["user"], f"Burst {i}"), range(5)))
    for guest in guests:
        _book(stack, guest, listing["id"])
    mails = _wait_mails(stack, host["email"], 1)
    time.sleep(DIGEST_WINDOW_S * 2)  # a second mail would be out by now
    mails = _mails_to(stack, host["email"])
    assert len(mails) == 1
    assert mails[0].subject == "5 new notifications on Downbeat"
    assert all(f"Burst {i}" in mails[0].text for i in range(5))
    assert _inbox_kinds(stack, host) == ["booking.created"] * 5  # "both": the inbox has them too

    with urllib.request.urlopen(f"{stack.url('notifications')}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'downbeat_consumer_lag{topic="booking.events",partition="0"}' in metrics
    sent = next(line for line in metrics.splitlines() if line.startswith("downbeat_emails_sent_total"))
    assert int(sent.split()[1]) >= 1


def test_everyone_booked_gets_a_reminder_before_the_session(mail_stack: Stack) -> None:
    stack = mail_stack
    host = register_person(stack.base, ["facilitator"], "Rex Reminder")
    guest = register_person(stack.base, ["user"], "Rae Reminded")
    starts = datetime.now(UTC) + timedelta(minutes=60, seconds=4)  # the 1 h reminder is due in 4 s
    listing = _session(stack, host, starts.replace(microsecond=0), "Reminder jam")
    _book(stack, guest, listing["id"])
    deadline = time.monotonic() + 30
    while "session.reminder" not in (kinds := _inbox_kinds(stack, guest)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert kinds.count("session.reminder") == 1
    time.sleep(2)
    assert _inbox_kinds(stack, guest).count("session.reminder") == 1  # once
