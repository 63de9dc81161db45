"""The two availability questions anyone may ask about one musician: "free for the whole of
[starts_at, ends_at)?" and "which slots are free in this range?". Both weigh the saved
availability and the accepted engagements, and reveal only free or busy, never what a
musician is booked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.musicians.models import BookingRequest, MusicianProfile
from control_plane.musicians.services.availability import Availability, Interval, free_slots, why_unavailable
from control_plane.musicians.services.refusals import MusiciansRefused, invalid_fields
from control_plane.musicians.services.roles import MUSICIAN_ROLES
from control_plane.musicians.services.saved_availability import musician_availability
from control_plane.musicians.services.search_filters import MAX_WINDOW

__all__ = ["MAX_SLOT_RANGE", "FreeSlots", "Verdict", "check_free", "list_free_slots"]

DbSession = Session | scoped_session[Any]

# Two months of slots: a booking calendar's view, and a bound on the work one question costs.
MAX_SLOT_RANGE = timedelta(days=62)


@dataclass(frozen=True)
class Verdict:
    free: bool
    reason: str | None
    detail: str | None
    timezone: str  # the zone the musician's availability is kept in


@dataclass(frozen=True)
class FreeSlots:
    timezone: str
    slots: list[Interval]


def check_free(db: DbSession, musician_id: int, starts_at: datetime, ends_at: datetime) -> Verdict:
    """Whether the musician can be booked for the whole range (a refusal when the range is
    invalid or the musician has no profile)."""
    _check_range(starts_at, ends_at, MAX_WINDOW, "ends_at")
    user = _musician(db, musician_id)
    availability = musician_availability(db, user)
    zone = _zone(availability, user)
    verdict = why_unavailable(availability, starts_at, ends_at)
    if verdict is not None:
        return Verdict(False, verdict.reason, f"{user.name} {verdict.detail}", zone)
    if _engagements(db, musician_id, starts_at, ends_at):
        return Verdict(False, "overlapping-engagement", f"{user.name} is already booked then", zone)
    return Verdict(True, None, None, zone)


def list_free_slots(
    db: DbSession, musician_id: int, range_from: datetime, range_to: datetime, min_length: timedelta
) -> FreeSlots:
    """Weekly windows and exceptions minus accepted engagements, at least ``min_length`` long."""
    _check_range(range_from, range_to, MAX_SLOT_RANGE, "to")
    user = _musician(db, musician_id)
    availability = musician_availability(db, user)
    busy = _engagements(db, musician_id, range_from, range_to)
    return FreeSlots(_zone(availability, user), free_slots(availability, busy, range_from, range_to, min_length))


def _check_range(start: datetime, end: datetime, longest: timedelta, end_field: str) -> None:
    if end <= start:
        raise invalid_fields({end_field: ["must be after the start"]})
    if end - start > longest:
        raise invalid_fields({end_field: [f"the range may span {longest.days} days at most"]})


def _musician(db: DbSession, musician_id: int) -> User:
    user = db.get(User, musician_id)
    if user is None or not user.has_any_role(*MUSICIAN_ROLES) or db.get(MusicianProfile, musician_id) is None:
        raise MusiciansRefused(404, "musician-not-found", f"Musician {musician_id} has no profile")
    return user


def _engagements(db: DbSession, musician_id: int, start: datetime, end: datetime) -> list[Interval]:
    rows = db.execute(
        select(BookingRequest.starts_at, BookingRequest.ends_at).where(
            BookingRequest.musician_id == musician_id,
            BookingRequest.status == "accepted",
            BookingRequest.starts_at < end,
            BookingRequest.ends_at > start,
        )
    ).all()
    return [(row.starts_at, row.ends_at) for row in rows]


def _zone(availability: Availability | None, user: User) -> str:
    return availability.timezone if availability else user.timezone
