"""Who hears what, for every event type (pure rules, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import (
    ALL_EVENT_TYPES,
    BookingCreated,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    StreamEnded,
    StreamStarted,
    TrackUploaded,
    VisualParams,
)
from notification_service.rules import drafts_for
from tests.contracts.test_codec import EXAMPLES

OWNER, ATTENDEE, REQUESTER, MUSICIAN = 3, 4, 7, 8
EXPECTED = {
    "booking.created": {OWNER, ATTENDEE},
    "booking.waitlisted": {OWNER, ATTENDEE},
    "booking.promoted": {OWNER, ATTENDEE},
    "booking.payment_confirmed": {OWNER, ATTENDEE},
    "booking.cancelled": {OWNER},  # the attendee cancelled it themselves
    "booking.refunded": {ATTENDEE},
    "session.cancelled": {ATTENDEE, 9},  # everyone booked
    "request.sent": {MUSICIAN},
    "request.accepted": {REQUESTER},
    "request.declined": {REQUESTER},
    "request.cancelled": {MUSICIAN},  # the requester (7) cancelled: the musician is told
    "request.expired": {REQUESTER, MUSICIAN},
    "request.reschedule_proposed": {REQUESTER},  # the musician (8) proposed
    "request.reschedule_accepted": {MUSICIAN},  # the requester accepted
    "request.reschedule_declined": {MUSICIAN},
    "file.version_added": {REQUESTER, 12},  # the event's recipients (the musician uploaded)
    "file.comment_added": {MUSICIAN, 12},  # recipients and the mentioned, never the author
    "deliverable.submitted": {REQUESTER},  # the producer
    "deliverable.approved": {MUSICIAN},
    "deliverable.changes_requested": {MUSICIAN},
}
SILENT = (StreamStarted, StreamEnded, VisualParams, TrackUploaded)
# Who hears a message depends on each recipient's flags: test_message_rules.py covers them.
BY_RECIPIENT_FLAGS = (MessagePosted, MessageEdited, MessageDeleted)


@pytest.mark.parametrize(
    "event", [e for e in EXAMPLES if not isinstance(e, SILENT + BY_RECIPIENT_FLAGS)], ids=lambda e: e.type
)
def test_the_right_people_hear_each_event(event: object) -> None:
    drafts = drafts_for(event)  # type: ignore[arg-type]
    assert {d.user_id for d in drafts} == EXPECTED[event.type]  # type: ignore[attr-defined]
    for draft in drafts:
        assert draft.title and draft.body and draft.kind


def test_every_notifiable_event_type_has_a_rule() -> None:
    notifiable = {t.model_fields["type"].default for t in ALL_EVENT_TYPES if t not in SILENT + BY_RECIPIENT_FLAGS}
    assert notifiable == set(EXPECTED)


def test_owner_cancelling_or_hold_expiry_tells_the_attendee() -> None:
    from contracts import BookingCancelled
    from tests.contracts.test_codec import _BOOKING

    for by in ("owner", "system"):
        event = BookingCancelled(**_BOOKING, cancelled_by=by, previous_status="confirmed")  # type: ignore[arg-type]
        assert {d.user_id for d in drafts_for(event)} == {OWNER, ATTENDEE}


def test_money_and_policy_read_as_sentences() -> None:
    from contracts import Money
    from notification_service.rules import _money, _sentence

    assert _money(Money(amount=1500, currency="EUR")) == "€15.00"
    assert _money(Money(amount=123456, currency="CHF")) == "1,234.56 CHF"
    assert _sentence("full refund (cancelled 48 h or more before the start)") == (
        "Full refund (cancelled 48 h or more before the start)."
    )
    assert _sentence("Teacher is ill") == "Teacher is ill." and _sentence("Done!") == "Done!" and _sentence(" ") == ""


def test_a_free_session_cancelled_promises_no_refund() -> None:
    from contracts import Money, SessionCancelled

    def body(price: Money | None) -> str:
        event = SessionCancelled(
            session_id=1, session_title="Jam", owner_id=3, starts_at=datetime(2031, 5, 1, tzinfo=UTC),
            reason="teacher is ill", attendee_ids=[4], price=price,
        )  # fmt: skip
        (draft,) = drafts_for(event)
        return draft.body

    assert body(Money(amount=0, currency="EUR")) == "The organiser cancelled Jam: Teacher is ill."
    assert body(Money(amount=1500, currency="EUR")).endswith("Teacher is ill. Any payment is refunded in full.")
    assert body(None).endswith("Any payment is refunded in full.")  # older events: maybe paid


def _booking(**overrides: object) -> BookingCreated:
    fields: dict[str, object] = dict(
        booking_id=1,
        session_id=2,
        session_title="Drums",
        owner_id=10,
        attendee_id=20,
        attendee_name="Ana",
        seats=2,
        status="confirmed",
        starts_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    fields.update(overrides)
    return BookingCreated(**fields)  # type: ignore[arg-type]


def test_owner_and_attendee_hear_about_a_booking() -> None:
    drafts = drafts_for(_booking())
    assert [(d.user_id, d.kind) for d in drafts] == [(10, "booking.created"), (20, "booking.confirmed")]
    assert "Ana booked 2 seats in Drums" in drafts[0].body
    assert drafts[0].data["session_id"] == 2


def test_pending_payment_is_said_as_such() -> None:
    drafts = drafts_for(_booking(status="pending_payment"))
    assert drafts[1].kind == "booking.pending_payment"
