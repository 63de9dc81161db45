"""A coarse, index-friendly picture of weekly availability, for search's SQL prefilter.

The exact answer to "free for this window?" needs each musician's time zone rules
(``availability.why_unavailable``); doing that for every candidate in Python is what made
window searches slow. So every saved availability also writes rows of
``musician_week_windows``: each weekly window as minutes since Monday 00:00 *UTC*, widened to
the hull over every UTC offset the zone uses (CET and CEST for Berlin: from the earlier start
to the later end). A window that fits on the wall clock then always lies inside one row, so
``EXISTS (row with start_w <= query_start AND end_w >= query_end)`` never drops a musician
who is free (a superset); the exact check afterwards drops the few the widening let in.

Pure: values in, rows out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from control_plane.musicians.schemas import DAY_MINUTES
from control_plane.musicians.services.availability import Availability, merged_intervals

__all__ = ["WEEK_MINUTES", "query_span", "week_windows", "zone_offsets"]

WEEK_MINUTES = 7 * DAY_MINUTES
_MONDAY = datetime(2024, 1, 1, tzinfo=UTC)  # any Monday 00:00 UTC


def zone_offsets(zone: str, around: datetime) -> tuple[int, int]:
    """The smallest and largest UTC offset (minutes) ``zone`` uses in the 2 years after
    ``around`` (sampled daily: offsets last months, not days)."""
    return _offsets(zone, around.astimezone(UTC).date())


@lru_cache(maxsize=1024)
def _offsets(zone: str, first: date) -> tuple[int, int]:
    info = ZoneInfo(zone)
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    offsets = set()
    for day in range(0, 731):
        offset = (start + timedelta(days=day)).astimezone(info).utcoffset()
        assert offset is not None
        offsets.add(int(offset.total_seconds() // 60))
    return min(offsets), max(offsets)


def week_windows(availability: Availability, around: datetime) -> list[tuple[int, int]]:
    """``[start_w, end_w)`` rows in UTC week minutes, merged, split at the week's end."""
    low, high = zone_offsets(availability.timezone, around)
    local = merged_intervals(
        (w.weekday * DAY_MINUTES + w.start, w.weekday * DAY_MINUTES + w.end) for w in availability.weekly
    )
    if len(local) > 1 and local[0][0] == 0 and local[-1][1] == WEEK_MINUTES:
        # Sunday night runs into Monday morning: one window across the week's end.
        local = [*local[1:-1], (local[-1][0], local[0][1] + WEEK_MINUTES)]
    rows: list[tuple[int, int]] = []
    for start, end in local:
        utc_start, utc_end = start - high, end - low  # the hull over the zone's offsets
        if utc_end - utc_start >= WEEK_MINUTES:
            return [(0, WEEK_MINUTES)]
        utc_start %= WEEK_MINUTES
        utc_end = utc_start + (end - low) - (start - high)
        if utc_end <= WEEK_MINUTES:
            rows.append((utc_start, utc_end))
        else:
            rows += [(utc_start, WEEK_MINUTES), (0, utc_end - WEEK_MINUTES)]
    return merged_intervals(rows)


def query_span(starts_at: datetime, ends_at: datetime) -> tuple[int, int] | None:
    """The search window in UTC week minutes, or None when it wraps past Sunday 24:00 UTC
    or lasts a week or more (then the prefilter is skipped, the exact check still runs)."""
    start = int((starts_at - _MONDAY).total_seconds() // 60) % WEEK_MINUTES
    length = -(-int((ends_at - starts_at).total_seconds()) // 60)
    if start + length > WEEK_MINUTES:
        return None
    return start, start + length
