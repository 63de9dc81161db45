"""Deliverables of an accepted booking request: the producer lists them, the musician hands
in a version of one of the project's files, the producer approves it or asks for changes.

    open --submit--> submitted --approve--> approved (final)
                         |  ^
          request-changes v  | submit again
                   changes_requested

Every step stages an event for the other side (``booking.events``, keyed by request id);
payments release the musician's money on ``deliverable.approved``. Each transition locks
the deliverable's row, so a double click or two tabs apply once: a repeat of the step just
taken answers the same state, a step that no longer applies is a 409 naming the state.
"""

from __future__ import annotations

from sqlalchemy import select

from contracts.files import (
    DeliverableApproved,
    DeliverableChangesRequested,
    DeliverableEvent,
    DeliverableSubmitted,
)
from control_plane.accounts.models import User
from control_plane.files.models import Deliverable, FileVersion, ProjectFile
from control_plane.files.schemas import ChangesBody, DecisionBody, DeliverableBody, SubmitBody
from control_plane.files.services.refusals import FilesRefused
from control_plane.kits.db.types import DB, utcnow
from control_plane.kits.outbox.writer import add_event
from control_plane.musicians.models import BookingRequest, Project

__all__ = ["add_deliverable", "approve", "ensure_not_delivered", "lock", "request_changes", "submit"]


def ensure_not_delivered(db: DB, file: ProjectFile) -> None:
    """A file handed in for a deliverable (submitted or approved) stays: it is what the
    producer approves and pays for. 409 names the deliverables."""
    titles = list(
        db.scalars(
            select(Deliverable.title).where(
                Deliverable.file_id == file.id, Deliverable.status.in_(("submitted", "approved"))
            )
        )
    )
    if titles:
        raise FilesRefused(
            409,
            "file-delivered",
            f"This file was handed in for {', '.join(repr(t) for t in titles)}; it cannot be deleted",
            deliverables=titles,
        )


def _state(row: Deliverable, wanted: str) -> FilesRefused:
    return FilesRefused(
        409,
        "deliverable-state",
        f"This deliverable is {row.status.replace('_', ' ')}; it cannot be {wanted} now",
        current_state=row.status,
    )


def lock(db: DB, deliverable_id: int) -> Deliverable | None:
    return db.scalar(select(Deliverable).where(Deliverable.id == deliverable_id).with_for_update())


def add_deliverable(db: DB, actor: User, request: BookingRequest, body: DeliverableBody) -> Deliverable:
    """The producer lists a deliverable on an accepted request; the caller commits."""
    if actor.id != request.requester_id:
        raise FilesRefused(403, "not-requester", "Only the producer who sent the request lists its deliverables")
    if request.status != "accepted":
        raise FilesRefused(
            409,
            "request-not-accepted",
            f"Deliverables belong to an accepted engagement; this request is {request.status}",
            current_state=request.status,
        )
    row = Deliverable(
        request_id=request.id, project_id=request.project_id, title=body.title, description=body.description
    )
    db.add(row)
    db.flush()
    return row


def _event(
    kind: type[DeliverableEvent], row: Deliverable, project: Project, actor: User, recipient: int, **extra: object
) -> DeliverableEvent:
    return kind(
        deliverable_id=row.id,
        request_id=row.request_id,
        project_id=project.id,
        project_title=project.title[:200],
        title=row.title,
        actor_id=actor.id,
        actor_name=actor.name[:120],
        recipient_id=recipient,
        note=row.note[:2000],
        **extra,  # type: ignore[arg-type]
    )


def submit(
    db: DB, actor: User, row: Deliverable, request: BookingRequest, project: Project, body: SubmitBody
) -> Deliverable:
    """The musician hands in ``body.version`` of ``body.file_id`` (a file of this project)."""
    if actor.id != request.musician_id:
        raise FilesRefused(403, "not-musician", "Only the request's musician hands in its deliverables")
    if request.status != "accepted":
        raise FilesRefused(
            409, "request-not-accepted", f"This request is {request.status}", current_state=request.status
        )
    if row.status == "submitted" and (row.file_id, row.version_number) == (body.file_id, body.version):
        return row  # a retry
    if row.status not in ("open", "changes_requested"):
        raise _state(row, "submitted")
    file = db.get(ProjectFile, body.file_id)
    if file is None or file.project_id != project.id or file.deleted_at is not None:
        raise FilesRefused.invalid_fields({"file_id": ["is not a file of this project"]})
    version = db.scalar(select(FileVersion).where(FileVersion.file_id == file.id, FileVersion.number == body.version))
    if version is None:
        raise FilesRefused.invalid_fields({"version": [f"this file has no version {body.version}"]})
    row.status, row.file_id, row.version_number = "submitted", file.id, version.number
    row.submitted_at, row.decided_at, row.note = utcnow(), None, ""
    add_event(
        db,
        _event(
            DeliverableSubmitted,
            row,
            project,
            actor,
            request.requester_id,
            file_id=file.id,
            version_number=version.number,
        ),
    )
    return row


def _ensure_producer(actor: User, request: BookingRequest) -> None:
    if actor.id != request.requester_id:
        raise FilesRefused(403, "not-requester", "Only the producer who sent the request decides on its deliverables")
    if request.status != "accepted":  # approval releases money: never for a cancelled engagement
        raise FilesRefused(
            409, "request-not-accepted", f"This request is {request.status}", current_state=request.status
        )


def _ensure_delivered_file(db: DB, row: Deliverable) -> None:
    """What is approved must still be there to be had."""
    file = None if row.file_id is None else db.get(ProjectFile, row.file_id)
    if file is None or file.deleted_at is not None:
        raise FilesRefused(
            409,
            "deliverable-file-gone",
            "The file handed in for this deliverable was deleted; ask the musician for it again",
        )


def approve(
    db: DB, actor: User, row: Deliverable, request: BookingRequest, project: Project, body: DecisionBody
) -> Deliverable:
    _ensure_producer(actor, request)
    if row.status == "approved":
        return row  # a retry
    if row.status != "submitted":
        raise _state(row, "approved")
    _ensure_delivered_file(db, row)
    row.status, row.decided_at, row.note = "approved", utcnow(), body.note
    add_event(db, _event(DeliverableApproved, row, project, actor, request.musician_id))
    return row


def request_changes(
    db: DB, actor: User, row: Deliverable, request: BookingRequest, project: Project, body: ChangesBody
) -> Deliverable:
    _ensure_producer(actor, request)
    if row.status == "changes_requested" and row.note == body.note:
        return row  # a retry
    if row.status != "submitted":
        raise _state(row, "sent back for changes")
    row.status, row.decided_at, row.note = "changes_requested", utcnow(), body.note
    add_event(db, _event(DeliverableChangesRequested, row, project, actor, request.musician_id))
    return row
