"""Read shapes of the musicians area: a profile as the API shows it (search items carry the
same portfolio), and the booking requests a person may list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, scoped_session, selectinload

from control_plane.musicians.models import BookingRequest, MusicianProfile
from control_plane.musicians.schemas import portfolio_kind

__all__ = ["portfolio_links", "profile_json", "profile_of", "requests_of"]

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
) -> Select[tuple[BookingRequest]]:
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
