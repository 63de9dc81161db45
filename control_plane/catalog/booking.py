"""Booking a seat: the rules, apart from HTTP.

The capacity guard is a single conditional UPDATE (``seats_taken + n <= capacity``), so the
database decides under any concurrency, the way pretix guards its quotas; a CHECK constraint
backs it up. One live booking per person per session is a partial unique index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from contracts import BookingCreated
from control_plane.accounts.models import User
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.outbox.writer import add_event

__all__ = ["BookSeat", "BookingRefused", "book_seat"]


class BookingRefused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass(frozen=True)
class BookSeat:
    session_id: int
    seats: int = 1
    notes: str = ""


def book_seat(db: Session | scoped_session[Any], user: User, command: BookSeat) -> Booking:
    """Stage a booking and its ``booking.created`` event; the caller commits both together."""
    listing = db.get(CatalogSession, command.session_id)
    if listing is None or (listing.status == "draft" and listing.owner_id != user.id):
        raise BookingRefused(404, "session-not-found", f"Session {command.session_id} does not exist")
    if listing.status != "published":
        raise BookingRefused(
            409, "session-not-bookable", f"Session {listing.id} is {listing.status}, not open for booking"
        )
    active = select(Booking.id).where(
        Booking.session_id == listing.id, Booking.user_id == user.id, Booking.status != "cancelled"
    )
    if db.scalar(active) is not None:
        raise BookingRefused(409, "already-booked", "You already hold a booking for this session")
    taken = db.execute(
        update(CatalogSession)
        .where(
            CatalogSession.id == listing.id,
            CatalogSession.status == "published",
            CatalogSession.seats_taken + command.seats <= CatalogSession.capacity,
        )
        .values(seats_taken=CatalogSession.seats_taken + command.seats)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise BookingRefused(409, "session-full", f"Session {listing.id} has no {command.seats} seat(s) left")
    status = "pending_payment" if listing.price_amount > 0 else "confirmed"
    booking = Booking(session_id=listing.id, user_id=user.id, seats=command.seats, status=status, notes=command.notes)
    db.add(booking)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()  # undoes the seat update too
        raise BookingRefused(409, "already-booked", "You already hold a booking for this session") from None
    db.refresh(listing)
    add_event(
        db,
        BookingCreated(
            booking_id=booking.id,
            session_id=listing.id,
            session_title=listing.title,
            owner_id=listing.owner_id,
            attendee_id=user.id,
            attendee_name=user.name,
            seats=booking.seats,
            status=status,  # type: ignore[arg-type]
            starts_at=listing.starts_at,
        ),
    )
    return booking
