"""Availability windows and the request state machine: pure functions, no Flask, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control_plane.musicians.schemas import format_hhmm, parse_hhmm
from control_plane.musicians.services.availability import (
    Availability,
    DatedException,
    WeeklyWindow,
    free_slots,
    open_intervals,
    subtract,
    why_unavailable,
)
from control_plane.musicians.services.requests import RequestRefused, next_status
from control_plane.musicians.services.week_index import WEEK_MINUTES, query_span, week_windows

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
        ("pending", "musician", "accept_proposal", "requester", "accepted"),
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


# --- expansion to instants across daylight-saving changes (fixed dates, 2031) -------------
# Berlin: CET -> CEST on Sunday 2031-03-30 at 02:00, back on Sunday 2031-10-26 at 03:00.
# New York: EST -> EDT on Sunday 2031-03-09 at 02:00, back on Sunday 2031-11-02 at 02:00.
# Adelaide (+09:30/+10:30) and Lord Howe (+10:30/+11:00, a 30-minute change): 2031-10-05.


def every_day(zone: str, start: str, end: str, *exceptions: DatedException) -> Availability:
    end_minutes = parse_hhmm(end, allow_end_of_day=True)
    weekly = tuple(WeeklyWindow(day, parse_hhmm(start), end_minutes) for day in range(7))
    return Availability(zone, weekly=weekly, exceptions=exceptions)


def test_office_hours_keep_their_wall_clock_across_the_berlin_spring_change() -> None:
    nine_to_five = every_day("Europe/Berlin", "09:00", "17:00")
    opened = open_intervals(nine_to_five, utc(2031, 3, 29, 0), utc(2031, 4, 1, 0))
    assert opened == [
        (utc(2031, 3, 29, 8), utc(2031, 3, 29, 16)),  # Saturday, CET (UTC+1)
        (utc(2031, 3, 30, 7), utc(2031, 3, 30, 15)),  # Sunday, CEST (UTC+2) from 02:00
        (utc(2031, 3, 31, 7), utc(2031, 3, 31, 15)),
    ]


def test_a_window_across_the_change_lasts_what_the_wall_clock_shows() -> None:
    night = every_day("Europe/Berlin", "01:00", "04:00")
    spring = open_intervals(night, utc(2031, 3, 30, 0), utc(2031, 3, 30, 3))
    assert spring == [(utc(2031, 3, 30, 0), utc(2031, 3, 30, 2))]  # 02:00-03:00 never happens: 2 h
    autumn = open_intervals(night, utc(2031, 10, 25, 22), utc(2031, 10, 26, 4))
    assert autumn == [(utc(2031, 10, 25, 23), utc(2031, 10, 26, 3))]  # 02:00-03:00 happens twice: 4 h


def test_an_edge_inside_the_skipped_hour_moves_to_the_jump() -> None:
    late = every_day("Europe/Berlin", "02:30", "05:00")
    assert open_intervals(late, utc(2031, 3, 30, 0), utc(2031, 3, 30, 4)) == [
        (utc(2031, 3, 30, 1), utc(2031, 3, 30, 3))  # 03:00 CEST (the jump) to 05:00 CEST
    ]
    early = every_day("America/New_York", "00:00", "02:30")
    assert open_intervals(early, utc(2031, 3, 9, 5), utc(2031, 3, 9, 8)) == [
        (utc(2031, 3, 9, 5), utc(2031, 3, 9, 7))  # 00:00 EST to the jump at 02:00 EST = 03:00 EDT
    ]


def test_new_york_evenings_move_by_an_hour_in_utc_and_requests_follow() -> None:
    evenings = every_day("America/New_York", "18:00", "22:00")
    assert open_intervals(evenings, utc(2031, 3, 8, 12), utc(2031, 3, 10, 12)) == [
        (utc(2031, 3, 8, 23), utc(2031, 3, 9, 3)),  # Saturday, EST (UTC-5)
        (utc(2031, 3, 9, 22), utc(2031, 3, 10, 2)),  # Sunday, EDT (UTC-4)
    ]
    assert reason(evenings, utc(2031, 3, 9, 22), utc(2031, 3, 10, 2)) is None
    assert reason(evenings, utc(2031, 3, 8, 22), utc(2031, 3, 9, 2)) == "outside-availability"  # 17:00 EST


def test_the_repeated_hour_in_new_york_counts_once_per_instant() -> None:
    small_hours = every_day("America/New_York", "00:00", "03:00")
    assert open_intervals(small_hours, utc(2031, 11, 2, 4), utc(2031, 11, 2, 8)) == [
        (utc(2031, 11, 2, 4), utc(2031, 11, 2, 8))  # 00:00 EDT to 03:00 EST: four hours
    ]
    # 01:45 EDT to 01:15 EST: the local end reads earlier than the start, yet it is 30 minutes.
    assert reason(small_hours, utc(2031, 11, 2, 5, 45), utc(2031, 11, 2, 6, 15)) is None
    blocked = every_day(
        "America/New_York",
        "00:00",
        "03:00",
        DatedException(date(2031, 11, 2), available=False, start=parse_hhmm("01:00"), end=parse_hhmm("02:00")),
    )
    # The block covers both 01:00-02:00 hours (05:00-07:00 UTC), so nothing inside it fits.
    assert reason(blocked, utc(2031, 11, 2, 5, 45), utc(2031, 11, 2, 6, 15)) == "exception"
    assert reason(blocked, utc(2031, 11, 2, 7), utc(2031, 11, 2, 8)) is None
    assert open_intervals(blocked, utc(2031, 11, 2, 4), utc(2031, 11, 2, 8)) == [
        (utc(2031, 11, 2, 4), utc(2031, 11, 2, 5)),
        (utc(2031, 11, 2, 7), utc(2031, 11, 2, 8)),
    ]


def test_an_all_day_exception_on_a_short_day_blocks_23_hours() -> None:
    always = every_day("Europe/Berlin", "00:00", "24:00", DatedException(date(2031, 3, 30), available=False))
    (_, blocked_from), (blocked_to, _) = free_slots(always, [], utc(2031, 3, 29, 12), utc(2031, 3, 31, 12))
    assert (blocked_from, blocked_to) == (utc(2031, 3, 29, 23), utc(2031, 3, 30, 22))
    assert blocked_to - blocked_from == timedelta(hours=23)


def test_half_hour_zones_adelaide_and_lord_howe() -> None:
    adelaide = every_day("Australia/Adelaide", "09:00", "17:00")
    assert open_intervals(adelaide, utc(2031, 10, 4, 0), utc(2031, 10, 5, 12)) == [
        (utc(2031, 10, 3, 23, 30), utc(2031, 10, 4, 7, 30)),  # Saturday, ACST (+09:30)
        (utc(2031, 10, 4, 22, 30), utc(2031, 10, 5, 6, 30)),  # Sunday, ACDT (+10:30)
    ]
    # Lord Howe moves its clock by 30 minutes (02:00 -> 02:30): 01:00-04:00 lasts 2.5 hours.
    lord_howe = every_day("Australia/Lord_Howe", "01:00", "04:00")
    ((start, end),) = open_intervals(lord_howe, utc(2031, 10, 4, 14), utc(2031, 10, 4, 17))
    assert (start, end) == (utc(2031, 10, 4, 14, 30), utc(2031, 10, 4, 17))
    assert end - start == timedelta(hours=2, minutes=30)


def test_free_slots_subtract_engagements_and_clip_to_the_range() -> None:
    # Monday 2031-03-31 (CEST) 18:00-23:00 is 16:00-21:00 UTC; an engagement 17:00-18:00 UTC.
    slots = free_slots(
        BERLIN_EVENINGS,
        [(utc(2031, 3, 31, 17), utc(2031, 3, 31, 18))],
        utc(2031, 3, 31, 0),
        utc(2031, 3, 31, 20),
    )
    assert slots == [(utc(2031, 3, 31, 16), utc(2031, 3, 31, 17)), (utc(2031, 3, 31, 18), utc(2031, 3, 31, 20))]
    assert free_slots(BERLIN_EVENINGS, [], utc(2031, 3, 31, 0), utc(2031, 3, 31, 20), timedelta(hours=5)) == []
    assert free_slots(None, [], utc(2031, 3, 31, 0), utc(2031, 4, 1, 0)) == []
    # The Monday before the change (CET): the same wall clock is 17:00-22:00 UTC.
    assert free_slots(BERLIN_EVENINGS, [], utc(2031, 3, 24, 0), utc(2031, 3, 25, 0)) == [
        (utc(2031, 3, 24, 17), utc(2031, 3, 24, 22))
    ]


def test_subtract_handles_holes_at_edges_and_inside() -> None:
    base = [(utc(2031, 1, 1, 8), utc(2031, 1, 1, 12)), (utc(2031, 1, 1, 14), utc(2031, 1, 1, 18))]
    holes = [
        (utc(2031, 1, 1, 7), utc(2031, 1, 1, 9)),
        (utc(2031, 1, 1, 10), utc(2031, 1, 1, 11)),
        (utc(2031, 1, 1, 11, 30), utc(2031, 1, 1, 15)),
    ]
    assert subtract(base, holes) == [
        (utc(2031, 1, 1, 9), utc(2031, 1, 1, 10)),
        (utc(2031, 1, 1, 11), utc(2031, 1, 1, 11, 30)),
        (utc(2031, 1, 1, 15), utc(2031, 1, 1, 18)),
    ]


# --- the coarse UTC week picture behind search's SQL prefilter -----------------------------


def test_week_windows_widen_over_the_zones_offsets_and_wrap() -> None:
    around = utc(2031, 1, 1, 0)
    monday = Availability("Europe/Berlin", weekly=(WeeklyWindow(0, parse_hhmm("18:00"), parse_hhmm("23:00")),))
    assert week_windows(monday, around) == [(16 * 60, 22 * 60)]  # 16:00 (CEST) to 22:00 (CET) UTC
    across = Availability(
        "UTC",
        weekly=(
            WeeklyWindow(6, parse_hhmm("23:00"), parse_hhmm("24:00", allow_end_of_day=True)),
            WeeklyWindow(0, parse_hhmm("00:00"), parse_hhmm("01:00")),
        ),
    )
    assert week_windows(across, around) == [(0, 60), (WEEK_MINUTES - 60, WEEK_MINUTES)]
    sunday_night = Availability(
        "America/New_York", weekly=(WeeklyWindow(6, parse_hhmm("20:00"), parse_hhmm("24:00", allow_end_of_day=True)),)
    )
    assert week_windows(sunday_night, around) == [(0, 5 * 60)]  # 00:00 (EDT) to 05:00 (EST) Monday UTC
    assert query_span(utc(2031, 5, 5, 1), utc(2031, 5, 5, 3)) == (60, 180)  # a Monday
    assert query_span(utc(2031, 5, 11, 23), utc(2031, 5, 12, 1)) is None  # Sunday into Monday


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Adelaide", "Australia/Lord_Howe", "Asia/Kolkata"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    windows=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 47), st.integers(1, 48)).filter(lambda w: w[1] < w[2]),
        min_size=1,
        max_size=6,
    ),
    start_minutes=st.integers(0, 365 * 24 * 4).map(lambda n: n * 15),
    length=st.integers(1, 16).map(lambda n: n * 30),
)
def test_the_week_picture_never_drops_a_musician_who_fits(
    zone: str, windows: list[tuple[int, int, int]], start_minutes: int, length: int
) -> None:
    availability = Availability(zone, weekly=tuple(WeeklyWindow(d, s * 30, e * 30) for d, s, e in windows))
    starts_at = utc(2031, 1, 1, 0) + timedelta(minutes=start_minutes)
    ends_at = starts_at + timedelta(minutes=length)
    span = query_span(starts_at, ends_at)
    if why_unavailable(availability, starts_at, ends_at) is None and span is not None:
        rows = week_windows(availability, utc(2031, 1, 1, 0))
        assert any(start <= span[0] and span[1] <= end for start, end in rows), (rows, span)
