"""/api/musicians/me/availability, /api/projects and /api/requests: parse, call the rules,
shape the answer. Profiles, reviews and search live beside it in ``profiles`` and ``search``;
all three add their routes to the area's one blueprint (``common.bp``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask import Response, jsonify, request
from flask_jwt_extended import jwt_required
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import or_, select

from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.kits.currencies import Currency
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.idempotency import idempotent
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.pagination import MAX_CURSOR, after, encode
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import (
    MAX_ROW_ID,
    ONE_LINE,
    TEXT,
    FieldRuleError,
    Moment,
    ServiceDate,
    ZoneName,
    field_problem,
    parse_body,
    parse_query,
)
from control_plane.musicians.api.common import _dedupe, _require_role, bp
from control_plane.musicians.models import (
    BookingRequest,
    MusicianAvailability,
    MusicianWeekWindow,
    Project,
)
from control_plane.musicians.services import requests as rules
from control_plane.musicians.services.availability import Availability, parse_hhmm
from control_plane.musicians.services.week_index import week_windows

__all__ = ["AvailabilityBody", "save_availability"]


M = TypeVar("M", bound=BaseModel)
# Titles, places and instrument names are one line: they show in lists, e-mails and calendar summaries.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=ONE_LINE)]
Link = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://\S+$")]
REQUESTER_ROLES = ("producer", "band_manager")
RETRIES = 5


def _start_time(value: str | None) -> str | None:
    if value is not None:
        parse_hhmm(value)
    return value


def _end_time(value: str | None) -> str | None:
    if value is not None:
        parse_hhmm(value, allow_end_of_day=True)
    return value


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=100_000_000, strict=True)
    currency: Currency


class TimeRange(BaseModel):
    MAX_SPAN: ClassVar[timedelta] = timedelta(days=31)
    starts_at: Moment
    ends_at: Moment

    @model_validator(mode="after")
    def _order(self) -> Any:
        if self.ends_at <= self.starts_at:
            raise FieldRuleError("ends_at", "must be after the start")
        if self.ends_at - self.starts_at > self.MAX_SPAN:
            raise FieldRuleError("ends_at", f"it may last {self.MAX_SPAN.days} days at most")
        return self


# --- bodies and queries ------------------------------------------------------------------


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6, strict=True, description="0 = Monday ... 6 = Sunday")
    start: str = Field(description='"HH:MM" in the musician\'s time zone')
    end: str = Field(description='"HH:MM"; "24:00" is the end of the day')

    _start = field_validator("start")(_start_time)
    _end = field_validator("end")(_end_time)

    @model_validator(mode="after")
    def _times(self) -> Any:
        if parse_hhmm(self.end, allow_end_of_day=True) <= parse_hhmm(self.start):
            raise ValueError("end must be after start")
        return self


class DatedException(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: ServiceDate
    available: bool
    start: str | None = None
    end: str | None = None

    _start = field_validator("start")(_start_time)
    _end = field_validator("end")(_end_time)

    @model_validator(mode="after")
    def _times(self) -> Any:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither for the whole day")
        if (
            self.start is not None
            and self.end is not None
            and parse_hhmm(self.end, allow_end_of_day=True) <= parse_hhmm(self.start)
        ):
            raise ValueError("end must be after start")
        return self


class AvailabilityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: ZoneName | None = Field(default=None, description="IANA zone; omitted: the account's time zone")
    weekly: list[Window] = Field(default_factory=list, max_length=100)
    exceptions: list[DatedException] = Field(default_factory=list, max_length=400)


class ProjectBody(TimeRange):
    model_config = ConfigDict(extra="forbid")
    MAX_SPAN: ClassVar[timedelta] = timedelta(days=366)  # a project may be a tour
    title: Title
    description: str = Field(default="", max_length=10_000, pattern=TEXT)
    location: str = Field(default="", max_length=200, pattern=ONE_LINE)
    instruments_needed: list[Label] = Field(default_factory=list, max_length=30)
    timezone: ZoneName | None = Field(default=None, description="IANA zone; omitted: the owner's time zone")

    _unique = field_validator("instruments_needed")(_dedupe)


class RequestBody(TimeRange):
    model_config = ConfigDict(extra="forbid")
    musician_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True, description="The musician's user id")
    instrument: Label
    offer: Money
    message: str = Field(default="", max_length=2000, pattern=TEXT)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, pattern=TEXT)


class RescheduleBody(TimeRange):
    model_config = ConfigDict(extra="forbid")
    offer: Money | None = None


class EmptyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["musician", "requester"] | None = None
    status: Literal["pending", "accepted", "declined", "cancelled", "expired"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: int | None = Field(default=None, ge=0, le=2**62)


# --- helpers -----------------------------------------------------------------------------


def _optional_body(model: type[M]) -> M:
    """Bodies of state changes are optional: no body means the defaults."""
    if not request.get_data(cache=True):
        return model()
    return parse_body(model)


def _expire_after() -> timedelta:
    return timedelta(hours=current_settings().requests.expire_after_hours)


def _problem(refused: rules.RequestRefused) -> ApiProblem:
    return ApiProblem(refused.status, refused.code, refused.detail, errors=refused.errors, **refused.extra)


def _change(user: User, action: Callable[[], BookingRequest], status: int = 200) -> Response:
    """Run a use case under the request's Idempotency-Key; a refusal changes nothing, and a
    transaction PostgreSQL aborted to break a lock cycle runs again."""

    def create() -> tuple[dict[str, Any], int]:
        for _ in range(RETRIES):
            try:
                changed = action()
            except rules.RequestRefused as refused:
                db.session.rollback()
                raise _problem(refused) from None
            except rules.RetryConflict:
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
    _require_role(user, "musician", what="set availability")
    row = save_availability(user, parse_body(AvailabilityBody))
    db.session.commit()
    return jsonify(_availability_json(user, row))


def save_availability(user: User, data: AvailabilityBody) -> MusicianAvailability:
    """Replace the musician's availability and its search index (the caller commits)."""
    row = db.session.get(MusicianAvailability, user.id) or MusicianAvailability(user_id=user.id)
    row.timezone = data.timezone
    row.weekly = [w.model_dump() for w in sorted(data.weekly, key=lambda w: (w.weekday, w.start))]
    row.exceptions = [
        e.model_dump(mode="json", exclude_none=True) for e in sorted(data.exceptions, key=lambda e: e.date)
    ]
    row.updated_at = utcnow()
    _index_for_search(row, data.timezone or user.timezone)
    db.session.add(row)
    return row


