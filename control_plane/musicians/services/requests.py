"""Booking requests to musicians: the use cases, apart from HTTP. Each loads the request
(locked), asks the state machine (``request_states``) whether the caller may act, checks the
musician is free (``request_guards``), changes it and stages exactly one contract event in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from contracts import (
    RequestAccepted,
    RequestCancelled,
    RequestDeclined,
    RequestExpired,
    RequestRescheduleAccepted,
    RequestRescheduleDeclined,
    RequestRescheduleProposed,
    RequestSent,
)
from contracts.base import Money
from contracts.requests import RequestEvent
from control_plane.accounts.models import User
from control_plane.kits.outbox.writer import add_event
from control_plane.musicians.models import BookingRequest, Project
from control_plane.musicians.services.refusals import RequestRefused
from control_plane.musicians.services.request_guards import RetryConflict, ensure_bookable, ensure_free, flush
from control_plane.musicians.services.request_states import Action, Side, clear_proposal, next_status, proposal_side
from control_plane.musicians.services.roles import MUSICIAN_ROLES

__all__ = [
    "ProposeReschedule",
    "RequestRefused",
    "RetryConflict",
    "SendRequest",
    "accept_request",
    "answer_reschedule",
    "cancel_request",
    "decline_request",
    "expire_request",
    "next_status",
    "propose_reschedule",
    "send_request",
]

DbSession = Session | scoped_session[Any]


# --- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendRequest:
    project_id: int
    musician_id: int
    instrument: str
    starts_at: datetime
    ends_at: datetime
    offer_amount: int
    offer_currency: str
    message: str = ""


@dataclass(frozen=True)
class ProposeReschedule:
    starts_at: datetime
    ends_at: datetime
    offer_amount: int | None = None
    offer_currency: str | None = None


# --- use cases ---------------------------------------------------------------------------


def send_request(
    db: DbSession, requester: User, command: SendRequest, now: datetime, expire_after: timedelta
) -> BookingRequest:
    """Stage a pending request and its ``request.sent`` event; the caller commits both."""
    project = db.get(Project, command.project_id)
    if project is None:
        raise RequestRefused(404, "project-not-found", f"Project {command.project_id} does not exist")
    if project.owner_id != requester.id:
        raise RequestRefused(403, "not-owner", "Only the project's owner sends requests for it")
    musician = db.get(User, command.musician_id)
    if musician is None or not musician.has_any_role(*MUSICIAN_ROLES):
        raise _field_error("musician_id", f"user {command.musician_id} is not a musician")
    if musician.id == requester.id:
        raise _field_error("musician_id", "you cannot send a request to yourself")
    needed = {item.casefold() for item in project.instruments_needed}
    if needed and command.instrument.casefold() not in needed:
        raise _field_error("instrument", f"the project needs {', '.join(project.instruments_needed)}")
    _ensure_future(command.starts_at, now)
    _ensure_not_asked_already(db, project, musician, command, now)
    ensure_bookable(db, musician, command.starts_at, command.ends_at, exclude_id=None)
    request = BookingRequest(
        project=project,
        requester=requester,
        musician=musician,
        instrument=command.instrument,
        starts_at=command.starts_at.astimezone(UTC),
        ends_at=command.ends_at.astimezone(UTC),
        offer_amount=command.offer_amount,
        offer_currency=command.offer_currency,
        message=command.message,
        status="pending",
        expires_at=_deadline(now, expire_after, command.starts_at),
        created_at=now,
        updated_at=now,
    )
    db.add(request)
    flush(db)
    add_event(db, _event(RequestSent, request))
    return request


def accept_request(db: DbSession, user: User, request_id: int, now: datetime) -> BookingRequest:
    request, side = _load(db, request_id, user)
    status = next_status(request.effective_status(now), proposal_side(request), "accept", side)
    # Check before changing anything: a query after a change would autoflush it first.
    ensure_free(db, request.musician, request.starts_at, request.ends_at, exclude_id=request.id)
    request.status = status
    request.responded_at = request.updated_at = now
    flush(db, request.musician.name)  # on PostgreSQL the exclusion constraint decides here
    add_event(db, _event(RequestAccepted, request))
    return request


def decline_request(db: DbSession, user: User, request_id: int, reason: str, now: datetime) -> BookingRequest:
    request, side = _load(db, request_id, user)
    request.status = next_status(request.effective_status(now), proposal_side(request), "decline", side)
    request.reason = reason
    request.responded_at = request.updated_at = now
    clear_proposal(request)
    flush(db)
    add_event(db, _event(RequestDeclined, request, reason=reason))
    return request


def cancel_request(db: DbSession, user: User, request_id: int, reason: str, now: datetime) -> BookingRequest:
    request, side = _load(db, request_id, user)
    request.status = next_status(request.effective_status(now), proposal_side(request), "cancel", side)
    request.reason, request.cancelled_by, request.updated_at = reason, user.id, now
    clear_proposal(request)
    flush(db)
    add_event(db, _event(RequestCancelled, request, cancelled_by=user.id, reason=reason))
    return request


def propose_reschedule(
    db: DbSession, user: User, request_id: int, command: ProposeReschedule, now: datetime, expire_after: timedelta
) -> BookingRequest:
    request, side = _load(db, request_id, user)
    next_status(request.effective_status(now), proposal_side(request), "propose", side)
    _ensure_future(command.starts_at, now)
    # Refuse early what accepting would refuse anyway; accepting checks again.
    ensure_bookable(db, request.musician, command.starts_at, command.ends_at, exclude_id=request.id)
    request.proposed_by = user.id
    request.proposed_starts_at = command.starts_at.astimezone(UTC)
    request.proposed_ends_at = command.ends_at.astimezone(UTC)
    request.proposed_offer_amount = request.offer_amount if command.offer_amount is None else command.offer_amount
    request.proposed_offer_currency = command.offer_currency or request.offer_currency
    request.updated_at = now
    if request.status == "pending":
        latest_start = max(request.starts_at, request.proposed_starts_at)
        request.expires_at = _deadline(now, expire_after, latest_start)
    flush(db)
    add_event(
        db,
        _event(
            RequestRescheduleProposed,
            request,
            proposed_by=user.id,
            proposed_starts_at=request.proposed_starts_at,
            proposed_ends_at=request.proposed_ends_at,
            proposed_offer=Money(amount=request.proposed_offer_amount, currency=request.proposed_offer_currency),
        ),
    )
    return request


def answer_reschedule(
    db: DbSession, user: User, request_id: int, accept: bool, now: datetime, expire_after: timedelta
) -> BookingRequest:
    """The other side takes (``accept``) or refuses the open reschedule proposal."""
    request, side = _load(db, request_id, user)
    action: Action = "accept_proposal" if accept else "decline_proposal"
    status = next_status(request.effective_status(now), proposal_side(request), action, side)
    if not accept:
        clear_proposal(request)
        request.updated_at = now
        flush(db)
        add_event(db, _event(RequestRescheduleDeclined, request, declined_by=user.id))
        return request
    assert request.proposed_starts_at is not None and request.proposed_ends_at is not None
    starts_at, ends_at = request.proposed_starts_at, request.proposed_ends_at
    if starts_at <= now:
        raise RequestRefused(409, "proposal-outdated", "The proposed time has already begun; propose another")
    ensure_bookable(db, request.musician, starts_at, ends_at, exclude_id=request.id)
    request.starts_at, request.ends_at = starts_at, ends_at
    request.offer_amount = request.proposed_offer_amount or 0
    request.offer_currency = request.proposed_offer_currency or request.offer_currency
    clear_proposal(request)
    if request.status != status:  # a pending request both sides now agree on: an engagement
        request.status = status
        request.responded_at = now
    request.updated_at = now
    flush(db, request.musician.name)  # an accepted engagement's new range meets the exclusion constraint
    add_event(db, _event(RequestRescheduleAccepted, request, accepted_by=user.id))
    return request


def expire_request(db: DbSession, request: BookingRequest, now: datetime) -> None:
    """Mark one overdue pending request expired (the housekeeping job's step)."""
    request.status = next_status(request.status, proposal_side(request), "expire", None)
    request.updated_at = now
    clear_proposal(request)
    flush(db)
    add_event(db, _event(RequestExpired, request))


# --- helpers -----------------------------------------------------------------------------


def _load(db: DbSession, request_id: int, user: User) -> tuple[BookingRequest, Side]:
    """The request, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises), and the caller's side. Strangers get a 404."""
    stmt = (
        select(BookingRequest)
        .where(BookingRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    request = db.scalars(stmt).first()
    if request is None or user.id not in (request.musician_id, request.requester_id):
        raise RequestRefused(404, "request-not-found", f"Request {request_id} does not exist")
    return request, "musician" if user.id == request.musician_id else "requester"


def _deadline(now: datetime, expire_after: timedelta, starts_at: datetime) -> datetime:
    """Unanswered requests expire after ``expire_after``, and at the latest when they start."""
    return min(now + expire_after, starts_at.astimezone(UTC))


def _ensure_not_asked_already(
    db: DbSession, project: Project, musician: User, command: SendRequest, now: datetime
) -> None:
    """A second pending request with the same project, musician, instrument and times is a double
    click or a resent form, never what the producer means: the musician would get two to answer.
    Overlapping requests with other times stay allowed: a producer may offer alternative slots,
    and accepting one makes the others unacceptable (the no-overlap rule)."""
    twin = db.scalar(
        select(BookingRequest.id).where(
            BookingRequest.project_id == project.id,
            BookingRequest.musician_id == musician.id,
            BookingRequest.status == "pending",
            BookingRequest.expires_at > now,
            BookingRequest.starts_at == command.starts_at.astimezone(UTC),
            BookingRequest.ends_at == command.ends_at.astimezone(UTC),
            func.lower(BookingRequest.instrument) == command.instrument.lower(),
        )
    )
    if twin is not None:
        raise RequestRefused(
            409,
            "already-requested",
            f"{musician.name} already has the same pending request (#{twin}) from this project; "
            "wait for the answer or cancel that one first",
            request_id=twin,
        )


def _ensure_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise _field_error("starts_at", "must be in the future")


def _field_error(field: str, message: str) -> RequestRefused:
    return RequestRefused(422, "validation-error", f"Invalid fields: {field}", errors={field: [message]})


def _event(kind: type[RequestEvent], request: BookingRequest, **extra: Any) -> RequestEvent:
    return kind(
        request_id=request.id,
        project_id=request.project.id,
        project_title=request.project.title,
        requester_id=request.requester.id,
        requester_name=request.requester.name,
        musician_id=request.musician.id,
        musician_name=request.musician.name,
        instrument=request.instrument,
        starts_at=request.starts_at.astimezone(UTC),
        ends_at=request.ends_at.astimezone(UTC),
        offer=Money(amount=request.offer_amount, currency=request.offer_currency),
        **extra,
    )
