"""RFC 5545 output: each event in its own time zone, with the VTIMEZONE it needs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from control_plane.calendars.items import CalendarItem
from control_plane.catalog.models import Booking

__all__ = ["booking_item", "render_calendar"]

PRODID = "-//Downbeat//Bookings//EN"


def booking_item(booking: Booking) -> CalendarItem:
    listing = booking.session
    status = "" if booking.status == "confirmed" else f" ({booking.status.replace('_', ' ')})"
    return CalendarItem(
        uid=f"booking-{booking.id}@downbeat",
        title=listing.title + status,
        starts_at=listing.starts_at,
        ends_at=listing.ends_at,
        timezone=listing.timezone,
        location=listing.location,
        description=listing.description,
        kind="booking",
        url=f"/sessions/{listing.id}",
    )


def render_calendar(items: Iterable[CalendarItem], *, name: str = "Downbeat", stamp: datetime | None = None) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for item in items:
        zone = ZoneInfo(item.timezone)
        event = Event()
        event.add("uid", item.uid)
        event.add("summary", item.title)
        # Local times with TZID, so clients show the session in the zone it happens in.
        event.add("dtstart", item.starts_at.astimezone(zone))
        event.add("dtend", item.ends_at.astimezone(zone))
        event.add("dtstamp", (stamp or item.starts_at).astimezone(ZoneInfo("UTC")))
        if item.location:
            event.add("location", item.location)
        if item.description:
            event.add("description", item.description)
        event.add("categories", [item.kind])
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
