"""GET /api/calendar/week: the window rule lives in ``WeekQuery``; its 422 reads as before."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from tests.integration.api_helpers import bearer, register


def test_a_week_longer_than_eight_days_or_ending_first_is_refused(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    person = register(client)
    expected = {
        "type": "/problems/validation-error",
        "code": "validation-error",
        "title": "Invalid request",
        "status": 422,
        "detail": "end must be after start and at most 8 days later",
        "errors": {"end": ["must be after start, at most 8 days later"]},
    }
    for query in (
        "start=2031-03-03T00:00:00Z&end=2031-03-12T00:00:00Z",  # nine days
        "start=2031-03-03T00:00:00Z&end=2031-03-03T00:00:00Z",  # empty
        "end=2000-01-03T00:00:00Z",  # before this week's Monday
    ):
        answer = client.get(f"/api/calendar/week?{query}", headers=bearer(person))
        assert answer.status_code == 422, query
        assert answer.get_json() == expected, query


def test_the_week_defaults_to_seven_days_from_start_or_this_monday(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    person = register(client)
    given = client.get("/api/calendar/week?start=2031-03-03T00:00:00Z", headers=bearer(person)).get_json()
    assert (given["start"], given["end"]) == ("2031-03-03T00:00:00+00:00", "2031-03-10T00:00:00+00:00")
    across = "start=2031-03-24T00:00:00%2B01:00&end=2031-03-31T00:00:00%2B02:00"  # a DST change: 7 d - 1 h
    assert client.get(f"/api/calendar/week?{across}", headers=bearer(person)).status_code == 200
    this_week = client.get("/api/calendar/week", headers=bearer(person)).get_json()
    start, end = datetime.fromisoformat(this_week["start"]), datetime.fromisoformat(this_week["end"])
    assert start.weekday() == 0 and (start.hour, start.minute) == (0, 0) and end - start == timedelta(days=7)
