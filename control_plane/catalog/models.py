"""Sessions (and retreats) with a capacity, and the seat bookings against them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from control_plane.accounts.models import User
from control_plane.db_types import UTCDateTime, utcnow
from control_plane.extensions import db

__all__ = ["Booking", "CatalogSession"]


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
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "owner_name": self.owner.name,
            "title": self.title,
            "description": self.description,
            "kind": self.kind,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "timezone": self.timezone,
            "capacity": self.capacity,
            "seats_taken": self.seats_taken,
            "seats_left": self.seats_left,
            "price": {"amount": self.price_amount, "currency": self.price_currency},
            "location": self.location,
            "status": self.status,
            "refund_policy": {
                "full_until_hours": self.refund_full_hours,
                "partial_until_hours": self.refund_partial_hours,
                "partial_percent": self.refund_partial_percent,
            },
            "cancelled_at": self.cancelled_at.isoformat() if self.cancelled_at else None,
            "created_at": self.created_at.isoformat(),
        }


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
        return {
            "id": self.id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "seats": self.seats,
            "status": self.status,
            "notes": self.notes,
            "price": {"amount": self.amount, "currency": self.currency},
            "created_at": self.created_at.isoformat(),
            "cancelled_at": self.cancelled_at.isoformat() if self.cancelled_at else None,
        }
