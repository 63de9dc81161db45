"""The ``expire_requests`` housekeeping job: pending requests nobody answered in time expire.

Each request's deadline (``expires_at``) is fixed when it is sent or rescheduled, from
``settings.requests.expire_after_hours`` and never later than its start. The job locks each
overdue row and re-checks it, so two relay processes running it at once expire every
request exactly once, with exactly one ``request.expired`` event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.kits.jobs import Job
from control_plane.musicians.models import BookingRequest
from control_plane.musicians.services.requests import expire_request
from downbeat.settings import Settings

__all__ = ["BATCH", "JOBS", "expire_requests"]

BATCH = 200


def expire_requests(session: Session, now: datetime, settings: Settings) -> int:
    """Expire every overdue pending request, committing a batch at a time; returns how many."""
    del settings  # deadlines were computed from the settings when each request was sent
    handled = 0
    while True:
        overdue = session.scalars(
            select(BookingRequest.id)
            .where(BookingRequest.status == "pending", BookingRequest.expires_at <= now)
            .order_by(BookingRequest.expires_at, BookingRequest.id)
            .limit(BATCH)
        ).all()
        if not overdue:
            return handled
        for request_id in overdue:
            locked = session.scalars(
                select(BookingRequest)
                .where(BookingRequest.id == request_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).first()
            if locked is not None and locked.status == "pending" and locked.expires_at <= now:
                expire_request(session, locked, now)
                handled += 1
        session.commit()


JOBS: dict[str, Job] = {
    "expire_requests": expire_requests,
}
