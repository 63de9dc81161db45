"""What the notifications area accepts from clients: the inbox query and preference updates."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.notifications import Channel
from control_plane.kits.http.validation import MAX_ROW_ID

__all__ = ["PreferencesBody", "SinceQuery"]


class SinceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: int = Field(default=0, ge=0, le=MAX_ROW_ID)
    limit: int = Field(default=100, ge=1, le=500)
    # The pagination cursor of API.md; it is the last id seen, so it means the same as `since`.
    cursor: int | None = Field(default=None, ge=0, le=MAX_ROW_ID)


class PreferencesBody(BaseModel):
    """Channels per notification kind; kinds left out keep their current channel. Unknown
    kinds are refused by the notification service, which keeps the preferences."""

    model_config = ConfigDict(extra="forbid")
    preferences: dict[str, Channel] = Field(max_length=100)
