"""The notifications area stores nothing in the control plane's database: the inbox lives in
the notification service's own store, reached through ``services.NotificationsClient``."""

from __future__ import annotations

__all__: list[str] = []
