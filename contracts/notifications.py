"""Notification kinds and channels: what a user chooses, per kind, and how it reaches them.

The notification service decides, stores and mails by these; the control plane's
preferences API accepts these channels; browsers get both lists from the preferences answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

__all__ = [
    "CHANNELS",
    "DEFAULT_CHANNEL",
    "NOTIFICATION_KINDS",
    "Channel",
    "wants_email",
    "wants_in_app",
]

Channel = Literal["in_app", "email", "both", "none"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
# In-app only until the user chooses email: the service learns the address when they do.
DEFAULT_CHANNEL: Final[Channel] = "in_app"
_IN_APP: Final[frozenset[Channel]] = frozenset({"in_app", "both"})
_EMAIL: Final[frozenset[Channel]] = frozenset({"email", "both"})

# Every kind a user can set a channel for, with the label a settings page shows.
NOTIFICATION_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
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
)


def wants_in_app(channel: str) -> bool:
    return channel in _IN_APP


def wants_email(channel: str) -> bool:
    return channel in _EMAIL