def _index_for_search(row: MusicianAvailability, zone: str) -> None:
    """The coarse UTC week picture search prefilters with (see week_index.py)."""
    parsed = Availability.from_json(zone, row.weekly, row.exceptions)
    row.indexed_zone = zone
    row.has_open_dates = any(item.available for item in parsed.exceptions)
    row.week_windows = [MusicianWeekWindow(start_w=start, end_w=end) for start, end in week_windows(parsed, utcnow())]


# --- projects ----------------------------------------------------------------------------


def _owned_project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise ApiProblem(404, "project-not-found", f"Project {project_id} does not exist")
    if project.owner_id != current_user().id:
        raise ApiProblem(403, "not-owner", "Only the project's owner may see or change it")
    return project


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
    _require_role(user, *REQUESTER_ROLES, what="create projects")
    data = parse_body(ProjectBody)
    if data.ends_at <= utcnow():
        # Nobody can be booked for a project that is over; one under way may still need people.
        raise field_problem({"ends_at": ["must be in the future: this project would already be over"]})
    project = Project(
        owner=user,
        title=data.title,
        description=data.description,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        timezone=data.timezone or user.timezone,
        location=data.location,
        instruments_needed=data.instruments_needed,
    )
    db.session.add(project)
    db.session.commit()
    return jsonify(project.to_json()), 201


class ProjectQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


@api_route(bp, "/projects", "GET", "The caller's projects", query=ProjectQuery)
@jwt_required()
def list_projects() -> Response:
    query = parse_query(ProjectQuery)
    stmt = select(Project).where(Project.owner_id == current_user().id).order_by(Project.starts_at, Project.id)
    stmt = after(stmt, query.cursor, Project.starts_at, Project.id)
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
    project = _owned_project(project_id)
    rows = db.session.scalars(
        select(BookingRequest).where(BookingRequest.project_id == project.id).order_by(BookingRequest.id)
    )
    now = utcnow()
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
    command = rules.SendRequest(
        project_id=project_id,
        musician_id=data.musician_id,
        instrument=data.instrument,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        offer_amount=data.offer.amount,
        offer_currency=data.offer.currency,
        message=data.message,
    )
    return _change(user, lambda: rules.send_request(db.session, user, command, utcnow(), _expire_after()), 201)


# --- requests ----------------------------------------------------------------------------


@api_route(
    bp, "/requests", "GET", "Requests the caller received (role=musician) or sent (role=requester)", query=RequestQuery
)
@jwt_required()
def list_requests() -> Response:
    query = parse_query(RequestQuery)
    user = current_user()
    stmt = select(BookingRequest).order_by(BookingRequest.id.desc())
    if query.role == "musician":
        stmt = stmt.where(BookingRequest.musician_id == user.id)
    elif query.role == "requester":
        stmt = stmt.where(BookingRequest.requester_id == user.id)
    else:
        stmt = stmt.where(or_(BookingRequest.musician_id == user.id, BookingRequest.requester_id == user.id))
    now = utcnow()
    if query.status == "expired":  # overdue pending ones are expired already, job or not
        stmt = stmt.where(
            or_(
                BookingRequest.status == "expired",
                (BookingRequest.status == "pending") & (BookingRequest.expires_at <= now),
            )
        )
    elif query.status == "pending":
        stmt = stmt.where(BookingRequest.status == "pending", BookingRequest.expires_at > now)
    elif query.status is not None:
        stmt = stmt.where(BookingRequest.status == query.status)
    if query.cursor:
        stmt = stmt.where(BookingRequest.id < query.cursor)  # newest first: the next page is older
    return _page(stmt, query.limit, lambda row: row.to_json(now), lambda last: str(last.id))


def _visible_request(request_id: int) -> BookingRequest:
    row = db.session.get(BookingRequest, request_id)
    if row is None or current_user().id not in (row.musician_id, row.requester_id):
        raise ApiProblem(404, "request-not-found", f"Request {request_id} does not exist")
    return row


@api_route(
    bp,
    "/requests/<int:request_id>",
    "GET",
    "One request (its musician or requester)",
    responses={200: "OK", 404: "Not found"},
)
@jwt_required()
def get_request(request_id: int) -> Response:
    return jsonify(_visible_request(request_id).to_json())


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
    return _change(user, lambda: rules.accept_request(db.session, user, request_id, utcnow()))


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
    return _change(user, lambda: rules.decline_request(db.session, user, request_id, data.reason, utcnow()))


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
    return _change(user, lambda: rules.cancel_request(db.session, user, request_id, data.reason, utcnow()))


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
    command = rules.ProposeReschedule(
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        offer_amount=data.offer.amount if data.offer else None,
        offer_currency=data.offer.currency if data.offer else None,
    )
    return _change(
        user, lambda: rules.propose_reschedule(db.session, user, request_id, command, utcnow(), _expire_after())
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
    return _change(user, lambda: rules.answer_reschedule(db.session, user, request_id, True, utcnow(), _expire_after()))


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
        user, lambda: rules.answer_reschedule(db.session, user, request_id, False, utcnow(), _expire_after())
    )
