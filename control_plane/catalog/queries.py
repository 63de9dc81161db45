"""Read shapes of the catalog shared by the API and the pages: a booking as the API shows it,
a waitlist place, the viewer's live bookings, the published sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select

from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.db.types import DB
from control_plane.kits.http.pagination import after, encode
from control_plane.payments.models import Payment

__all__ = [
    "booking_json",
    "bookings_of",
    "find_sessions",
    "live_bookings_of",
    "own_booking",
    "payment_of",
    "published_sessions",
    "session_bookings",
    "waitlist_position",
]


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


def own_booking(db: DB, user_id: int, booking_id: int) -> Booking | None:
    """The user's booking, or None (another person's booking does not exist for them)."""
    booking = db.get(Booking, booking_id)
    return booking if booking is not None and booking.user_id == user_id else None


def bookings_of(
    db: DB, user_id: int, when: Literal["upcoming", "past", "all"], cursor: str | None, limit: int, now: datetime
) -> tuple[list[Booking], str | None]:
    """A page of the user's bookings: upcoming (live ones, soonest first), past (newest first)
    or all; and the cursor of the next page."""
    stmt = select(Booking).join(CatalogSession).where(Booking.user_id == user_id)
    past = when == "past"
    if when == "upcoming":
        stmt = stmt.where(CatalogSession.ends_at >= now, Booking.status != "cancelled")
    elif past:
        stmt = stmt.where(CatalogSession.ends_at < now)
    stmt = after(stmt, cursor, CatalogSession.starts_at, Booking.id, newest_first=past)
    first = CatalogSession.starts_at.desc() if past else CatalogSession.starts_at
    rows = list(db.scalars(stmt.order_by(first, Booking.id).limit(limit + 1)))
    page = rows[:limit]
    next_cursor = encode(page[-1].session.starts_at, page[-1].id) if len(rows) > limit else None
    return page, next_cursor


def find_sessions(
    db: DB,
    *,
    owner_id: int | None,
    status: str | None,
    kind: str | None,
    starts_before: datetime | None,
    ends_after: datetime | None,
    words: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[CatalogSession], str | None]:
    """Sessions soonest first: the owner's own (any status, or ``status``) when ``owner_id`` is
    given, else public ones (published by default; cancelled ones were public once)."""
    stmt = select(CatalogSession).order_by(CatalogSession.starts_at, CatalogSession.id)
    if owner_id is not None:
        stmt = stmt.where(CatalogSession.owner_id == owner_id)
        if status:
            stmt = stmt.where(CatalogSession.status == status)
    else:
        stmt = stmt.where(CatalogSession.status == (status or "published"))
    if kind:
        stmt = stmt.where(CatalogSession.kind == kind)
    if ends_after:
        stmt = stmt.where(CatalogSession.ends_at >= ends_after)
    if starts_before:
        stmt = stmt.where(CatalogSession.starts_at <= starts_before)
    if words:
        # The words are matched as typed: % and _ are not wildcards here.
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        stmt = stmt.where(
            or_(CatalogSession.title.ilike(like, escape="\\"), CatalogSession.description.ilike(like, escape="\\"))
        )
    stmt = after(stmt, cursor, CatalogSession.starts_at, CatalogSession.id)
    rows = list(db.scalars(stmt.limit(limit + 1)))
    page = rows[:limit]
    return page, encode(page[-1].starts_at, page[-1].id) if len(rows) > limit else None


def session_bookings(db: DB, session_id: int, after_id: int, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Who booked a session, in booking order (the host's view), and the next page's cursor."""
    stmt = select(Booking).where(Booking.session_id == session_id, Booking.id > after_id)
    rows = list(db.scalars(stmt.order_by(Booking.id).limit(limit + 1)))
    page = rows[:limit]
    items = [{**b.to_json(), "user": {"id": b.user.id, "name": b.user.name}} for b in page]
    return items, str(page[-1].id) if len(rows) > limit else None
