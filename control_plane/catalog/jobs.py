"""Housekeeping: unpaid seat holds older than ``bookings.payment_hold_minutes`` are released."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.catalog.models import Booking
from control_plane.catalog.services.bookings import release_expired_hold
from control_plane.kits.jobs import Job
from control_plane.payments.services.factory import gateway_from_settings
from downbeat.settings import Settings

__all__ = ["JOBS", "release_expired_holds"]


def release_expired_holds(session: Session, now: datetime, settings: Settings) -> int:
    cutoff = now - timedelta(minutes=settings.bookings.payment_hold_minutes)
    expired_ids = list(
        session.scalars(
            select(Booking.id).where(Booking.status == "pending_payment", Booking.updated_at < cutoff).limit(200)
        )
    )
    gateway = gateway_from_settings(settings)
    released = 0
    for booking_id in expired_ids:
        booking = session.get(Booking, booking_id)
        if booking is not None and release_expired_hold(session, booking, gateway):
            released += 1
        session.commit()  # one booking per transaction: a failure never holds up the rest
    return released


JOBS: dict[str, Job] = {
    "release_expired_holds": release_expired_holds,
}
