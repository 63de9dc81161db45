"""What the calendars area accepts from clients: the week a person asks for (it also feeds
/api/openapi.json)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from control_plane.kits.db.types import utcnow
from control_plane.kits.http.validation import Moment

__all__ = ["WeekOutOfRange", "WeekQuery"]

LONGEST_WEEK = timedelta(days=8)  # a week across a daylight-saving change, with room to spare


class WeekOutOfRange(Exception):
    """``end`` is not after ``start``, or more than ``LONGEST_WEEK`` later. Not a ``ValueError``
    on purpose: pydantic lets it through unchanged, and the route answers it as the 422 the
    week view has always given, whose detail names the rule (a failed field says only
    "Invalid fields: end")."""

    def __init__(self) -> None:
        self.detail = "end must be after start and at most 8 days later"
        self.errors = {"end": ["must be after start, at most 8 days later"]}
        super().__init__(self.detail)


class WeekQuery(BaseModel):
    """The week to show: from ``start`` (this week's Monday 00:00 UTC when absent) to ``end``
    (seven days later when absent), at most eight days long."""

    model_config = ConfigDict(extra="forbid")
    start: Moment | None = None
    # The next local midnight a week on; pass it across a daylight-saving change (7 x 24 h is then wrong).
    end: Moment | None = None

    @model_validator(mode="after")
    def _one_week(self) -> WeekQuery:
        if self.start is None:
            now = utcnow()
            self.start = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        if self.end is None:
            self.end = self.start + timedelta(days=7)
        if not self.start < self.end <= self.start + LONGEST_WEEK:
            raise WeekOutOfRange
        return self

    @property
    def window(self) -> tuple[datetime, datetime]:
        """``(start, end)``, both set once the model is validated."""
        assert self.start is not None and self.end is not None
        return self.start, self.end
