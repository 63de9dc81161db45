"""What a calendar shows: a plain value type (bookings, hosted sessions, engagements), and the
items of a booking and of a hosted session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from control_plane.catalog.models import Booking, CatalogSession

__all__ = ["CalendarItem", "booking_item", "hosting_item"]


@dataclass(frozen=True)
class CalendarItem:
    uid: str  # stable across feeds, e.g. "booking-12@downbeat"
    title: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    timezone: str  # IANA zone the event happens in
    location: str = ""
    description: str = ""
    kind: str = "booking"  # "booking" or "engagement"
    url: str = ""  # where the item lives in the web UI
    cancelled: bool = False  # exported as STATUS:CANCELLED, so a calendar that has it drops it
    tentative: bool = False  # a waitlist place or an unpaid hold: STATUS:TENTATIVE, no seat yet
    updated_at: datetime | None = None  # the last change, for SEQUENCE (clients take the highest)


def _session_item(listing: CatalogSession, **fields: Any) -> CalendarItem:
    """The session's own when, where and what; the caller says whose item it is and its state."""
    return CalendarItem(
        starts_at=listing.starts_at,
        ends_at=listing.ends_at,
        timezone=listing.timezone,
        location=listing.location,
        description=listing.description,
        url=f"/sessions/{listing.id}",
        **fields,
    )


def booking_item(booking: Booking) -> CalendarItem:
    listing = booking.session
    status = "" if booking.status in ("confirmed", "cancelled") else f" ({booking.status.replace('_', ' ')})"
    return _session_item(
        listing,
        uid=f"booking-{booking.id}@downbeat",
        title=listing.title + status,
        cancelled=booking.status == "cancelled" or listing.status == "cancelled",
        tentative=booking.status in ("waitlisted", "pending_payment"),
        updated_at=max(booking.updated_at, listing.updated_at),
        kind="booking",
    )


def hosting_item(listing: CatalogSession) -> CalendarItem:
    """A session the person hosts: in their week and feed too, since they have to be there."""
    return _session_item(
        listing,
        uid=f"hosting-{listing.id}@downbeat",
        title=f"Hosting: {listing.title}",
        cancelled=listing.status == "cancelled",
        updated_at=listing.updated_at,
        kind="hosting",
    )
