"""The notification service's store, reminders and mail queue against real SQLite and a real
SMTP sink (aiosmtpd), without Kafka: the parts the faust app only wires together."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from contracts import BookingCancelled, BookingCreated
from downbeat.mailsink import MailSink, read_mails
from notification_service.mail import MailQueue, MailSender, QueuedMail, SmtpMailSender, compose
from notification_service.reminders import ReminderBook, reminder_draft
from notification_service.store import Draft, InboxStore
from tests.support.services import free_port

OWNER, GUEST = 3, 4


@pytest.fixture
def store(tmp_path: Path) -> InboxStore:
    return InboxStore.from_url(f"sqlite:///{tmp_path / 'notifications.db'}")


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    controller = Controller(MailSink(tmp_path / "mail"), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, tmp_path / "mail"
    finally:
        controller.stop()


def _draft(user_id: int = OWNER, kind: str = "booking.created", n: int = 1) -> Draft:
    return Draft(user_id, kind, f"New booking {n}", f"Guest {n} booked a seat.", {"n": n})


def test_recording_is_idempotent_and_carries_the_epoch(store: InboxStore) -> None:
    first = store.record("e1", [_draft()])
    again = store.record("e1", [_draft()])
    assert first[0].new and not again[0].new
    assert first[0].notification == again[0].notification
    message = first[0].notification.to_message()  # type: ignore[union-attr]
    assert message.epoch == store.epoch() and len(message.epoch) == 32
    assert store.unread_count(OWNER) == 1 and store.last_id(OWNER) == message.id
    assert store.mark_all_read(OWNER) == 1 and store.unread_count(OWNER) == 0


def test_preferences_choose_inbox_mail_both_or_nothing(store: InboxStore) -> None:
    assert store.preferences(OWNER)["booking.created"] == "in_app"  # the default
    store.set_preferences(
        OWNER,
        "owner@example.test",
        {"booking.created": "email", "booking.cancelled": "both", "booking.paid": "none"},
    )
    email_only, both, off, default = (
        store.record(f"e-{kind}", [_draft(kind=kind)])[0]
        for kind in ("booking.created", "booking.cancelled", "booking.paid", "booking.waitlisted")
    )
    assert email_only.notification is None and email_only.mail_queued
    assert both.notification is not None and both.mail_queued
    assert off.notification is None and not off.mail_queued
    assert default.notification is not None and not default.mail_queued
    assert not store.record("e-booking.created", [_draft()])[0].mail_queued  # queued once per event


def _created(booking_id: int, starts_at: datetime) -> BookingCreated:
    return BookingCreated(
        booking_id=booking_id,
        session_id=7,
        session_title="Drum circle",
        owner_id=OWNER,
        attendee_id=GUEST,
        attendee_name="Gus",
        seats=1,
        status="confirmed",
        starts_at=starts_at,
    )


def test_reminders_go_out_once_per_window_and_not_after_a_cancellation(store: InboxStore) -> None:
    book = ReminderBook(store, (1440, 60))
    now = datetime.now(UTC)
    starts = now + timedelta(hours=2)
    kept, cancelled = _created(1, starts), _created(2, starts)
    for event in (kept, kept, cancelled):  # a redelivered event schedules nothing twice
        book.apply(event)
    book.apply(
        BookingCancelled(
            booking_id=2,
            session_id=7,
            session_title="Drum circle",
            owner_id=OWNER,
            attendee_id=GUEST,
            attendee_name="Gus",
            starts_at=starts,
            cancelled_by="attendee",
            previous_status="confirmed",
        )
    )
    assert book.send_due(now) == []  # the 1 h reminder is due in an hour; the 24 h one was already past
    sent = book.send_due(starts - timedelta(minutes=59))
    assert [r.notification.user_id for r in sent if r.notification] == [GUEST]
    assert sent[0].notification is not None and sent[0].notification.kind == "session.reminder"
    assert "about 1 hour" in sent[0].notification.body
    assert book.send_due(starts - timedelta(minutes=30)) == []  # once


def test_a_reminder_stored_but_not_marked_sent_is_not_stored_twice(store: InboxStore) -> None:
    book = ReminderBook(store, (60,))
    starts = datetime.now(UTC) + timedelta(hours=2)
    book.apply(_created(5, starts))
    due = book.due(starts)
    first = store.record(due[0].key, [reminder_draft(due[0])])  # the worker died right after this
    after_restart = book.send_due(starts - timedelta(minutes=10))
    assert first[0].new and not after_restart[0].new
    assert after_restart[0].notification == first[0].notification


def _queue(store: InboxStore, count: int, address: str = "owner@example.test") -> None:
    store.set_preferences(OWNER, address, {"booking.created": "email"})
    for i in range(count):
        store.record(f"burst-{i}", [_draft(n=i)])


def test_a_burst_becomes_one_digest(store: InboxStore, sink: tuple[int, Path]) -> None:
    port, folder = sink
    queue = MailQueue(
        store.engine, SmtpMailSender("127.0.0.1", port), sender="d@x.test", public_url="http://x", window_s=10
    )
    _queue(store, 5)
    now = datetime.now(UTC)
    assert queue.send_due(now) == 0  # the first mail waits one window for the rest of the burst
    assert queue.send_due(now + timedelta(seconds=11)) == 1
    assert queue.send_due(now + timedelta(seconds=12)) == 0
    mails = read_mails(folder)
    assert len(mails) == 1 and mails[0].subject == "5 new notifications on Downbeat"
    assert all(f"New booking {i}" in mails[0].text for i in range(5)) and "New booking 4" in mails[0].html
    store.record("late", [_draft(n=9)])  # arrives after a mail went out: waits a window after it
    assert queue.send_due(now + timedelta(seconds=13)) == 0
    assert queue.send_due(now + timedelta(seconds=23)) == 1
    assert read_mails(folder)[0].subject == "New booking 9"


class AcceptThenCrash:
    """The SMTP server accepted the message, then the worker died before marking it sent."""

    def __init__(self, real: SmtpMailSender) -> None:
        self.real = real

    def send(self, message: EmailMessage) -> None:
        self.real.send(message)
        raise OSError("connection lost after the server accepted the message")


def test_a_crash_after_the_server_accepted_resends_the_identical_message(
    store: InboxStore, sink: tuple[int, Path]
) -> None:
    port, folder = sink
    real = SmtpMailSender("127.0.0.1", port)

    def queue(sender: MailSender) -> MailQueue:
        return MailQueue(store.engine, sender, sender="d@x.test", public_url="http://x", window_s=1, retry_s=30)

    _queue(store, 2)
    now = datetime.now(UTC)
    assert queue(AcceptThenCrash(real)).send_due(now + timedelta(seconds=2)) == 0
    restarted = queue(real)
    assert restarted.send_due(now + timedelta(seconds=10)) == 0  # not before the retry delay
    assert restarted.send_due(now + timedelta(seconds=40)) == 1
    assert restarted.send_due(now + timedelta(seconds=80)) == 0
    stored = list(folder.glob("*.eml"))
    assert len(stored) == 1  # same Message-ID both times: the sink keeps it once
    parsed = email.message_from_bytes(stored[0].read_bytes(), policy=email.policy.default)
    assert parsed["X-Downbeat-Count"] == "2"


def test_mail_subjects_are_single_lines() -> None:
    message = compose(
        "a@b.c",
        "d@e.f",
        [QueuedMail("booking.created", "New booking: Jam\nNight\u2028x", "b")],
        "attempt1",
        "http://x",
        datetime.now(UTC),
    )
    assert message["Subject"] == "New booking: Jam Night x"
