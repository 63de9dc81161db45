from __future__ import annotations

from datetime import UTC, datetime

from contracts import BookingCreated
from control_plane.rooms.schemas import ALPHABET, new_code, normalise_code
from notification_service.rules import drafts_for


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


def test_room_codes_avoid_look_alikes_and_normalise() -> None:
    assert not set("01OIL") & set(ALPHABET)
    codes = {new_code() for _ in range(500)}
    assert all(len(c) == 6 and set(c) <= set(ALPHABET) for c in codes)
    assert len(codes) > 490
    assert normalise_code(" abcdef ") == "ABCDEF"
    assert normalise_code("ABCDE0") is None
    assert normalise_code("ABC") is None
