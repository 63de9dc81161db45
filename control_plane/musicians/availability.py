"""When a musician can be booked: weekly recurring windows plus dated exceptions, in the
musician's time zone. Pure: values in, a verdict out; no database, no Flask.

Rule (API.md): a request is inside availability when its whole ``[starts_at, ends_at)``, seen
on the musician's wall clock, lies inside one window, and no "unavailable" exception overlaps
it. Windows that touch (Friday 20:00-24:00 and Saturday 00:00-03:00) count as one, so a gig
across midnight fits. A musician who set no availability at all counts as unavailable.

Weekdays are 0 = Monday ... 6 = Sunday (Python's ``date.weekday()``). Times are ``"HH:MM"``;
``"24:00"`` is allowed as an end and means midnight at the end of the day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DAY_MINUTES",
    "WEEKDAYS",
    "Availability",
    "DatedException",
    "Unavailable",
    "WeeklyWindow",
    "format_hhmm",
    "parse_hhmm",
    "why_unavailable",
]

DAY_MINUTES = 24 * 60
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_hhmm(value: str, *, allow_end_of_day: bool = False) -> int:
    """``"09:30"`` -> 570 minutes after midnight; ``"24:00"`` only as an end."""
    hours, sep, minutes = value.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError('time must look like "HH:MM"')
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_end_of_day):
        raise ValueError("time must be between 00:00 and 23:59 (24:00 only as an end)")
    return total


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class WeeklyWindow:
    weekday: int  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # exclusive; up to DAY_MINUTES

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError("end must be after start")

    def to_json(self) -> dict[str, Any]:
        return {"weekday": self.weekday, "start": format_hhmm(self.start), "end": format_hhmm(self.end)}


@dataclass(frozen=True)
class DatedException:
    """``available=False`` blocks the slice (the whole day without times); ``available=True``
    adds a window on that date (the whole day without times)."""

    day: date
    available: bool
    start: int = 0
    end: int = DAY_MINUTES

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError("end must be after start")

    def interval(self) -> tuple[datetime, datetime]:
        midnight = datetime.combine(self.day, datetime.min.time())
        return midnight + timedelta(minutes=self.start), midnight + timedelta(minutes=self.end)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"date": self.day.isoformat(), "available": self.available}
        if (self.start, self.end) != (0, DAY_MINUTES):
            body.update(start=format_hhmm(self.start), end=format_hhmm(self.end))
        return body


@dataclass(frozen=True)
class Availability:
    timezone: str
    weekly: tuple[WeeklyWindow, ...] = ()
    exceptions: tuple[DatedException, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Nothing could ever fit: no weekly window and no extra available date."""
        return not self.weekly and not any(item.available for item in self.exceptions)

    @classmethod
    def from_json(
        cls, timezone: str, weekly: Iterable[dict[str, Any]], exceptions: Iterable[dict[str, Any]]
    ) -> Availability:
        return cls(
            timezone,
            tuple(
                WeeklyWindow(int(w["weekday"]), parse_hhmm(w["start"]), parse_hhmm(w["end"], allow_end_of_day=True))
                for w in weekly
            ),
            tuple(
                DatedException(
                    date.fromisoformat(e["date"]),
                    bool(e["available"]),
                    parse_hhmm(e["start"]) if e.get("start") else 0,
                    parse_hhmm(e["end"], allow_end_of_day=True) if e.get("end") else DAY_MINUTES,
                )
                for e in exceptions
            ),
        )

    def windows_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Available wall-clock intervals that start on ``day`` (before exceptions block any)."""
        midnight = datetime.combine(day, datetime.min.time())
        for window in self.weekly:
            if window.weekday == day.weekday():
                yield midnight + timedelta(minutes=window.start), midnight + timedelta(minutes=window.end)
        for item in self.exceptions:
            if item.available and item.day == day:
                yield item.interval()


@dataclass(frozen=True)
class Unavailable:
    reason: Literal["no-availability", "exception", "outside-availability"]
    detail: str


def why_unavailable(availability: Availability | None, starts_at: datetime, ends_at: datetime) -> Unavailable | None:
    """None when ``[starts_at, ends_at)`` (aware datetimes) fits; otherwise why it does not."""
    if availability is None or availability.is_empty:
        return Unavailable("no-availability", "has not set any availability yet, so counts as unavailable")
    zone = ZoneInfo(availability.timezone)
    start = starts_at.astimezone(zone).replace(tzinfo=None)
    end = ends_at.astimezone(zone).replace(tzinfo=None)
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    for item in availability.exceptions:
        if not item.available and first <= item.day <= last:
            blocked_from, blocked_to = item.interval()
            if blocked_from < end and start < blocked_to:
                return Unavailable("exception", f"is not available on {item.day.isoformat()} ({_span(item)})")
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for window_start, window_end in _merged(w for day in days for w in availability.windows_on(day)):
        if window_start <= start and end <= window_end:
            return None
    when = f"{WEEKDAYS[start.weekday()]} {start:%Y-%m-%d %H:%M}-{end:%H:%M}"
    return Unavailable("outside-availability", f"is not available {when} ({availability.timezone})")


def _span(item: DatedException) -> str:
    if (item.start, item.end) == (0, DAY_MINUTES):
        return "all day"
    return f"{format_hhmm(item.start)}-{format_hhmm(item.end)}"


def _merged(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
