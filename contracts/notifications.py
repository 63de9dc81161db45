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
    "NotificationKind",
    "wants_email",
    "wants_in_app",
]

Channel = Literal["in_app", "email", "both", "none"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
# In-app only until the user chooses email: the service learns the address when they do.
DEFAULT_CHANNEL: Final[Channel] = "in_app"
_IN_APP: Final[frozenset[Channel]] = frozenset({"in_app", "both"})
_EMAIL: Final[frozenset[Channel]] = frozenset({"email", "both"})

# Every kind of notification the service drafts; a user sets a channel for each.
NotificationKind = Literal[
    "booking.created",
    "booking.confirmed",
    "booking.pending_payment",
    "booking.waitlisted",
    "booking.promoted",
    "booking.paid",
    "booking.cancelled",
    "booking.refunded",
    "session.cancelled",
    "session.reminder",
    "request.sent",
    "request.accepted",
    "request.declined",
    "request.cancelled",
    "request.expired",
    "request.reschedule_proposed",
    "request.reschedule_accepted",
    "request.reschedule_declined",
    "file.version_added",
    "file.comment_added",
    "deliverable.submitted",
    "deliverable.approved",
    "deliverable.changes_requested",
    "message.received",
    "message.mentioned",
]
# Each kind with the label a settings page shows, in the order it shows them.
NOTIFICATION_KINDS: Final[Mapping[NotificationKind, str]] = MappingProxyType(
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
        "file.version_added": "New files and versions on your projects",
        # A mention reaches the inbox whatever this says (the notification service's rules).
        "file.comment_added": "Comments on project files (mentions always reach your inbox)",
        "deliverable.submitted": "Deliverables handed in to you",
        "deliverable.approved": "Your deliverables approved",
        "deliverable.changes_requested": "Changes asked for on your deliverables",
        "message.received": "New messages while you are away (a burst is one notification)",
        # A mention reaches the inbox whatever this says, and even in a muted conversation.
        "message.mentioned": "Messages that mention you (always reach your inbox)",
    }
)


def wants_in_app(channel: str) -> bool:
    return channel in _IN_APP


def wants_email(channel: str) -> bool:
    return channel in _EMAIL
