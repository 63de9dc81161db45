"""Who may see a project's files, and the shapes every client gets (docs/FILES.md).

Members are the owner and every musician with a pending (not yet expired) or accepted
request on the project: the same rule as project conversations. Every lookup here returns
None both for "no such row" and for "not yours", so the routes answer one 404 for both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, exists, or_, select

from control_plane.accounts.models import User
from control_plane.files.models import Deliverable, FileComment, FileUpload, FileVersion, ProjectFile
from control_plane.kits.db.types import DB, utcnow
from control_plane.musicians.models import BookingRequest, Project

__all__ = [
    "Role",
    "comment_json",
    "comments_of",
    "deliverable_json",
    "file_json",
    "files_of",
    "member_ids",
    "members_json",
    "project_role",
    "upload_json",
    "version_json",
    "visible_comment",
    "visible_deliverable",
    "visible_file",
    "visible_project",
    "visible_upload",
]

Role = Literal["owner", "member"]


def _is_member(project_id: int, user_id: int, now: datetime) -> Any:
    return exists().where(
        BookingRequest.project_id == project_id,
        BookingRequest.musician_id == user_id,
        or_(
            BookingRequest.status == "accepted",
            and_(BookingRequest.status == "pending", BookingRequest.expires_at > now),
        ),
    )


def project_role(db: DB, project: Project, user_id: int, now: datetime | None = None) -> Role | None:
    """``owner``, ``member`` or None (a stranger, or a former member)."""
    if project.owner_id == user_id:
        return "owner"
    if db.scalar(select(_is_member(project.id, user_id, now or utcnow()))):
        return "member"
    return None


def visible_project(db: DB, project_id: int, user_id: int) -> Project | None:
    project = db.get(Project, project_id)
    if project is None or project_role(db, project, user_id) is None:
        return None
    return project


def visible_file(db: DB, file_id: int, user_id: int, *, for_update: bool = False) -> ProjectFile | None:
    stmt = select(ProjectFile).where(ProjectFile.id == file_id, ProjectFile.deleted_at.is_(None))
    found: ProjectFile | None = db.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None or visible_project(db, found.project_id, user_id) is None:
        return None
    return found


def visible_comment(db: DB, comment_id: int, user_id: int) -> FileComment | None:
    comment = db.get(FileComment, comment_id)
    if comment is None or visible_file(db, comment.file_id, user_id) is None:
        return None
    return comment


def visible_upload(db: DB, upload_id: str, user_id: int) -> FileUpload | None:
    """Only its creator uses an upload, and only while they still belong to the project."""
    upload = db.get(FileUpload, upload_id)
    if upload is None or upload.user_id != user_id or visible_project(db, upload.project_id, user_id) is None:
        return None
    return upload


def visible_deliverable(db: DB, deliverable_id: int, user_id: int) -> tuple[Deliverable, BookingRequest] | None:
    """A deliverable with its request, seen by the request's two parties only."""
    found = db.get(Deliverable, deliverable_id)
    if found is None:
        return None
    request = db.get(BookingRequest, found.request_id)
    if request is None or user_id not in (request.musician_id, request.requester_id):
        return None
    return found, request


def member_ids(db: DB, project: Project, now: datetime | None = None) -> list[int]:
    """The owner and every current member, owner first."""
    moment = now or utcnow()
    rows = db.scalars(
        select(BookingRequest.musician_id)
        .where(
            BookingRequest.project_id == project.id,
            or_(
                BookingRequest.status == "accepted",
                and_(BookingRequest.status == "pending", BookingRequest.expires_at > moment),
            ),
        )
        .distinct()
    )
    return [project.owner_id, *sorted(set(rows) - {project.owner_id})]


def members_json(db: DB, project: Project) -> list[dict[str, Any]]:
    ids = member_ids(db, project)
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(ids)))}
    # docs/FILES.md promises each member's ``status`` (it was missing): ``accepted`` for the
    # owner and musicians with an accepted request, ``pending`` for the rest.
    accepted = set(
        db.scalars(
            select(BookingRequest.musician_id).where(
                BookingRequest.project_id == project.id, BookingRequest.status == "accepted"
            )
        )
    )
    return [
        {
            "id": uid,
            "name": users[uid].name,
            "role": "owner" if uid == project.owner_id else "musician",
            "status": "accepted" if uid == project.owner_id or uid in accepted else "pending",
        }
        for uid in ids
        if uid in users
    ]


