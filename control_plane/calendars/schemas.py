"""What the calendars area accepts from clients: the week a person asks for (it also feeds
/api/openapi.json)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from control_plane.kits.http.validation import Moment

__all__ = ["WeekQuery"]


class WeekQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Moment | None = None
    # The next local midnight a week on; pass it across a daylight-saving change (7 x 24 h is then wrong).
    end: Moment | None = None
