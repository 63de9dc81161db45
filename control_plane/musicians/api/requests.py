"""/api/musicians/me/availability, /api/projects and /api/requests: parse, call the use cases,
shape the answer. Profiles, reviews and search live beside it in ``profiles`` and ``search``;
all three add their routes to the area's one blueprint (``common.bp``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Response, jsonify, request
from flask_jwt_extended import jwt_required
from pydantic import BaseModel

from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.idempotency import idempotent
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.pagination import after, encode
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.musicians.api.common import bp, ensure_allowed
from control_plane.musicians.models import BookingRequest, MusicianAvailability, Project
from control_plane.musicians.queries import (
    owned_project,
    project_exists,
    project_requests,
    projects_of,
    requests_of,
    visible_request,
)
from control_plane.musicians.schemas import (
    AvailabilityBody,
    EmptyBody,
    ProjectBody,
    ProjectQuery,
    ReasonBody,
    RequestBody,
    RequestQuery,
    RescheduleBody,
)
from control_plane.musicians.services import projects
from control_plane.musicians.services import requests as booking_requests
from control_plane.musicians.services.refusals import MusiciansRefused
from control_plane.musicians.services.roles import ensure_may_create_projects, ensure_may_set_availability
from control_plane.musicians.services.saved_availability import save_availability

__all__: list[str] = []  # nothing to import: the routes join ``common.bp`` when this module loads


M = TypeVar("M", bound=BaseModel)
RETRIES = 5


# --- helpers -----------------------------------------------------------------------------


def _optional_body(model: type[M]) -> M:
    """Bodies of state changes are optional: no body means the defaults."""
    if not request.get_data(cache=True):
        return model()
    return parse_body(model)


def _expire_after() -> timedelta:
    return timedelta(hours=current_settings().requests.expire_after_hours)


def _change(user: User, action: Callable[[], BookingRequest], status: int = 200) -> Response:
    """Run a use case under the request's Idempotency-Key; a refusal changes nothing, and a
    transaction PostgreSQL aborted to break a lock cycle runs again."""

    def create() -> tuple[dict[str, Any], int]:
        for _ in range(RETRIES):
            try:
                changed = action()
            except booking_requests.RequestRefused as refused:
                db.session.rollback()
                raise refused_problem(refused) from None
            except booking_requests.RetryConflict:
                db.session.rollback()
                continue
            return changed.to_json(), status
        raise ApiProblem(409, "concurrent-change", "The request changed at the same moment; please try again")

    return idempotent(user.id, create)


def _page(stmt: Any, limit: int, shape: Callable[[Any], dict[str, Any]], cursor_of: Callable[[Any], str]) -> Response:
    """One page of a keyset-ordered ``stmt``; ``cursor_of`` the last row says where the next starts."""
    rows = db.session.scalars(stmt.limit(limit + 1)).all()
    next_cursor = cursor_of(rows[limit - 1]) if len(rows) > limit else None
    return jsonify({"items": [shape(row) for row in rows[:limit]], "next_cursor": next_cursor})


def _availability_json(user: User, row: MusicianAvailability | None) -> dict[str, Any]:
    return {
        "timezone": (row.timezone if row else None) or user.timezone,
        "follows_account_timezone": row is None or row.timezone is None,
        "weekly": list(row.weekly) if row else [],
        "exceptions": list(row.exceptions) if row else [],
        "is_set": row is not None and bool(row.weekly or any(e["available"] for e in row.exceptions)),
        "updated_at": row.updated_at.isoformat() if row else None,
    }


# --- musicians ---------------------------------------------------------------------------


@api_route(bp, "/musicians/me/availability", "GET", "The caller's weekly availability and dated exceptions")
@jwt_required()
def get_availability() -> Response:
    user = current_user()
    return jsonify(_availability_json(user, db.session.get(MusicianAvailability, user.id)))


@api_route(
    bp,
    "/musicians/me/availability",
    "PUT",
    "Replace the caller's availability (weekly windows and dated exceptions, in their time zone)",
    body=AvailabilityBody,
    responses={200: "Saved", 403: "Not a musician", 422: "Invalid fields"},
)
@jwt_required()
def put_availability() -> Response:
    user = current_user()
    ensure_allowed(ensure_may_set_availability, user)
    data = parse_body(AvailabilityBody)
    try:
        row = save_availability(db.session, user, data)
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify(_availability_json(user, row))


# --- projects ----------------------------------------------------------------------------


def _owned_project(project_id: int, user: User) -> Project:
    """The caller's project; 404 when there is none, 403 when it is someone else's."""
    project = owned_project(db.session, project_id, user.id)
    if project is not None:
        return project
    if project_exists(db.session, project_id):
        raise ApiProblem(403, "not-owner", "Only the project's owner may see or change it")
    raise ApiProblem(404, "project-not-found", f"Project {project_id} does not exist")


@api_route(
    bp,
    "/projects",
    "POST",
    "Create a project (producers and band managers)",
    body=ProjectBody,
    responses={201: "Created", 403: "Not a producer or band manager", 422: "Invalid fields"},
)
@jwt_required()
def create_project() -> tuple[Response, int]:
    user = current_user()
    ensure_allowed(ensure_may_create_projects, user)
    data = parse_body(ProjectBody)
    try:
        project = projects.create_project(db.session, user, data, utcnow())
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify(project.to_json()), 201


@api_route(bp, "/projects", "GET", "The caller's projects", query=ProjectQuery)
@jwt_required()
def list_projects() -> Response:
    query = parse_query(ProjectQuery)
    stmt = after(projects_of(current_user().id), query.cursor, Project.starts_at, Project.id)
    return _page(stmt, query.limit, lambda project: project.to_json(), lambda last: encode(last.starts_at, last.id))


@api_route(
    bp,
    "/projects/<int:project_id>",
    "GET",
    "One project with its requests (owner only)",
    responses={200: "OK", 403: "Not the owner", 404: "Not found"},
)
@jwt_required()
def get_project(project_id: int) -> Response:
    project = _owned_project(project_id, current_user())
    rows, now = project_requests(db.session, project), utcnow()
    return jsonify({**project.to_json(), "requests": [row.to_json(now) for row in rows]})


@api_route(
    bp,
    "/projects/<int:project_id>/requests",
    "POST",
    "Send a booking request to a musician (Idempotency-Key supported)",
    body=RequestBody,
    responses={
        201: "Sent, pending",
        403: "Not the project's owner",
        404: "No such project",
        409: "musician-unavailable: outside their availability or already booked then; "
        "already-requested: the same request (instrument and times) is already pending",
        422: "Invalid fields",
    },
)
@jwt_required()
def send_request(project_id: int) -> Response:
    user = current_user()
    data = parse_body(RequestBody)
    command = booking_requests.SendRequest(
        project_id=project_id,
        musician_id=data.musician_id,
        instrument=data.instrument,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        offer_amount=data.offer.amount,
        offer_currency=data.offer.currency,
        message=data.message,
    )
    return _change(
        user, lambda: booking_requests.send_request(db.session, user, command, utcnow(), _expire_after()), 201
    )


# --- requests ----------------------------------------------------------------------------


@api_route(
    bp, "/requests", "GET", "Requests the caller received (role=musician) or sent (role=requester)", query=RequestQuery
)
@jwt_required()
def list_requests() -> Response:
    query = parse_query(RequestQuery)
    now = utcnow()
    stmt = requests_of(current_user().id, query.role, query.status, query.cursor, now)
    return _page(stmt, query.limit, lambda row: row.to_json(now), lambda last: str(last.id))


@api_route(
    bp,
    "/requests/<int:request_id>",
    "GET",
    "One request (its musician or requester)",
    responses={200: "OK", 404: "Not found"},
)
@jwt_required()
def get_request(request_id: int) -> Response:
    row = visible_request(db.session, request_id, current_user().id)
    if row is None:
        raise ApiProblem(404, "request-not-found", f"Request {request_id} does not exist")
    return jsonify(row.to_json())


_TRANSITION_ANSWERS = {200: "Changed", 403: "Not your side's move", 404: "Not found", 409: "invalid-transition"}


@api_route(
    bp,
    "/requests/<int:request_id>/accept",
    "POST",
    "The musician accepts",
    body=EmptyBody,
    responses={**_TRANSITION_ANSWERS, 409: "invalid-transition, or musician-unavailable (already booked then)"},
)
@jwt_required()
def accept(request_id: int) -> Response:
    user = current_user()
    _optional_body(EmptyBody)
    return _change(user, lambda: booking_requests.accept_request(db.session, user, request_id, utcnow()))


@api_route(
    bp,
    "/requests/<int:request_id>/decline",
    "POST",
    "The musician declines",
    body=ReasonBody,
    responses=_TRANSITION_ANSWERS,
)
@jwt_required()
def decline(request_id: int) -> Response:
    user = current_user()
    data = _optional_body(ReasonBody)
    return _change(user, lambda: booking_requests.decline_request(db.session, user, request_id, data.reason, utcnow()))


@api_route(
    bp,
    "/requests/<int:request_id>/cancel",
    "POST",
    "Either side cancels a pending request or an accepted engagement",
    body=ReasonBody,
    responses=_TRANSITION_ANSWERS,
)
@jwt_required()
def cancel(request_id: int) -> Response:
    user = current_user()
    data = _optional_body(ReasonBody)
    return _change(user, lambda: booking_requests.cancel_request(db.session, user, request_id, data.reason, utcnow()))


@api_route(
    bp,
    "/requests/<int:request_id>/reschedule",
    "POST",
    "Either side proposes new times (and optionally a new offer); the other side answers",
    body=RescheduleBody,
    responses={**_TRANSITION_ANSWERS, 409: "invalid-transition or musician-unavailable", 422: "Invalid fields"},
)
@jwt_required()
def reschedule(request_id: int) -> Response:
    user = current_user()
    data = parse_body(RescheduleBody)
    command = booking_requests.ProposeReschedule(
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        offer_amount=data.offer.amount if data.offer else None,
        offer_currency=data.offer.currency if data.offer else None,
    )
    return _change(
        user,
        lambda: booking_requests.propose_reschedule(db.session, user, request_id, command, utcnow(), _expire_after()),
    )


@api_route(
    bp,
    "/requests/<int:request_id>/reschedule/accept",
    "POST",
    "The other side takes the reschedule proposal (availability and overlap are checked again)",
    body=EmptyBody,
    responses={**_TRANSITION_ANSWERS, 409: "invalid-transition or musician-unavailable"},
)
@jwt_required()
def accept_reschedule(request_id: int) -> Response:
    user = current_user()
    _optional_body(EmptyBody)
    return _change(
        user,
        lambda: booking_requests.answer_reschedule(db.session, user, request_id, True, utcnow(), _expire_after()),
    )


@api_route(
    bp,
    "/requests/<int:request_id>/reschedule/decline",
    "POST",
    "The other side refuses the reschedule proposal; the current terms stay",
    body=EmptyBody,
    responses=_TRANSITION_ANSWERS,
)
@jwt_required()
def decline_reschedule(request_id: int) -> Response:
    user = current_user()
    _optional_body(EmptyBody)
    return _change(
        user,
        lambda: booking_requests.answer_reschedule(db.session, user, request_id, False, utcnow(), _expire_after()),
    )
