"""/api/notifications: the caller's inbox and preferences, kept by the notification service."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, current_app, jsonify
from flask_jwt_extended import get_jwt_identity, jwt_required

from contracts.notifications import CHANNELS
from control_plane.accounts.auth import current_user
from control_plane.kits.extensions import NOTIFICATIONS_KEY, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.notifications import sockets
from control_plane.notifications.schemas import PreferencesBody, SinceQuery
from control_plane.notifications.services import NotificationsClient, NotificationsUnavailable, PreferencesRejected

__all__ = ["BLUEPRINTS", "bp"]

bp = Blueprint("notifications", __name__, url_prefix="/api")
T = TypeVar("T")


def _client() -> NotificationsClient:
    client: NotificationsClient = current_app.extensions[NOTIFICATIONS_KEY]
    return client


def _call(action: Callable[[], T]) -> T:
    # End the request's database transaction first: on SQLite it holds the write lock, which
    # must not wait on another service's HTTP answer.
    db.session.commit()
    try:
        return action()
    except NotificationsUnavailable:
        raise ApiProblem(503, "notifications-unavailable", "The notification service is not reachable") from None


def _me() -> int:
    return int(get_jwt_identity())


@api_route(
    bp,
    "/notifications",
    "GET",
    "Notifications after `since` in id order, with the store's `epoch`, the unread count and the last id",
    query=SinceQuery,
    responses={200: "OK", 503: "Notification service down"},
)
@jwt_required()
def list_notifications() -> Response:
    query = parse_query(SinceQuery)
    page = _call(lambda: _client().since(_me(), max(query.since, query.cursor or 0), query.limit))
    items = page["items"]
    next_cursor = str(items[-1]["id"]) if page.get("has_more") and items else None
    return jsonify(
        {
            "items": items,
            "next_cursor": next_cursor,
            "epoch": page.get("epoch"),
            "unread": page.get("unread"),
            "last_id": page.get("last_id"),
        }
    )


@api_route(
    bp,
    "/notifications/<int:notification_id>/read",
    "POST",
    "Mark one notification read",
    responses={204: "Marked", 404: "Not yours or unknown", 503: "Notification service down"},
)
@jwt_required()
def mark_read(notification_id: int) -> Response:
    found = _call(lambda: _client().mark_read(_me(), notification_id))
    if not found:
        raise ApiProblem(404, "notification-not-found", f"Notification {notification_id} is not in your inbox")
    return Response(status=204)


@api_route(
    bp,
    "/notifications/read-all",
    "POST",
    "Mark every notification read",
    responses={204: "Marked", 503: "Notification service down"},
)
@jwt_required()
def mark_all_read() -> Response:
    _call(lambda: _client().mark_all_read(_me()))
    return Response(status=204)


@api_route(
    bp,
    "/notifications/preferences",
    "GET",
    f"Channel per notification kind: {', '.join(CHANNELS[:-1])} or {CHANNELS[-1]}",
    responses={200: "OK", 503: "Notification service down"},
)
@jwt_required()
def get_preferences() -> Response:
    return jsonify(_call(lambda: _client().preferences(_me())))


@api_route(
    bp,
    "/notifications/preferences",
    "PUT",
    "Set channels per notification kind (email goes to the account's address)",
    body=PreferencesBody,
    responses={200: "Saved", 422: "Unknown kind or channel", 503: "Notification service down"},
)
@jwt_required()
def put_preferences() -> Response:
    body = parse_body(PreferencesBody)
    user = current_user()
    try:
        saved = _call(lambda: _client().set_preferences(user.id, user.email, dict(body.preferences)))
    except PreferencesRejected as exc:
        raise ApiProblem(422, "invalid-preferences", "Some preferences are not valid", errors=exc.errors) from None
    return jsonify(saved)


BLUEPRINTS: tuple[Blueprint, ...] = (bp, sockets.bp)
