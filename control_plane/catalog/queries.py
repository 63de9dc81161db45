"""Read shapes of the catalog shared by the API and the pages: a booking as the API shows it,
a waitlist place, the viewer's live bookings, the published sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.db.types import DB
from control_plane.payments.models import Payment

__all__ = ["booking_json", "live_bookings_of", "payment_of", "published_sessions", "waitlist_position"]


def waitlist_position(db: DB, booking: Booking) -> int:
    """1 for the first in line; places are ranked by booking id (first come first served)."""
    ahead = select(func.count()).where(
        Booking.session_id == booking.session_id, Booking.status == "waitlisted", Booking.id <= booking.id
    )
    return int(db.scalar(ahead) or 1)


def booking_json(db: DB, booking: Booking) -> dict[str, Any]:
    """A booking with its session, its latest payment and (waitlisted) its place in line."""
    body: dict[str, Any] = {**booking.to_json(), "session": booking.session.to_json()}
    payment = None
    if booking.amount > 0:  # free bookings never have a payment: skip the query
        payment = db.scalar(select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id.desc()))
    body["payment"] = payment.to_json() if payment is not None else None
    if booking.status == "waitlisted":
        body["waitlist_position"] = waitlist_position(db, booking)
    return body


def live_bookings_of(db: DB, user_id: int, session_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The user's live booking (or waitlist place) per session, as the bookings API shows it."""
    if not session_ids:
        return {}
    rows = db.scalars(
        select(Booking)
        .where(Booking.user_id == user_id, Booking.session_id.in_(session_ids), Booking.status != "cancelled")
        .order_by(Booking.id)
    )
    return {row.session_id: booking_json(db, row) for row in rows}


def published_sessions(db: DB, limit: int) -> list[dict[str, Any]]:
    """Published sessions, soonest first."""
    stmt = (
        select(CatalogSession)
        .where(CatalogSession.status == "published")
        .order_by(CatalogSession.starts_at, CatalogSession.id)
        .limit(limit)
    )
    return [row.to_json() for row in db.scalars(stmt)]


def payment_of(db: DB, provider_ref: str, user_id: int) -> tuple[Payment, Booking] | None:
    """A seat payment and its booking, only if the booking is the user's (else None: a 404)."""
    payment: Payment | None = db.scalar(select(Payment).where(Payment.provider_ref == provider_ref))
    booking = db.get(Booking, payment.booking_id) if payment else None
    if payment is None or booking is None or booking.user_id != user_id:
        return None
    return payment, booking
