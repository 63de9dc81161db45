"""Comments on a file version: pinned to a moment or span of audio, or to a point of a PDF
page; replies; resolve and reopen; ``@name`` mentions of project members."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from control_plane.accounts.models import User
from control_plane.files.models import FileComment, FileVersion, ProjectFile
from control_plane.files.queries import member_ids
from control_plane.files.schemas import CommentBody
from control_plane.files.services.events import stage_comment_added
from control_plane.files.services.refusals import FilesRefused
from control_plane.kits.db.types import DB, utcnow
from control_plane.musicians.models import Project

__all__ = ["AddedComment", "add_comment", "mentioned_members", "reopen", "resolve"]

# @ then a name as people write it: letters, digits, dots, dashes, apostrophes, and spaces
# between words ("@Ana Lima"); the longest member name that matches wins.
_MENTION = re.compile(r"(?<![\w@])@([\w][\w.'\- ]{0,119})", re.UNICODE)


@dataclass(frozen=True)
class AddedComment:
    comment: FileComment
    mentioned: list[int]


def mentioned_members(db: DB, project: Project, body: str) -> list[int]:
    """The members named in ``body`` (case-insensitive, whole names)."""
    ids = member_ids(db, project)
    names = {u.id: u.name.casefold() for u in db.scalars(select(User).where(User.id.in_(ids)))}
    found: list[int] = []
    for match in _MENTION.finditer(body):
        text = match.group(1).casefold()
        best = max(
            (
                (len(name), uid)
                for uid, name in names.items()
                if text.startswith(name) and (len(text) == len(name) or not text[len(name)].isalnum())
            ),
            default=None,
        )
        if best is not None and best[1] not in found:
            found.append(best[1])
    return found


def _invalid(field: str, message: str) -> FilesRefused:
    return FilesRefused.invalid_fields({field: [message]})


def _check_pin(file: ProjectFile, version: FileVersion, body: CommentBody) -> None:
    moment = body.at_ms is not None or body.until_ms is not None
    point = body.page is not None or body.x is not None or body.y is not None
    if moment and point:
        raise _invalid("at_ms", "a comment is pinned to a moment or to a point of a page, not both")
    if moment:
        if file.kind != "audio":
            raise _invalid("at_ms", "only audio versions have moments; this file is " + file.kind)
        if body.at_ms is None:
            raise _invalid("at_ms", "a span needs its start (at_ms) as well as until_ms")
        if body.until_ms is not None and body.until_ms <= body.at_ms:
            raise _invalid("until_ms", "must be after at_ms")
        duration = (version.analysis or {}).get("duration_s")
        if isinstance(duration, int | float):
            limit = int(float(duration) * 1000) + 1000  # a rounding second of slack
            # Name the field at fault: a span that starts in time but ends after the end is
            # the until_ms's doing (the 422 named at_ms, which the client did not get wrong).
            end_ms = int(float(duration) * 1000)
            if body.at_ms > limit:
                raise _invalid("at_ms", f"is past the end of this version ({end_ms} ms)")
            if (body.until_ms or 0) > limit:
                raise _invalid("until_ms", f"is past the end of this version ({end_ms} ms)")
    if point:
        if version.content_type != "application/pdf":
            raise _invalid("page", "only PDF versions have pages")
        if body.page is None or body.x is None or body.y is None:
            raise _invalid("page", "a point on a page needs page, x and y")


def add_comment(db: DB, actor: User, project: Project, file: ProjectFile, body: CommentBody) -> AddedComment:
    """Stage the comment and its event; the caller commits. 422 names the field at fault."""
    version = db.scalar(select(FileVersion).where(FileVersion.file_id == file.id, FileVersion.number == body.version))
    if version is None:
        raise _invalid("version", f"this file has no version {body.version}")
    if body.reply_to is not None:
        parent = db.get(FileComment, body.reply_to)
        if parent is None or parent.file_id != file.id:
            raise _invalid("reply_to", "is not a comment of this file")
        if parent.reply_to_id is not None:
            raise _invalid("reply_to", "answer the first comment of the thread, not a reply")
        if any(v is not None for v in (body.at_ms, body.until_ms, body.page, body.x, body.y)):
            raise _invalid("reply_to", "a reply has no pin of its own: it belongs to its thread")
        version = parent.version
    else:
        _check_pin(file, version, body)
    comment = FileComment(
        file_id=file.id,
        version=version,
        author=actor,
        body=body.body,
        at_ms=body.at_ms,
        until_ms=body.until_ms,
        page=body.page,
        x=body.x,
        y=body.y,
        reply_to_id=body.reply_to,
    )
    db.add(comment)
    db.flush()
    mentioned = mentioned_members(db, project, body.body)
    stage_comment_added(db, project, file, comment, actor, mentioned)
    return AddedComment(comment, mentioned)


def resolve(comment: FileComment, actor: User) -> FileComment:
    """Resolving twice keeps the first resolution (a retry changes nothing). The caller commits."""
    if comment.reply_to_id is not None:
        raise FilesRefused(409, "reply-not-resolvable", "Resolve the thread's first comment, not a reply")
    if comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = utcnow(), actor
    return comment


def reopen(comment: FileComment) -> FileComment:
    if comment.reply_to_id is not None:
        raise FilesRefused(409, "reply-not-resolvable", "Reopen the thread's first comment, not a reply")
    comment.resolved_at, comment.resolved_by = None, None
    return comment
