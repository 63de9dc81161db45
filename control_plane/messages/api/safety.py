"""Blocking people and reporting messages."""

from __future__ import annotations

from flask import Response, jsonify
from flask_jwt_extended import jwt_required
from sqlalchemy import select

from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.validation import parse_body
from control_plane.messages.api.common import bp, limit_per_sender
from control_plane.messages.models import UserBlock
from control_plane.messages.queries import visible_message
from control_plane.messages.schemas import ReportBody
from control_plane.messages.services import safety
from control_plane.messages.services.refusals import not_found

__all__: list[str] = []  # routes join ``common.bp`` when this module loads


@api_route(
    bp,
    "/users/<int:user_id>/block",
    "POST",
    "Block someone: neither of you can start or post in a direct conversation with the other",
    responses={204: "Blocked (a repeat too)", 404: "No such user", 422: "Yourself"},
)
@jwt_required()
def block(user_id: int) -> tuple[str, int]:
    safety.block(db.session, current_user(), user_id)
    db.session.commit()
    return "", 204


@api_route(
    bp,
    "/users/<int:user_id>/block",
    "DELETE",
    "Unblock someone",
    responses={204: "Unblocked (or was not blocked)"},
)
@jwt_required()
def unblock(user_id: int) -> tuple[str, int]:
    safety.unblock(db.session, current_user(), user_id)
    db.session.commit()
    return "", 204


@api_route(bp, "/users/blocked", "GET", "The people the caller blocked")
@jwt_required()
def blocked() -> Response:
    user = current_user()
    rows = db.session.execute(
        select(User.id, User.name, UserBlock.created_at)
        .join(UserBlock, UserBlock.blocked_id == User.id)
        .where(UserBlock.blocker_id == user.id)
        .order_by(UserBlock.created_at)
    ).all()
    return jsonify({"items": [{"id": i, "name": n, "blocked_at": at.isoformat()} for i, n, at in rows]})


@api_route(
    bp,
    "/messages/<int:message_id>/report",
    "POST",
    "Report a message to the admins (kept with its text as it was); a repeat returns the first report",
    body=ReportBody,
    responses={200: "Reported before", 201: "Reported", 404: "Not found", 422: "Invalid (or your own message)"},
)
@jwt_required()
@limit_per_sender
def report(message_id: int) -> tuple[Response, int]:
    user = current_user()
    body = parse_body(ReportBody)
    found = visible_message(db.session, message_id, user.id)
    if found is None:
        raise not_found("message")
    reported = safety.report(db.session, user, found[0], body.reason)
    db.session.commit()
    row = reported.report
    answer = {
        "id": row.id,
        "message_id": row.message_id,
        "reason": row.reason,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
    }
    return jsonify(answer), 201 if reported.created else 200
