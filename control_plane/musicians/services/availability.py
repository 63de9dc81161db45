"""When a musician can be booked: weekly recurring windows plus dated exceptions, in the
musician's time zone. Pure: values in, a verdict out; no database, no Flask.

Rule (API.md): a request is inside availability when its whole ``[starts_at, ends_at)``, seen
on the musician's wall clock, lies inside one window, and no "unavailable" exception overlaps
it. Windows that touch (Friday 20:00-24:00 and Saturday 00:00-03:00) count as one, so a gig
across midnight fits. A musician who set no availability at all counts as unavailable.

Weekdays are 0 = Monday ... 6 = Sunday (Python's ``date.weekday()``). Times are ``"HH:MM"``;
``"24:00"`` is allowed as an end and means midnight at the end of the day.

Expansion to instants (``open_intervals``) works on the wall clock first (windows of each
local date, touching ones merged, blocked exceptions cut out) and only then turns each local
edge into a UTC instant with ``zoneinfo``. Across daylight-saving changes this means:

- spring forward: a window 01:00-04:00 in Berlin on the last Sunday of March lasts two
  hours, as the clock on the wall shows; an edge that falls into the skipped hour (02:30
  does not exist that day) moves to the jump itself, so 02:30-05:00 starts at 03:00 CEST;
- fall back: a start that happens twice takes the first occurrence and an end the second
  (``fold=1``), so a window 01:00-04:00 that day lasts four hours and covers the repeated hour.

Whether a range fits is answered on these instants, so a request that crosses a change (or
whose local end reads earlier than its start, inside the repeated hour) is judged correctly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

# The "HH:MM" format is what clients send and what is stored; its one definition is the schemas'.
from control_plane.musicians.schemas import DAY_MINUTES, format_hhmm, parse_hhmm

__all__ = [
    "WEEKDAYS",
    "Availability",
    "DatedException",
    "Interval",
    "Unavailable",
    "WeeklyWindow",
    "free_slots",
    "merged_intervals",
    "open_intervals",
    "subtract",
    "why_unavailable",
]

# A point in time or in the week: anything ordered (datetime, minutes as int).
P = TypeVar("P", datetime, int)

Interval = tuple[datetime, datetime]  # aware, [start, end)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
    margin = timedelta(days=2)  # wide enough for any offset and a window across midnight
    for item in availability.exceptions:
        if not item.available:
            blocked_from, blocked_to = _to_instants(zone, *item.interval())
            if blocked_from < ends_at and starts_at < blocked_to:
                return Unavailable("exception", f"is not available on {item.day.isoformat()} ({_span(item)})")
    for open_from, open_to in open_intervals(availability, starts_at - margin, ends_at + margin):
        if open_from <= starts_at and ends_at <= open_to:
            return None
    start = starts_at.astimezone(zone)
    end = ends_at.astimezone(zone)
    when = f"{WEEKDAYS[start.weekday()]} {start:%Y-%m-%d %H:%M}-{end:%H:%M}"
    return Unavailable("outside-availability", f"is not available {when} ({availability.timezone})")


def open_intervals(availability: Availability, range_from: datetime, range_to: datetime) -> list[Interval]:
    """The instants (UTC) inside availability that overlap ``[range_from, range_to)``,
    merged and in order; not clipped to the range, so callers see whole windows."""
    zone = ZoneInfo(availability.timezone)
    first = range_from.astimezone(zone).date() - timedelta(days=1)
    last = range_to.astimezone(zone).date() + timedelta(days=1)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    local_open = merged_intervals(w for day in days for w in availability.windows_on(day))
    blocked = [
        _to_instants(zone, *item.interval())
        for item in availability.exceptions
        if not item.available and first <= item.day <= last
    ]
    # Edges become instants before blocks are cut out: a block's own start is the first
    # occurrence of its wall-clock time, whatever the window's edges are.
    opened = merged_intervals(_to_instants(zone, start, end) for start, end in local_open)
    intervals = _cut(opened, merged_intervals(blocked))
    return [(start, end) for start, end in intervals if start < end and start < range_to and range_from < end]


def subtract(intervals: Iterable[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """``intervals`` minus every ``busy`` range (both sorted or not; the result is sorted)."""
    return _cut(sorted(intervals), merged_intervals(busy))


def free_slots(
    availability: Availability | None,
    busy: Iterable[Interval],
    range_from: datetime,
    range_to: datetime,
    min_length: timedelta = timedelta(0),
) -> list[Interval]:
    """Bookable ranges inside ``[range_from, range_to)``: availability minus ``busy`` (accepted
    engagements), clipped to the range, at least ``min_length`` long."""
    if availability is None or availability.is_empty:
        return []
    clipped = [
        (max(start, range_from), min(end, range_to))
        for start, end in open_intervals(availability, range_from, range_to)
    ]
    return [
        (start, end)
        for start, end in subtract(clipped, busy)
        if end - start >= max(min_length, timedelta(0)) and start < end
    ]


def _to_instants(zone: ZoneInfo, start: datetime, end: datetime) -> Interval:
    """Local wall-clock edges to UTC instants (see the module notes for gaps and folds);
    blocks from exceptions go through here too, so they cover every repeated hour."""
    return _instant(zone, start, is_end=False), _instant(zone, end, is_end=True)


def _instant(zone: ZoneInfo, local: datetime, *, is_end: bool) -> datetime:
    earlier = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    later = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if earlier <= later:  # an ordinary time (equal), or one the clock shows twice
        return later if is_end else earlier
    # The clock skips this time (fold=1 reads it with the new offset, so it lands before the
    # jump; fold=0 after it): the edge is the jump itself, found by bisection in seconds.
    low, high = int(later.timestamp()), int(earlier.timestamp())
    before = later.astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _cut(
    intervals: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """Sorted intervals minus sorted, merged holes (same kind of datetimes on both sides)."""
    result: list[tuple[datetime, datetime]] = []
    for start, end in intervals:
        for hole_start, hole_end in holes:
            if hole_end <= start or end <= hole_start:
                continue
            if start < hole_start:
                result.append((start, hole_start))
            start = max(start, hole_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def _span(item: DatedException) -> str:
    if (item.start, item.end) == (0, DAY_MINUTES):
        return "all day"
    return f"{format_hhmm(item.start)}-{format_hhmm(item.end)}"


def merged_intervals(intervals: Iterable[tuple[P, P]]) -> list[tuple[P, P]]:
    """Overlapping or touching intervals joined, in order (minutes of a week or instants)."""
    merged: list[tuple[P, P]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
