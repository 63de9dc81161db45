"""HTTP client for the notification service's internal API (it owns the inbox store)."""

from __future__ import annotations

from typing import Any

import requests

__all__ = ["NotificationsClient", "NotificationsUnavailable"]


class NotificationsUnavailable(RuntimeError):
    pass


class NotificationsClient:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def since(self, user_id: int, since: int | None, limit: int = 500) -> dict[str, Any]:
        """``{"items": [...], "epoch": str}`` for ids greater than ``since``, in id order."""
        try:
            response = requests.get(
                f"{self._base}/internal/users/{user_id}/notifications",
                params={"since": since or 0, "limit": limit},
                timeout=self._timeout,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise NotificationsUnavailable(str(exc)) from exc
        body: dict[str, Any] = response.json()
        return body

    def mark_read(self, user_id: int, notification_id: int) -> bool:
        try:
            response = requests.post(
                f"{self._base}/internal/users/{user_id}/notifications/{notification_id}/read", timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise NotificationsUnavailable(str(exc)) from exc
        return response.status_code == 204
