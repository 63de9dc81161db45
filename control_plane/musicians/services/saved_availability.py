"""A musician's saved availability: replacing it (with the search index it feeds) and reading
it back as the rules of ``availability.py`` see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.kits.db.types import utcnow
from control_plane.musicians.models import MusicianAvailability, MusicianWeekWindow
from control_plane.musicians.schemas import AvailabilityBody
from control_plane.musicians.services.availability import Availability
from control_plane.musicians.services.roles import ensure_may_set_availability
from control_plane.musicians.services.week_index import week_windows

__all__ = ["musician_availability", "save_availability"]

DbSession = Session | scoped_session[Any]


def save_availability(db: DbSession, musician: User, command: AvailabilityBody) -> MusicianAvailability:
    """Replace the musician's availability and its search index; the caller commits.
    ``MusiciansRefused`` (403) unless ``musician`` has the role."""
    ensure_may_set_availability(musician)
    now = utcnow()
    row = db.get(MusicianAvailability, musician.id) or MusicianAvailability(user_id=musician.id)
    row.timezone = command.timezone
    row.weekly = [w.model_dump() for w in sorted(command.weekly, key=lambda w: (w.weekday, w.start))]
    row.exceptions = [
        e.model_dump(mode="json", exclude_none=True) for e in sorted(command.exceptions, key=lambda e: e.date)
    ]
    row.updated_at = now
    _index_for_search(row, command.timezone or musician.timezone, now)
    db.add(row)
    return row


def musician_availability(db: DbSession, musician: User) -> Availability | None:
    """None when the musician never saved any (then nothing is bookable)."""
    row = db.get(MusicianAvailability, musician.id)
    if row is None:
        return None
    return Availability.from_json(row.timezone or musician.timezone, row.weekly, row.exceptions)


def _index_for_search(row: MusicianAvailability, zone: str, now: datetime) -> None:
    """The coarse UTC week picture search prefilters with (see week_index.py)."""
    parsed = Availability.from_json(zone, row.weekly, row.exceptions)
    row.indexed_zone = zone
    row.has_open_dates = any(item.available for item in parsed.exceptions)
    row.week_windows = [MusicianWeekWindow(start_w=start, end_w=end) for start, end in week_windows(parsed, now)]
