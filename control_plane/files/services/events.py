"""The file events the outbox carries (contracts.files): who is told is decided here, where
membership is known."""

from __future__ import annotations

from contracts.files import FileCommentAdded, FileVersionAdded
from control_plane.accounts.models import User
from control_plane.files.models import FileComment, FileVersion, ProjectFile
from control_plane.files.queries import member_ids
from control_plane.kits.db.types import DB
from control_plane.kits.outbox.writer import add_event
from control_plane.musicians.models import Project

__all__ = ["stage_comment_added", "stage_version_added"]


def _recipients(db: DB, project: Project, actor: User) -> list[int]:
    return [uid for uid in member_ids(db, project) if uid != actor.id]


def stage_version_added(
    db: DB, project: Project, file: ProjectFile, version: FileVersion, actor: User, *, attempt: int = 1
) -> FileVersionAdded:
    """Staged in the caller's transaction; audio asks the stream worker for an analysis."""
    event = FileVersionAdded(
        file_id=file.id,
        project_id=project.id,
        project_title=project.title[:200],
        file_name=file.name,
        actor_id=actor.id,
        actor_name=actor.name[:120],
        recipients=_recipients(db, project, actor) if attempt == 1 else [],
        version_id=version.id,
        version_number=version.number,
        kind=file.kind,  # type: ignore[arg-type]  # the model's check constraint keeps it a FileKind
        content_type=version.content_type[:100],
        size_bytes=version.size,
        sha256=version.sha256,
        note=version.note[:2000],
        analyse=file.kind == "audio",
        attempt=attempt,
    )
    add_event(db, event)
    return event


def stage_comment_added(
    db: DB, project: Project, file: ProjectFile, comment: FileComment, actor: User, mentioned: list[int]
) -> FileCommentAdded:
    reply_author = None
    if comment.reply_to_id is not None:
        parent = db.get(FileComment, comment.reply_to_id)
        reply_author = parent.author_id if parent is not None and parent.author_id != actor.id else None
    excerpt = " ".join(comment.body.split())[:200] or "(comment)"
    event = FileCommentAdded(
        file_id=file.id,
        project_id=project.id,
        project_title=project.title[:200],
        file_name=file.name,
        actor_id=actor.id,
        actor_name=actor.name[:120],
        recipients=_recipients(db, project, actor),
        comment_id=comment.id,
        version_number=comment.version.number,
        excerpt=excerpt,
        mentioned=[uid for uid in mentioned if uid != actor.id][:100],
        reply_to_author=reply_author,
    )
    add_event(db, event)
    return event
