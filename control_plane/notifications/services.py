"""HTTP client for the notification service's internal API (it owns the inbox store)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import requests

__all__ = ["NotificationsClient", "NotificationsUnavailable", "PreferencesRejected"]


class NotificationsUnavailable(RuntimeError):
    pass


class PreferencesRejected(ValueError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid preferences")
        self.errors = errors


class NotificationsClient:
    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        *,
        while_waiting: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        # Wraps each call: the control plane passes ``request_gate.slot_released`` so that up to
        # ``timeout`` s spent on another service do not hold one of its request slots.
        self._while_waiting = while_waiting

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            with self._while_waiting():
                return requests.request(method, f"{self._base}/internal/users/{path}", timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise NotificationsUnavailable(str(exc)) from exc

    def since(self, user_id: int, since: int | None, limit: int = 500) -> dict[str, Any]:
        """``{"items": [...], "has_more", "epoch", "unread"}`` for ids after ``since``, in id order."""
        response = self._call("GET", f"{user_id}/notifications", params={"since": since or 0, "limit": limit})
        if response.status_code != 200:
            raise NotificationsUnavailable(f"inbox answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body

    def mark_read(self, user_id: int, notification_id: int) -> bool:
        response = self._call("POST", f"{user_id}/notifications/{notification_id}/read")
        if response.status_code >= 500:
            raise NotificationsUnavailable(f"inbox answered {response.status_code}")
        return response.status_code == 204

    def mark_all_read(self, user_id: int) -> int:
        response = self._call("POST", f"{user_id}/read-all")
        if response.status_code != 200:
            raise NotificationsUnavailable(f"inbox answered {response.status_code}")
        return int(response.json()["marked"])

    def preferences(self, user_id: int) -> dict[str, Any]:
        response = self._call("GET", f"{user_id}/preferences")
        if response.status_code != 200:
            raise NotificationsUnavailable(f"preferences answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body

    def set_preferences(self, user_id: int, email: str, channels: dict[str, str]) -> dict[str, Any]:
        """Saves the channels and the address mail goes to (the service has no user table)."""
        response = self._call("PUT", f"{user_id}/preferences", json={"email": email, "preferences": channels})
        if response.status_code == 422:
            raise PreferencesRejected(response.json().get("errors", {}))
        if response.status_code != 200:
            raise NotificationsUnavailable(f"preferences answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body
