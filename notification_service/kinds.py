"""The notification kinds and channels this service decides by: defined in
``contracts.notifications`` (the control plane accepts the same channels)."""

from __future__ import annotations

from contracts.notifications import (
    CHANNELS,
    DEFAULT_CHANNEL,
    NOTIFICATION_KINDS,
    Channel,
    NotificationKind,
    wants_email,
    wants_in_app,
)

__all__ = [
    "CHANNELS",
    "DEFAULT_CHANNEL",
    "NOTIFICATION_KINDS",
    "Channel",
    "NotificationKind",
    "wants_email",
    "wants_in_app",
]
