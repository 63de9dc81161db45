"""Seat bookings and sessions: every state change is one event, keyed by session id so a
session's history stays in order."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from contracts.base import EventBase, Money

__all__ = [
    "BookingCancelled",
    "BookingCreated",
    "BookingEvent",
    "BookingPaymentConfirmed",
    "BookingPromoted",
    "BookingRefunded",
    "BookingWaitlisted",
    "SessionCancelled",
]


class BookingEvent(EventBase):
    KEY_FIELD: ClassVar[str] = "session_id"
    booking_id: int = Field(ge=1)
    session_id: int = Field(ge=1)
    session_title: str = Field(min_length=1, max_length=200)
    owner_id: int = Field(ge=1)
    attendee_id: int = Field(ge=1)
    attendee_name: str = Field(min_length=1, max_length=120)
    starts_at: AwareDatetime


class BookingCreated(BookingEvent):
    """A seat was booked (confirmed, or held pending payment)."""

    type: Literal["booking.created"] = "booking.created"
    seats: int = Field(ge=1, le=100)
    status: Literal["confirmed", "pending_payment"]


class BookingWaitlisted(BookingEvent):
    type: Literal["booking.waitlisted"] = "booking.waitlisted"
    position: int = Field(ge=1)


class BookingPromoted(BookingEvent):
    """A freed seat went to the first person on the waitlist."""

    type: Literal["booking.promoted"] = "booking.promoted"
    status: Literal["confirmed", "pending_payment"]


class BookingPaymentConfirmed(BookingEvent):
    type: Literal["booking.payment_confirmed"] = "booking.payment_confirmed"
    amount: Money


class BookingCancelled(BookingEvent):
    type: Literal["booking.cancelled"] = "booking.cancelled"
    cancelled_by: Literal["attendee", "owner", "system"]
    previous_status: Literal["confirmed", "pending_payment", "waitlisted"]
    reason: str = Field(default="", max_length=500)


class BookingRefunded(BookingEvent):
    type: Literal["booking.refunded"] = "booking.refunded"
    amount: Money
    policy: str = Field(max_length=200)


class SessionCancelled(EventBase):
    """The owner cancelled the whole session; every booking went with it."""

    KEY_FIELD: ClassVar[str] = "session_id"
    type: Literal["session.cancelled"] = "session.cancelled"
    session_id: int = Field(ge=1)
    session_title: str = Field(min_length=1, max_length=200)
    owner_id: int = Field(ge=1)
    starts_at: AwareDatetime
    reason: str = Field(default="", max_length=500)
    attendee_ids: list[int] = Field(max_length=100_000)
    # The seat price, so the message says "refunded in full" only where there was something to
    # pay (optional: events written before this field read as "maybe paid").
    price: Money | None = None
