"""Sessions (and retreats) with a capacity, and the seat bookings against them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from control_plane.accounts.models import User
from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = ["Booking", "BookingFields", "CatalogSession", "ListingFields", "booking_fields_json", "listing_json"]


class ListingFields(Protocol):
    """What the API shows of a session: a ``CatalogSession`` or a row read by raw SQL."""

    id: int
    owner_id: int
    title: str
    description: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int
    seats_taken: int
    price_amount: int
    price_currency: str
    location: str
    status: str
    refund_full_hours: int
    refund_partial_hours: int
    refund_partial_percent: int
    cancelled_at: datetime | None
    created_at: datetime


class BookingFields(Protocol):
    """What the API shows of a booking: a ``Booking`` or the hot path's plain record."""

    id: int
    session_id: int
    user_id: int
    seats: int
    status: str
    notes: str
    amount: int
    currency: str
    created_at: datetime
    cancelled_at: datetime | None


def listing_json(listing: ListingFields, owner_name: str) -> dict[str, object]:
    """The API shape of a session (times in UTC, as the model and the hot path hold them)."""
    return {
        "id": listing.id,
        "owner_id": listing.owner_id,
        "owner_name": owner_name,
        "title": listing.title,
        "description": listing.description,
        "kind": listing.kind,
        "starts_at": listing.starts_at.isoformat(),
        "ends_at": listing.ends_at.isoformat(),
        "timezone": listing.timezone,
        "capacity": listing.capacity,
        "seats_taken": listing.seats_taken,
        "seats_left": listing.capacity - listing.seats_taken,
        "price": {"amount": listing.price_amount, "currency": listing.price_currency},
        "location": listing.location,
        "status": listing.status,
        "refund_policy": {
            "full_until_hours": listing.refund_full_hours,
            "partial_until_hours": listing.refund_partial_hours,
            "partial_percent": listing.refund_partial_percent,
        },
        "cancelled_at": listing.cancelled_at.isoformat() if listing.cancelled_at else None,
        "created_at": listing.created_at.isoformat(),
    }


def booking_fields_json(booking: BookingFields) -> dict[str, object]:
    """The API shape of a booking's own fields (``bookings_api`` adds what it links to)."""
    return {
        "id": booking.id,
        "session_id": booking.session_id,
        "user_id": booking.user_id,
        "seats": booking.seats,
        "status": booking.status,
        "notes": booking.notes,
        "price": {"amount": booking.amount, "currency": booking.currency},
        "created_at": booking.created_at.isoformat(),
        "cancelled_at": booking.cancelled_at.isoformat() if booking.cancelled_at else None,
    }


class CatalogSession(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "sessions"
    # The database itself refuses an overbooked row, whatever the application does.
    __table_args__ = (
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="session")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    price_amount: Mapped[int] = mapped_column(Integer, default=0)
    price_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    location: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # Refund policy: full refund until `refund_full_hours` before the start, then
    # `refund_partial_percent` until `refund_partial_hours` before, then none.
    refund_full_hours: Mapped[int] = mapped_column(Integer, default=48)
    refund_partial_hours: Mapped[int] = mapped_column(Integer, default=24)
    refund_partial_percent: Mapped[int] = mapped_column(Integer, default=50)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()

    @property
    def seats_left(self) -> int:
        return self.capacity - self.seats_taken

    def to_json(self) -> dict[str, object]:
        return listing_json(self, self.owner.name)


class Booking(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bookings"
    __table_args__ = (
        # One live booking per person per session; a cancelled one does not block rebooking.
        Index(
            "uq_bookings_active_session_user",
            "session_id",
            "user_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("status IN ('pending_payment', 'confirmed', 'waitlisted', 'cancelled')", name="status_known"),
        # First come, first served: the waitlist is read in this order.
        Index("ix_bookings_waitlist", "session_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(24))
    notes: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int] = mapped_column(Integer, default=0)  # price x seats when booked
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    session: Mapped[CatalogSession] = relationship()
    user: Mapped[User] = relationship()

    def to_json(self) -> dict[str, object]:
        return booking_fields_json(self)
