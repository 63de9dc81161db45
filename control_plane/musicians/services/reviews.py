"""Reviews of engagements, and the rating they add up to on the musician's profile.

Who may review: the producer or band manager who sent the request, once the engagement was
accepted and has ended; one review per request (a unique constraint, so two at once cannot
both land). The profile's ``rating_count``, ``rating_sum`` and ``rating_rank`` change in the
same transaction as the review row, with one relative ``UPDATE`` (no read-modify-write, so
concurrent reviews of one musician never lose a count).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.musicians.models import (
    RATING_PRIOR_MEAN,
    RATING_PRIOR_WEIGHT,
    BookingRequest,
    MusicianProfile,
    MusicianReview,
)
from control_plane.musicians.services.refusals import RequestRefused

__all__ = ["review_engagement"]

DbSession = Session | scoped_session[Any]


def review_engagement(
    db: DbSession, reviewer: User, request_id: int, stars: int, text: str, now: datetime
) -> MusicianReview:
    """Stage the review and the profile's new aggregates; the caller commits."""
    request = db.scalars(
        select(BookingRequest)
        .where(BookingRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if request is None or reviewer.id not in (request.musician_id, request.requester_id):
        raise RequestRefused(404, "request-not-found", f"Request {request_id} does not exist")
    if reviewer.id != request.requester_id:
        raise RequestRefused(403, "forbidden", "Only the producer or band manager who booked the musician reviews")
    if request.status != "accepted":
        raise RequestRefused(
            409, "not-reviewable", f"Only accepted engagements can be reviewed; this request is {request.status}"
        )
    if request.ends_at > now:
        raise RequestRefused(
            409, "engagement-not-ended", f"The engagement ends at {request.ends_at.isoformat()}; review it afterwards"
        )
    if db.scalar(select(MusicianReview.id).where(MusicianReview.request_id == request.id)) is not None:
        raise RequestRefused(409, "already-reviewed", "This engagement has been reviewed already")
    review = MusicianReview(
        request_id=request.id,
        musician_id=request.musician_id,
        reviewer_id=reviewer.id,
        reviewer=reviewer,
        stars=stars,
        text=text,
        created_at=now,
    )
    db.add(review)
    try:
        db.flush()
    except IntegrityError:  # the same review arrived twice at once; the other one won
        db.rollback()
        raise RequestRefused(409, "already-reviewed", "This engagement has been reviewed already") from None
    profile = MusicianProfile.__table__.c
    # SET expressions read the row's old values on SQLite and PostgreSQL alike.
    db.execute(
        update(MusicianProfile)
        .where(profile.user_id == request.musician_id)
        .values(
            rating_count=profile.rating_count + 1,
            rating_sum=profile.rating_sum + stars,
            rating_rank=(profile.rating_sum + stars + RATING_PRIOR_MEAN * RATING_PRIOR_WEIGHT)
            / (profile.rating_count + 1.0 + RATING_PRIOR_WEIGHT),
        )
        .execution_options(synchronize_session=False)
    )
    return review
