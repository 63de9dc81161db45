"""/api/notifications: the caller's inbox, read from the notification service's store."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from flask_jwt_extended import get_jwt_identity, jwt_required
from pydantic import BaseModel, ConfigDict, Field

from control_plane.api_spec import api_route
from control_plane.notifications_client import NotificationsClient, NotificationsUnavailable
from control_plane.problems import ApiProblem
from control_plane.validation import parse_query

__all__ = ["bp"]

bp = Blueprint("notifications", __name__, url_prefix="/api")


class SinceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=500)


def _client() -> NotificationsClient:
    client: NotificationsClient = current_app.extensions["downbeat.notifications"]
    return client


@api_route(
    bp,
    "/notifications",
    "GET",
    "Notifications after `since`, in id order",
    query=SinceQuery,
    responses={200: "OK", 503: "Notification service down"},
)
@jwt_required()
def list_notifications() -> Response:
    query = parse_query(SinceQuery)
    try:
        page = _client().since(int(get_jwt_identity()), query.since, query.limit)
    except NotificationsUnavailable:
        raise ApiProblem(503, "notifications-unavailable", "The notification service is not reachable") from None
    items = page["items"]
    next_cursor = str(items[-1]["id"]) if page.get("has_more") and items else None
    return jsonify({"items": items, "next_cursor": next_cursor, "epoch": page.get("epoch")})


@api_route(
    bp,
    "/notifications/<int:notification_id>/read",
    "POST",
    "Mark one notification read",
    responses={204: "Marked", 404: "Not yours or unknown"},
)
@jwt_required()
def mark_read(notification_id: int) -> Response:
    try:
        found = _client().mark_read(int(get_jwt_identity()), notification_id)
    except NotificationsUnavailable:
        raise ApiProblem(503, "notifications-unavailable", "The notification service is not reachable") from None
    if not found:
        raise ApiProblem(404, "notification-not-found", f"Notification {notification_id} is not in your inbox")
    return Response(status=204)
