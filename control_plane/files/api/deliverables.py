"""/api/requests/{id}/deliverables, /api/projects/{id}/deliverables and
/api/deliverables/{id}/submit, /approve, /request-changes."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, jsonify
from flask import request as flask_request
from flask_jwt_extended import jwt_required
from sqlalchemy import or_, select

from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.files.api.common import bp, project_for, redis_client
from control_plane.files.models import Deliverable
from control_plane.files.queries import deliverable_json, visible_deliverable
from control_plane.files.schemas import ChangesBody, DecisionBody, DeliverableBody, SubmitBody
from control_plane.files.services import deliverables as service
from control_plane.files.services.live import publish_change
from control_plane.files.services.refusals import not_found
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.validation import parse_body
from control_plane.musicians.models import BookingRequest, Project
from control_plane.musicians.queries import visible_request

__all__: list[str] = []  # routes join ``common.bp`` when this module loads

_STEP_RESPONSES = {200: "OK", 403: "Not your step", 404: "Not found", 409: "Not in a state for this", 422: "Invalid"}


@api_route(bp, "/requests/<int:request_id>/deliverables", "GET", "The deliverables of a booking request")
@jwt_required()
def list_request_deliverables(request_id: int) -> Response:
    request = visible_request(db.session, request_id, current_user().id)
    if request is None:
        raise not_found("request")
    rows = db.session.scalars(select(Deliverable).where(Deliverable.request_id == request.id).order_by(Deliverable.id))
    return jsonify({"items": [deliverable_json(r) for r in rows], "next_cursor": None})


@api_route(
    bp,
    "/requests/<int:request_id>/deliverables",
    "POST",
    "List a deliverable on an accepted request (its producer)",
    body=DeliverableBody,
    responses={201: "Created", 403: "Not the producer", 404: "Not found", 409: "Request not accepted", 422: "Invalid"},
)
@jwt_required()
def create_deliverable(request_id: int) -> tuple[Response, int]:
    user = current_user()
    request = visible_request(db.session, request_id, user.id)
    if request is None:
        raise not_found("request")
    body = parse_body(DeliverableBody)
    row = service.add_deliverable(db.session, user, request, body)
    db.session.commit()
    parties = (request.requester_id, request.musician_id)
    publish_change(redis_client(), row.project_id, None, "deliverable", only=parties, deliverable_id=row.id)
    return jsonify(deliverable_json(row)), 201


@api_route(bp, "/projects/<int:project_id>/deliverables", "GET", "Every deliverable of the project the caller may see")
@jwt_required()
def list_project_deliverables(project_id: int) -> Response:
    user = current_user()
    project = project_for(project_id, user)
    stmt = (
        select(Deliverable)
        .join(BookingRequest, BookingRequest.id == Deliverable.request_id)
        .where(Deliverable.project_id == project.id)
        .order_by(Deliverable.id)
    )
    if project.owner_id != user.id:  # a musician sees their own engagements' deliverables
        stmt = stmt.where(or_(BookingRequest.musician_id == user.id, BookingRequest.requester_id == user.id))
    return jsonify({"items": [deliverable_json(r) for r in db.session.scalars(stmt)], "next_cursor": None})


Step = Callable[[User, Deliverable, BookingRequest, Project], Deliverable]


def _step(deliverable_id: int, step: Step) -> Response:
    user = current_user()
    found = visible_deliverable(db.session, deliverable_id, user.id)
    if found is None:
        raise not_found("deliverable")
    _, request = found
    project = db.session.get(Project, request.project_id)
    row = service.lock(db.session, deliverable_id)
    if row is None or project is None:
        raise not_found("deliverable")
    changed = step(user, row, request, project)
    db.session.commit()
    parties = (request.requester_id, request.musician_id)  # the other members never see it
    publish_change(
        redis_client(), changed.project_id, changed.file_id, "deliverable", only=parties, deliverable_id=changed.id
    )
    return jsonify(deliverable_json(changed))


@api_route(
    bp,
    "/deliverables/<int:deliverable_id>/submit",
    "POST",
    "Hand in a version of a project file (the request's musician)",
    body=SubmitBody,
    responses=_STEP_RESPONSES,
)
@jwt_required()
def submit_deliverable(deliverable_id: int) -> Response:
    body = parse_body(SubmitBody)
    return _step(deliverable_id, lambda u, row, req, proj: service.submit(db.session, u, row, req, proj, body))


@api_route(
    bp,
    "/deliverables/<int:deliverable_id>/approve",
    "POST",
    "Approve a submitted deliverable (the producer); final",
    body=DecisionBody,
    body_required=False,
    responses=_STEP_RESPONSES,
)
@jwt_required()
def approve_deliverable(deliverable_id: int) -> Response:
    body = parse_body(DecisionBody) if flask_request.get_data(cache=True) else DecisionBody()
    return _step(deliverable_id, lambda u, row, req, proj: service.approve(db.session, u, row, req, proj, body))


@api_route(
    bp,
    "/deliverables/<int:deliverable_id>/request-changes",
    "POST",
    "Ask for changes to a submitted deliverable (the producer), saying which",
    body=ChangesBody,
    responses=_STEP_RESPONSES,
)
@jwt_required()
def request_deliverable_changes(deliverable_id: int) -> Response:
    body = parse_body(ChangesBody)
    return _step(deliverable_id, lambda u, row, req, proj: service.request_changes(db.session, u, row, req, proj, body))
