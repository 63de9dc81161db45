"""/api/sessions: publish, edit, cancel and delete sessions and retreats."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import get_jwt_identity, jwt_required

from control_plane.accounts.auth import current_user
from control_plane.catalog.models import CatalogSession
from control_plane.catalog.queries import find_sessions, session_bookings
from control_plane.catalog.schemas import CancelBody, PageQuery, SessionFields, SessionPatch, SessionQuery
from control_plane.catalog.services import sessions
from control_plane.catalog.services.bookings import cancel_session
from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.catalog.services.sessions import owned_session
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.kits.http.validation import (
    field_problem,
    parse_body,
    parse_query,
)
from control_plane.payments.services.factory import current_gateway

__all__ = ["bp"]

bp = Blueprint("sessions", __name__, url_prefix="/api")


def _owned_session(session_id: int, *, private: bool = False) -> CatalogSession:
    try:
        return owned_session(db.session, current_user().id, session_id, private=private)
    except CatalogRefused as refused:
        raise refused_problem(refused) from None


@api_route(
    bp,
    "/sessions",
    "POST",
    "Create a session or retreat",
    body=SessionFields,
    responses={201: "Created", 403: "Not a creator or facilitator", 422: "Invalid fields"},
)
@jwt_required()
def create_session() -> tuple[Response, int]:
    user = current_user()
    try:
        sessions.refuse_unless_host(user)  # before the body: a guest hears why, not what is wrong with it
        listing = sessions.create_session(db.session, user, parse_body(SessionFields), utcnow())
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify(listing.to_json()), 201


@api_route(bp, "/sessions", "GET", "Published sessions (own drafts too with mine=true)", query=SessionQuery, auth=False)
@jwt_required(optional=True)
def list_sessions() -> Response:
    query = parse_query(SessionQuery)
    owner_id = None
    if query.mine:
        if _caller_id() is None:
            raise ApiProblem(401, "unauthorized", "mine=true needs a login")
        owner_id = current_user().id
    elif query.status == "draft":
        raise field_problem({"status": ["drafts are listed only with mine=true"]})
    page, next_cursor = find_sessions(
        db.session,
        owner_id=owner_id,
        status=query.status,
        kind=query.kind,
        starts_before=query.to,
        ends_after=query.from_,
        words=query.q,
        cursor=query.cursor,
        limit=query.limit,
    )
    return jsonify({"items": [row.to_json() for row in page], "next_cursor": next_cursor})


@api_route(bp, "/sessions/<int:session_id>", "GET", "One session", auth=False, responses={200: "OK", 404: "Not found"})
@jwt_required(optional=True)
def get_session(session_id: int) -> Response:
    try:
        listing = sessions.visible_session(db.session, _caller_id(), session_id)
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    return jsonify(listing.to_json())


def _caller_id() -> int | None:
    identity = get_jwt_identity()
    return int(identity) if identity is not None else None


@api_route(
    bp,
    "/sessions/<int:session_id>",
    "PATCH",
    "Edit a session (owner only)",
    body=SessionPatch,
    responses={200: "Updated", 403: "Not the owner", 409: "Capacity below seats taken", 422: "Invalid"},
)
@jwt_required()
def update_session(session_id: int) -> Response:
    data = parse_body(SessionPatch)
    try:
        listing = sessions.update_session(db.session, current_user().id, session_id, data, current_gateway(), utcnow())
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    db.session.refresh(listing)
    return jsonify(listing.to_json())


@api_route(
    bp,
    "/sessions/<int:session_id>/bookings",
    "GET",
    "Who booked (owner only), in booking order",
    query=PageQuery,
    responses={200: "OK", 404: "Not found (or not yours: who booked is the owner's alone)"},
)
@jwt_required()
def list_session_bookings(session_id: int) -> Response:
    query = parse_query(PageQuery)
    listing = _owned_session(session_id, private=True)
    items, next_cursor = session_bookings(db.session, listing.id, query.cursor or 0, query.limit)
    return jsonify({"items": items, "next_cursor": next_cursor})


@api_route(
    bp,
    "/sessions/<int:session_id>/cancel",
    "POST",
    "Cancel a session: every booking is cancelled, refunded in full and told",
    body=CancelBody,
    responses={200: "Cancelled", 403: "Not the owner", 404: "Not found", 409: "Not published"},
)
@jwt_required()
def cancel(session_id: int) -> Response:
    data = parse_body(CancelBody)
    try:
        listing = cancel_session(db.session, current_user(), session_id, data.reason, current_gateway())
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify(listing.to_json())


@api_route(
    bp,
    "/sessions/<int:session_id>",
    "DELETE",
    "Delete a draft (published sessions are cancelled instead)",
    responses={204: "Deleted", 403: "Not the owner", 404: "Not found", 409: "Not a draft"},
)
@jwt_required()
def delete_draft(session_id: int) -> Response:
    try:
        sessions.delete_draft(db.session, current_user().id, session_id)
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return Response(status=204)
