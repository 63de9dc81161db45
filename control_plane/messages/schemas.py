"""Request bodies and queries of the messages area (../shared/API.md, "Messages")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.messages import MAX_ATTACHMENTS, MAX_BODY_CHARS, MAX_REPORT_CHARS, MAX_TITLE_CHARS
from control_plane.kits.http.pagination import MAX_CURSOR
from control_plane.kits.http.validation import MAX_ROW_ID, ONE_LINE, TEXT

__all__ = [
    "MAX_GROUP_MEMBERS",
    "ConversationBody",
    "ConversationQuery",
    "EditBody",
    "HistoryQuery",
    "MembersBody",
    "MessageBody",
    "MuteBody",
    "ReadBody",
    "RenameBody",
    "ReportBody",
    "SearchQuery",
]

MAX_GROUP_MEMBERS = 100  # people named in one request (a group holds up to 256)
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID, strict=True)]
# Newlines are welcome in a message; other control characters and bidi overrides are not.
Body = Annotated[str, StringConstraints(max_length=MAX_BODY_CHARS, pattern=TEXT)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS, pattern=ONE_LINE)
]
ClientId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern="^[A-Za-z0-9_.:-]+$"),
    Field(description="the sender's own id for this message: a retry with the same one adds nothing"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationBody(_Body):
    kind: Literal["direct", "group"]
    member_ids: list[RowId] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS)
    title: Title | None = Field(default=None, description="a group's name (groups only)")


class MembersBody(_Body):
    member_ids: list[RowId] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS)


class ConversationQuery(_Body):
    limit: int = Field(default=30, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class HistoryQuery(_Body):
    before: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="messages older than this id")
    cursor: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="the next_cursor of the previous page (the same as before)"
    )
    after: int | None = Field(default=None, ge=0, le=MAX_ROW_ID, description="messages newer than this id")
    limit: int = Field(default=50, ge=1, le=200)


class MessageBody(_Body):
    body: Body = ""
    client_id: ClientId
    reply_to: RowId | None = None
    attachments: list[RowId] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS, description="project file version ids"
    )


class EditBody(_Body):
    body: Body


class ReadBody(_Body):
    up_to: int = Field(ge=0, le=MAX_ROW_ID, strict=True, description="the newest message id read")


class MuteBody(_Body):
    muted: bool = Field(strict=True)


class RenameBody(_Body):
    title: Title


class ReportBody(_Body):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REPORT_CHARS, pattern=TEXT)
    ]


class SearchQuery(_Body):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
    limit: int = Field(default=20, ge=1, le=100)
    before: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="results older than this message id")
    cursor: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="the next_cursor of the previous page (the same as before)"
    )
