"""RFC 5545 output: each event in its own time zone, with the VTIMEZONE it needs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from control_plane.calendars.queries.items import CalendarItem

__all__ = ["ics_filename", "render_calendar"]

PRODID = "-//Downbeat//Bookings//EN"
SEQUENCE_EPOCH = 1_767_225_600  # 2026-01-01: keeps SEQUENCE a small, growing integer
# Control characters may not appear in a content line (RFC 5545 3.3.11); text stored before the
# API refused them is cleaned on the way out rather than breaking a whole feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> str:
    return _CONTROL.sub("", value)


def _line(value: str) -> str:
    return " ".join(_text(value).split())


def _sequence(item: CalendarItem) -> int:
    """Grows with every change, so a client that imported the event takes the new version: the
    second of the last change, with the state's rank in the low bits, so a hold confirmed or a
    booking cancelled within the same second still counts as newer (tentative, confirmed, cancelled)."""
    assert item.updated_at is not None
    rank = 2 if item.cancelled else 0 if item.tentative else 1
    return 4 * (int(item.updated_at.timestamp()) - SEQUENCE_EPOCH) + rank


def render_calendar(items: Iterable[CalendarItem], *, name: str = "Downbeat", stamp: datetime | None = None) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # One line: the name comes from people (a title, a user's name), and a content line cannot break.
    calendar.add("x-wr-calname", _line(name))
    stamp = stamp or datetime.now(UTC)
    for item in items:
        zone = ZoneInfo(item.timezone)
        event = Event()
        event.add("uid", item.uid)
        event.add("summary", _line(item.title))
        # Local times with TZID, so clients show the session in the zone it happens in.
        event.add("dtstart", item.starts_at.astimezone(zone))
        event.add("dtend", item.ends_at.astimezone(zone))
        event.add("dtstamp", stamp.astimezone(UTC))  # when this file was made (RFC 5545 3.8.7.2)
        if item.updated_at is not None:
            event.add("sequence", _sequence(item))
        event.add("status", "CANCELLED" if item.cancelled else "TENTATIVE" if item.tentative else "CONFIRMED")
        if item.location:
            event.add("location", _line(item.location))
        if item.description:
            event.add("description", _text(item.description))
        event.add("categories", [item.kind])
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def ics_filename(title: str, starts_at: datetime) -> str:
    """``sunday-drum-circle-2031-05-01.ics``: what the file is, in a name any file system takes
    (ASCII letters and digits only, so the header needs no RFC 5987 encoding)."""
    words = re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower())
    stem = "-".join(words)[:60].strip("-") or "session"
    return f"{stem}-{starts_at.date().isoformat()}.ics"
