"""Request bodies and queries of the files area (docs/FILES.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from control_plane.kits.http.pagination import MAX_CURSOR
from control_plane.kits.http.validation import MAX_ROW_ID, ONE_LINE, TEXT

__all__ = [
    "MAX_COMMENT_CHARS",
    "ChangesBody",
    "CommentBody",
    "CommentQuery",
    "DecisionBody",
    "DeliverableBody",
    "FileQuery",
    "RenameBody",
    "SubmitBody",
    "UploadBody",
    "UploadForm",
]

MAX_COMMENT_CHARS = 5000
MAX_NOTE_CHARS = 2000
MAX_UPLOAD_BYTES = 1 << 40  # far above any kind's limit; the limit of the kind decides
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE_CHARS, pattern=TEXT)]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID, strict=True)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileQuery(_Body):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)
    kind: str | None = Field(default=None, pattern="^(audio|score|image|document|other)$")


class CommentQuery(_Body):
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    limit: int = Field(default=200, ge=1, le=500)
    cursor: int | None = Field(default=None, ge=0, le=MAX_ROW_ID, description="the last comment id seen")


class RenameBody(_Body):
    name: Name


class CommentBody(_Body):
    version: int = Field(ge=1, le=1_000_000, strict=True, description="the version number commented on")
    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT_CHARS, pattern=TEXT)
    ]
    at_ms: int | None = Field(default=None, ge=0, le=24 * 3600 * 1000, strict=True)
    until_ms: int | None = Field(default=None, ge=1, le=24 * 3600 * 1000, strict=True)
    page: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    x: float | None = Field(default=None, ge=0.0, le=1.0, strict=True, description="0..1 of the page's width")
    y: float | None = Field(default=None, ge=0.0, le=1.0, strict=True, description="0..1 of the page's height")
    reply_to: RowId | None = None


class UploadForm(_Body):
    """The text fields beside a multipart ``file`` part."""

    name: Name | None = None
    note: Note = ""


class UploadBody(_Body):
    name: Name
    size: int = Field(ge=1, le=MAX_UPLOAD_BYTES, strict=True, description="the whole file's length in bytes")
    note: Note = ""
    file_id: RowId | None = Field(default=None, description="upload a new version of this file")


class DeliverableBody(_Body):
    title: Name
    description: Note = ""


class SubmitBody(_Body):
    file_id: RowId
    version: int = Field(ge=1, le=1_000_000, strict=True)


class DecisionBody(_Body):
    note: Note = ""


class ChangesBody(_Body):
    note: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_CHARS, pattern=TEXT)
    ] = Field(description="what should change")
