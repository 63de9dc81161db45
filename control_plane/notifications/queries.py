"""No reads of the control plane's own: every notification read goes to the notification
service (``services.NotificationsClient``)."""

from __future__ import annotations

__all__: list[str] = []
