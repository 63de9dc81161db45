"""What a person's calendar holds (confirmed bookings, the sessions they host, accepted
engagements), and whose calendar a private feed link opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.calendars.queries.engagements import engagements_for
from control_plane.calendars.queries.items import CalendarItem, booking_item, hosting_item
from control_plane.catalog.models import Booking, CatalogSession

__all__ = ["MIN_TOKEN_LENGTH", "feed_owner", "items_for"]

# Every feed token is longer (services/feed_link.py): a shorter one cannot match, so it costs no query.
MIN_TOKEN_LENGTH = 32


def feed_owner(db: Session | scoped_session[Any], token: str) -> User | None:
    """Whose feed the secret ``token`` opens; None for a revoked or made-up one."""
    if len(token) < MIN_TOKEN_LENGTH:
        return None
    return db.scalar(select(User).where(User.calendar_token == token))


def items_for(
    db: Session | scoped_session[Any], user_id: int, start: datetime | None = None, end: datetime | None = None
) -> list[CalendarItem]:
    stmt = (
        select(Booking)
        .join(CatalogSession)
        .where(Booking.user_id == user_id, Booking.status == "confirmed", CatalogSession.status == "published")
    )
    items = [booking_item(b) for b in db.scalars(_within(stmt, start, end))]
    hosted = select(CatalogSession).where(CatalogSession.owner_id == user_id, CatalogSession.status == "published")
    items += [hosting_item(listing) for listing in db.scalars(_within(hosted, start, end))]
    items += _engagements(db, user_id, start, end)
    return sorted(items, key=lambda item: item.starts_at)


def _within(stmt: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    """Sessions that overlap [start, end)."""
    if start is not None:
        stmt = stmt.where(CatalogSession.ends_at >= start)
    if end is not None:
        stmt = stmt.where(CatalogSession.starts_at < end)
    return stmt


def _engagements(
    db: Session | scoped_session[Any], user_id: int, start: datetime | None, end: datetime | None
) -> list[CalendarItem]:
    return [
        item
        for item in engagements_for(db, user_id)
        if (start is None or item.ends_at >= start) and (end is None or item.starts_at < end)
    ]
