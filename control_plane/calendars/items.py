"""What a calendar shows: a plain value type every area can produce (bookings, engagements)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["CalendarItem"]


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
