"""Availability windows and the request state machine: pure functions, no Flask, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from control_plane.musicians.availability import (
    Availability,
    DatedException,
    WeeklyWindow,
    format_hhmm,
    parse_hhmm,
    why_unavailable,
)
from control_plane.musicians.requests import RequestRefused, next_status

BERLIN_EVENINGS = Availability(
    "Europe/Berlin",
    weekly=(
        WeeklyWindow(0, parse_hhmm("18:00"), parse_hhmm("23:00")),  # Monday
        WeeklyWindow(4, parse_hhmm("20:00"), parse_hhmm("24:00", allow_end_of_day=True)),  # Friday
        WeeklyWindow(5, parse_hhmm("00:00"), parse_hhmm("03:00")),  # Saturday
    ),
)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def reason(availability: Availability | None, start: datetime, end: datetime) -> str | None:
    verdict = why_unavailable(availability, start, end)
    return None if verdict is None else verdict.reason


def test_nothing_set_counts_as_unavailable() -> None:
    start, end = utc(2031, 5, 5, 18), utc(2031, 5, 5, 20)
    assert reason(None, start, end) == "no-availability"
    assert reason(Availability("UTC"), start, end) == "no-availability"
    only_blocked = Availability("UTC", exceptions=(DatedException(date(2031, 5, 5), available=False),))
    verdict = why_unavailable(only_blocked, start, end)
    assert verdict is not None and "not set any availability" in verdict.detail


def test_the_whole_range_must_fit_one_window_on_the_local_wall_clock() -> None:
    # Monday 2031-05-05 (CEST, UTC+2): the window is 16:00-21:00 UTC.
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 5, 16), utc(2031, 5, 5, 21)) is None
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 5, 15, 59), utc(2031, 5, 5, 18)) == "outside-availability"
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 5, 20), utc(2031, 5, 5, 21, 1)) == "outside-availability"
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 6, 16), utc(2031, 5, 6, 18)) == "outside-availability"  # Tuesday


def test_the_musicians_time_zone_and_daylight_saving_decide() -> None:
    # 17:00-19:00 UTC is 18:00-20:00 in Berlin in January (CET) but 19:00-21:00 in July (CEST).
    assert reason(BERLIN_EVENINGS, utc(2031, 1, 6, 17), utc(2031, 1, 6, 19)) is None
    assert reason(BERLIN_EVENINGS, utc(2031, 7, 7, 17), utc(2031, 7, 7, 19)) is None
    # 16:30 UTC is 17:30 in January: before the window opens; in July it is 18:30: inside.
    assert reason(BERLIN_EVENINGS, utc(2031, 1, 6, 16, 30), utc(2031, 1, 6, 18)) == "outside-availability"
    assert reason(BERLIN_EVENINGS, utc(2031, 7, 7, 16, 30), utc(2031, 7, 7, 18)) is None
    verdict = why_unavailable(BERLIN_EVENINGS, utc(2031, 1, 6, 16, 30), utc(2031, 1, 6, 18))
    assert verdict is not None and "Monday 2031-01-06 17:30-19:00 (Europe/Berlin)" in verdict.detail


def test_touching_windows_across_midnight_make_one() -> None:
    # Friday 2031-05-09 22:00 to Saturday 02:00 Berlin time.
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 9, 20), utc(2031, 5, 10, 0)) is None
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 9, 20), utc(2031, 5, 10, 1, 30)) == "outside-availability"
    # Ending exactly at midnight fits a window that ends at 24:00.
    assert reason(BERLIN_EVENINGS, utc(2031, 5, 9, 19), utc(2031, 5, 9, 22)) is None


def test_dated_exceptions_block_or_add() -> None:
    blocked = Availability(
        "UTC",
        weekly=(WeeklyWindow(0, parse_hhmm("08:00"), parse_hhmm("24:00", allow_end_of_day=True)),),
        exceptions=(
            DatedException(date(2031, 5, 5), available=False, start=parse_hhmm("12:00"), end=parse_hhmm("13:00")),
            DatedException(date(2031, 5, 12), available=False),
            DatedException(date(2031, 5, 14), available=True, start=parse_hhmm("10:00"), end=parse_hhmm("12:00")),
        ),
    )
    assert reason(blocked, utc(2031, 5, 5, 11), utc(2031, 5, 5, 12)) is None  # touches the block only
    assert reason(blocked, utc(2031, 5, 5, 11), utc(2031, 5, 5, 12, 1)) == "exception"
    assert reason(blocked, utc(2031, 5, 12, 9), utc(2031, 5, 12, 10)) == "exception"  # all day
    assert reason(blocked, utc(2031, 5, 14, 10), utc(2031, 5, 14, 12)) is None  # a Wednesday, added
    assert reason(blocked, utc(2031, 5, 14, 9), utc(2031, 5, 14, 11)) == "outside-availability"


def test_json_round_trip_and_time_parsing() -> None:
    weekly = [{"weekday": 4, "start": "20:00", "end": "24:00"}]
    exceptions = [
        {"date": "2031-05-12", "available": False},
        {"date": "2031-05-14", "available": True, "start": "10:00", "end": "12:00"},
    ]
    availability = Availability.from_json("Europe/Berlin", weekly, exceptions)
    assert [w.to_json() for w in availability.weekly] == weekly
    assert [e.to_json() for e in availability.exceptions] == exceptions
    assert parse_hhmm("00:00") == 0 and parse_hhmm("23:59") == 1439 and format_hhmm(570) == "09:30"
    for bad in ("24:00", "7:00", "12:60", "ab:cd", "12-00", "25:00"):
        with pytest.raises(ValueError, match="time"):
            parse_hhmm(bad)
    with pytest.raises(ValueError, match="after start"):
        WeeklyWindow(0, 600, 600)
    with pytest.raises(ValueError, match="weekday"):
        WeeklyWindow(7, 0, 60)


# --- the request state machine -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "proposal_by", "action", "actor", "result"),
    [
        ("pending", None, "accept", "musician", "accepted"),
        ("pending", None, "decline", "musician", "declined"),
        ("pending", None, "cancel", "requester", "cancelled"),
        ("pending", None, "cancel", "musician", "cancelled"),
        ("accepted", None, "cancel", "musician", "cancelled"),
        ("pending", None, "propose", "musician", "pending"),
        ("accepted", None, "propose", "requester", "accepted"),
        ("pending", "musician", "propose", "musician", "pending"),  # the proposer revises it
        ("pending", "musician", "accept_proposal", "requester", "pending"),
        ("accepted", "requester", "decline_proposal", "musician", "accepted"),
        ("pending", "requester", "decline", "musician", "declined"),
        ("pending", "requester", "cancel", "requester", "cancelled"),
        ("pending", None, "expire", None, "expired"),
    ],
)
def test_allowed_transitions(status: str, proposal_by: str | None, action: str, actor: str | None, result: str) -> None:
    assert next_status(status, proposal_by, action, actor) == result  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "proposal_by", "action", "actor", "code"),
    [
        ("pending", None, "accept", "requester", 403),
        ("pending", None, "decline", "requester", 403),
        ("accepted", None, "accept", "musician", 409),
        ("accepted", None, "decline", "musician", 409),
        ("declined", None, "cancel", "requester", 409),
        ("cancelled", None, "propose", "musician", 409),
        ("expired", None, "accept", "musician", 409),
        ("accepted", None, "expire", None, 409),
        ("pending", "requester", "accept", "musician", 409),  # answer the proposal first
        ("pending", "requester", "propose", "musician", 409),
        ("pending", None, "accept_proposal", "requester", 409),
        ("pending", "musician", "accept_proposal", "musician", 403),
        ("pending", None, "expire", "musician", 403),
    ],
)
def test_refused_transitions(status: str, proposal_by: str | None, action: str, actor: str | None, code: int) -> None:
    with pytest.raises(RequestRefused) as refused:
        next_status(status, proposal_by, action, actor)  # type: ignore[arg-type]
    assert refused.value.status == code
    if code == 409:
        assert refused.value.code == "invalid-transition" and refused.value.extra["current_state"] == status
        assert status in refused.value.detail
