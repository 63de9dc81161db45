"""Read shapes of the musicians area: a profile as the API shows it (search items carry the
same portfolio) and its reviews; the projects and booking requests a person may see. Who may
see what is decided here: a lookup answers None for "no such thing" and "not yours" alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, scoped_session, selectinload

from control_plane.musicians.models import BookingRequest, MusicianProfile, MusicianReview, Project
from control_plane.musicians.schemas import portfolio_kind

__all__ = [
    "owned_project",
    "portfolio_links",
    "profile_json",
    "profile_of",
    "project_exists",
    "project_requests",
    "projects_of",
    "requests_of",
    "reviews_of",
    "visible_request",
]

DbSession = Session | scoped_session[Any]


def portfolio_links(links: list[str]) -> list[dict[str, str]]:
    """Stored links with their service, for pages that show an icon per service."""
    shaped = []
    for url in links:
        try:
            shaped.append({"kind": portfolio_kind(url), "url": url})
        except ValueError:
            continue  # saved before links were checked; shown nowhere rather than wrongly
    return shaped


def profile_of(db: DbSession, user_id: int) -> MusicianProfile | None:
    """The profile with what ``profile_json`` reads, loaded in the same round trips."""
    return db.scalars(
        select(MusicianProfile)
        .where(MusicianProfile.user_id == user_id)
        .options(selectinload(MusicianProfile.instruments), selectinload(MusicianProfile.user))
    ).first()


def profile_json(profile: MusicianProfile) -> dict[str, Any]:
    body = profile.to_json()
    body["portfolio"] = portfolio_links(profile.links)
    return body


def requests_of(
    user_id: int, role: str | None, status: str | None, before_id: int | None, now: datetime
) -> Select[BookingRequest]:
    """Requests ``user_id`` received (``role="musician"``), sent (``"requester"``) or either,
    newest first, older than ``before_id`` when given. The status is the one a reader sees
    (``BookingRequest.effective_status``): a pending request past its deadline is expired
    already, whether or not the expiry job has recorded it."""
    stmt = select(BookingRequest).order_by(BookingRequest.id.desc())
    if role == "musician":
        stmt = stmt.where(BookingRequest.musician_id == user_id)
    elif role == "requester":
        stmt = stmt.where(BookingRequest.requester_id == user_id)
    else:
        stmt = stmt.where(or_(BookingRequest.musician_id == user_id, BookingRequest.requester_id == user_id))
    if status == "expired":
        stmt = stmt.where(
            or_(
                BookingRequest.status == "expired",
                (BookingRequest.status == "pending") & (BookingRequest.expires_at <= now),
            )
        )
    elif status == "pending":
        stmt = stmt.where(BookingRequest.status == "pending", BookingRequest.expires_at > now)
    elif status is not None:
        stmt = stmt.where(BookingRequest.status == status)
    if before_id:
        stmt = stmt.where(BookingRequest.id < before_id)  # newest first: the next page is older
    return stmt


def reviews_of(musician_id: int, before_id: int | None) -> Select[MusicianReview]:
    """The musician's reviews with their reviewers, newest first, older than ``before_id``."""
    stmt = (
        select(MusicianReview)
        .where(MusicianReview.musician_id == musician_id)
        .options(selectinload(MusicianReview.reviewer))
        .order_by(MusicianReview.id.desc())
    )
    if before_id is not None:
        stmt = stmt.where(MusicianReview.id < before_id)
    return stmt


# --- projects and requests: only their parties see them ----------------------------------


def owned_project(db: DbSession, project_id: int, owner_id: int) -> Project | None:
    """The project when ``owner_id`` owns it; None when it does not exist or is someone else's
    (only its owner sees a project)."""
    project = db.get(Project, project_id)
    return project if project is not None and project.owner_id == owner_id else None


def project_exists(db: DbSession, project_id: int) -> bool:
    """Whether a project has this id (for an answer that tells "not yours" from "none")."""
    return db.get(Project, project_id) is not None


def projects_of(owner_id: int) -> Select[Project]:
    """The owner's projects, soonest first (keyset order ``starts_at``, ``id``)."""
    return select(Project).where(Project.owner_id == owner_id).order_by(Project.starts_at, Project.id)


def project_requests(db: DbSession, project: Project) -> list[BookingRequest]:
    """Every request sent for ``project``, oldest first."""
    rows = db.scalars(select(BookingRequest).where(BookingRequest.project_id == project.id).order_by(BookingRequest.id))
    return list(rows)


def visible_request(db: DbSession, request_id: int, viewer_id: int) -> BookingRequest | None:
    """The request when ``viewer_id`` is its musician or its requester; None when it does not
    exist or is someone else's (strangers cannot tell the two apart)."""
    row = db.get(BookingRequest, request_id)
    if row is None or viewer_id not in (row.musician_id, row.requester_id):
        return None
    return row
