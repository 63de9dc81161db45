"""Accepted engagements as calendar items, for the musician and for the requester."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, scoped_session

from control_plane.calendars.queries.items import CalendarItem
from control_plane.musicians.models import BookingRequest

__all__ = ["engagements_for"]


def engagements_for(session: Session | scoped_session[Any], user_id: int) -> list[CalendarItem]:
    """Every accepted engagement ``user_id`` plays in or booked, in start order."""
    rows = session.scalars(
        select(BookingRequest)
        .where(
            BookingRequest.status == "accepted",
            or_(BookingRequest.musician_id == user_id, BookingRequest.requester_id == user_id),
        )
        .order_by(BookingRequest.starts_at, BookingRequest.id)
    )
    return [_item(row, user_id) for row in rows]


# ISO 4217 currencies without minor units (the rest here have two).
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "XAF"})


def _money(amount: int, currency: str) -> str:
    return f"{amount} {currency}" if currency in _ZERO_DECIMAL else f"{amount / 100:.2f} {currency}"


def _item(row: BookingRequest, user_id: int) -> CalendarItem:
    offer = _money(row.offer_amount, row.offer_currency)
    if row.musician_id == user_id:
        title = f"{row.project.title}: {row.instrument}"
        description = f"Booked by {row.requester.name} for {row.instrument}. Fee {offer}."
    else:
        title = f"{row.project.title}: {row.musician.name} ({row.instrument})"
        description = f"{row.musician.name} plays {row.instrument}. Fee {offer}."
    return CalendarItem(
        uid=f"request-{row.id}@downbeat",
        title=title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.project.timezone,
        location=row.project.location,
        description=description,
        kind="engagement",
        # The owner's project page; the musician answers from the inbox.
        url=f"/projects/{row.project_id}" if row.musician_id != user_id else "/requests",
        updated_at=row.updated_at,
    )
