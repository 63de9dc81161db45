"""Every notification kind a user can set a channel for, and the channels."""

from __future__ import annotations

from typing import Literal

__all__ = ["CHANNELS", "DEFAULT_CHANNEL", "KINDS", "Channel", "wants_email", "wants_in_app"]

Channel = Literal["in_app", "email", "both", "none"]
CHANNELS: tuple[str, ...] = ("in_app", "email", "both", "none")
# In-app only until the user chooses email: the service learns the address when they do.
DEFAULT_CHANNEL: Channel = "in_app"

KINDS: dict[str, str] = {
    "booking.created": "Someone booked one of your sessions",
    "booking.confirmed": "Your booking is confirmed",
    "booking.pending_payment": "Your booking waits for payment",
    "booking.waitlisted": "Waitlist places",
    "booking.promoted": "Waitlist moved up",
    "booking.paid": "Payments received for your sessions",
    "booking.cancelled": "Booking cancellations",
    "booking.refunded": "Refunds",
    "session.cancelled": "A session you booked was cancelled",
    "session.reminder": "Reminders before your sessions",
    "request.sent": "Booking requests to you",
    "request.accepted": "Your requests accepted",
    "request.declined": "Your requests declined",
    "request.cancelled": "Requests cancelled",
    "request.expired": "Requests expired",
    "request.reschedule_proposed": "New times proposed",
    "request.reschedule_accepted": "New times agreed",
    "request.reschedule_declined": "New times declined",
}


def wants_in_app(channel: str) -> bool:
    return channel in ("in_app", "both")


def wants_email(channel: str) -> bool:
    return channel in ("email", "both")
