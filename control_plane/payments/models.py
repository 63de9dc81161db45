"""Payments and refunds as the provider reports them (the provider is the source of truth)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = ["Payment", "Refund"]


class Payment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'cancelled')", name="status_known"),
        CheckConstraint("amount >= 0 AND refunded_amount >= 0 AND refunded_amount <= amount", name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "ref": self.provider_ref,
            "booking_id": self.booking_id,
            "provider": self.provider,
            "status": self.status,
            "amount": {"amount": self.amount, "currency": self.currency},
            "refunded": {"amount": self.refunded_amount, "currency": self.currency},
            "checkout_url": f"/pay/{self.provider_ref}" if self.status == "pending" else None,
        }


class Refund(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    provider_ref: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds")