def files_of(project_id: int, kind: str | None = None) -> Select[Any]:
    """A project's files, most recently changed first (keyset order ``updated_at desc, id``)."""
    stmt = select(ProjectFile).where(ProjectFile.project_id == project_id, ProjectFile.deleted_at.is_(None))
    if kind:
        stmt = stmt.where(ProjectFile.kind == kind)
    return stmt.order_by(ProjectFile.updated_at.desc(), ProjectFile.id)


def comments_of(file_id: int, version_id: int | None = None) -> Select[Any]:
    stmt = select(FileComment).where(FileComment.file_id == file_id)
    if version_id is not None:
        stmt = stmt.where(FileComment.version_id == version_id)
    return stmt.order_by(FileComment.id)


def _user(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.name}


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def version_json(file: ProjectFile, version: FileVersion) -> dict[str, Any]:
    analysis = None
    if version.analysis_status != "none":
        analysis = {
            "status": version.analysis_status,
            "progress": version.analysis_progress,
            "result": version.analysis,
            "error": version.analysis_error,
        }
    return {
        "id": version.id,
        "number": version.number,
        "size": version.size,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "note": version.note,
        "uploaded_by": _user(version.uploaded_by),
        "created_at": _when(version.created_at),
        "content_url": f"/api/files/{file.id}/versions/{version.number}/content",
        "analysis": analysis,
    }


def file_json(db: DB, file: ProjectFile) -> dict[str, Any]:
    comments = db.execute(
        select(FileComment.id, FileComment.reply_to_id, FileComment.resolved_at).where(FileComment.file_id == file.id)
    ).all()
    # A reply is open or resolved with its thread: replies cannot be resolved themselves, so
    # counting their own (always empty) resolved_at kept a fully resolved file "open" forever.
    resolved = {cid for cid, _, resolved_at in comments if resolved_at is not None}
    open_count = sum(1 for cid, reply_to, _ in comments if (reply_to or cid) not in resolved)
    return {
        "id": file.id,
        "project_id": file.project_id,
        "name": file.name,
        "kind": file.kind,
        "current_version": file.current_version,
        "created_at": _when(file.created_at),
        "updated_at": _when(file.updated_at),
        "created_by": _user(file.created_by),
        "comment_count": len(comments),
        "open_comment_count": open_count,
        "versions": [version_json(file, v) for v in file.versions],
    }


def comment_json(comment: FileComment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "file_id": comment.file_id,
        "version": comment.version.number,
        "author": _user(comment.author),
        "body": comment.body,
        "at_ms": comment.at_ms,
        "until_ms": comment.until_ms,
        "page": comment.page,
        "x": comment.x,
        "y": comment.y,
        "reply_to": comment.reply_to_id,
        "resolved": comment.resolved_at is not None,
        "resolved_at": _when(comment.resolved_at),
        "resolved_by": _user(comment.resolved_by),
        "created_at": _when(comment.created_at),
    }


def upload_json(upload: FileUpload, offset: int, chunk_bytes: int) -> dict[str, Any]:
    return {
        "id": upload.id,
        "project_id": upload.project_id,
        "file_id": upload.file_id,
        "name": upload.name,
        "note": upload.note,
        "size": upload.size,
        "offset": offset,
        "chunk_bytes": chunk_bytes,
        "status": upload.status,
        "expires_at": _when(upload.expires_at),
        "created_at": _when(upload.created_at),
        "url": f"/api/uploads/{upload.id}",
    }


def deliverable_json(row: Deliverable) -> dict[str, Any]:
    return {
        "id": row.id,
        "request_id": row.request_id,
        "project_id": row.project_id,
        "title": row.title,
        "description": row.description,
        "status": row.status,
        "file_id": row.file_id,
        "version": row.version_number,
        "note": row.note,
        "submitted_at": _when(row.submitted_at),
        "decided_at": _when(row.decided_at),
        "created_at": _when(row.created_at),
    }
