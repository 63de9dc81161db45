"""Booking requests to musicians: the state machine and its use cases, apart from HTTP.

States: ``pending`` -> ``accepted`` | ``declined`` | ``cancelled`` | ``expired``; an accepted
engagement can still be ``cancelled``. Either side may propose a reschedule (new times and
optionally a new offer) on a pending or accepted request; the *other* side accepts it (the
request takes the new terms; a pending one becomes ``accepted``, since both sides have now
agreed to the same terms, which is what a counter-proposal is for) or declines it (nothing
changes but the proposal is gone). ``next_status`` is the pure transition table; the use cases below load,
check, change and stage exactly one contract event per change in the caller's transaction.

The no-double-booking guard: a musician never holds two overlapping ``accepted`` requests.
Every path that makes a time range accepted (accept, accepting a reschedule of an accepted
request) checks for an overlapping engagement first, inside the same transaction.

- SQLite: every transaction starts with ``BEGIN IMMEDIATE``, so check-then-write is
  serialised across processes and the check alone is enough.
- PostgreSQL (READ COMMITTED) cannot serialise the check, so the database enforces the rule
  with an exclusion constraint (``EXCLUDE USING gist (musician_id WITH =,
  tstzrange(starts_at, ends_at) WITH &&) WHERE (status = 'accepted')``). A violation
  (SQLSTATE 23P01) becomes the same 409 ``musician-unavailable``. Two transactions inserting
  conflicting index entries at once may wait on each other; PostgreSQL then aborts one with
  a deadlock (40P01), which surfaces as ``RetryConflict`` so the caller can run it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
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
from control_plane.musicians.services.availability import why_unavailable
from control_plane.musicians.services.refusals import MusiciansRefused
from control_plane.musicians.services.saved_availability import musician_availability

__all__ = [
    "Action",
    "ProposeReschedule",
    "RequestRefused",
    "RetryConflict",
    "SendRequest",
    "Side",
    "accept_request",
    "answer_reschedule",
    "cancel_request",
    "decline_request",
    "expire_request",
    "next_status",
    "propose_reschedule",
    "send_request",
]

Side = Literal["musician", "requester"]
Action = Literal["accept", "decline", "cancel", "propose", "accept_proposal", "decline_proposal", "expire"]
DbSession = Session | scoped_session[Any]

OPEN = ("pending", "accepted")
EXCLUSION_VIOLATION = "23P01"
DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"


class RequestRefused(MusiciansRefused):
    """A refused command on a booking request (or its review)."""


class RetryConflict(Exception):
    """The database aborted the transaction to break a lock cycle; running again is safe."""


# --- the state machine -------------------------------------------------------------------


def next_status(status: str, proposal_by: Side | None, action: Action, actor: Side | None) -> str:
    """The status after ``actor`` does ``action``; raises ``RequestRefused`` when not allowed.

    ``actor`` is None for the system (expiry). 403 means "not yours to do", 409 means "not in
    this state" (``invalid-transition``, naming the current state).
    """
    if action in ("accept", "decline") and actor != "musician":
        raise RequestRefused(403, "forbidden", f"Only the musician can {action} a request")
    if action == "expire":
        if actor is not None:
            raise RequestRefused(403, "forbidden", "Requests expire on their own")
        return _require(status, ("pending",), action, "expired")
    if action == "accept":
        _require(status, ("pending",), action)
        if proposal_by is not None:
            raise _invalid(status, "a reschedule proposal is open, answer it first")
        return "accepted"
    if action == "decline":
        return _require(status, ("pending",), action, "declined")
    if action == "cancel":
        return _require(status, OPEN, action, "cancelled")
    _require(status, OPEN, action)
    if action == "propose":
        if proposal_by is not None and proposal_by != actor:
            raise _invalid(status, "the other side's reschedule proposal is open, answer it first")
        return status
    # accept_proposal / decline_proposal
    if proposal_by is None:
        raise _invalid(status, "there is no open reschedule proposal")
    if proposal_by == actor:
        raise RequestRefused(403, "forbidden", "The other side answers your reschedule proposal")
    return "accepted" if action == "accept_proposal" else status


_PARTICIPLES = {
    "accept": "accepted",
    "decline": "declined",
    "cancel": "cancelled",
    "propose": "rescheduled",
    "accept_proposal": "rescheduled",
    "decline_proposal": "answered",
    "expire": "expired",
}


def _require(status: str, allowed: tuple[str, ...], action: str, result: str = "") -> str:
    if status not in allowed:
        raise _invalid(status, f"it cannot be {_PARTICIPLES[action]} any more")
    return result or status


def _invalid(status: str, why: str) -> RequestRefused:
    return RequestRefused(409, "invalid-transition", f"The request is {status}; {why}", current_state=status)


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
    if musician is None or not musician.has_any_role("musician"):
        raise _field_error("musician_id", f"user {command.musician_id} is not a musician")
    if musician.id == requester.id:
        raise _field_error("musician_id", "you cannot send a request to yourself")
    needed = {item.casefold() for item in project.instruments_needed}
    if needed and command.instrument.casefold() not in needed:
        raise _field_error("instrument", f"the project needs {', '.join(project.instruments_needed)}")
    _ensure_future(command.starts_at, now)
    _ensure_not_asked_already(db, project, musician, command, now)
    _ensure_bookable(db, musician, command.starts_at, command.ends_at, exclude_id=None)
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
    _flush(db)
    add_event(db, _event(RequestSent, request))
    return request


def accept_request(db: DbSession, user: User, request_id: int, now: datetime) -> BookingRequest:
    request, side = _load(db, request_id, user)
    status = next_status(request.effective_status(now), _proposal_side(request), "accept", side)
    # Check before changing anything: a query after a change would autoflush it first.
    _ensure_free(db, request.musician, request.starts_at, request.ends_at, exclude_id=request.id)
    request.status = status
    request.responded_at = request.updated_at = now
    _flush(db, request.musician.name)  # on PostgreSQL the exclusion constraint decides here
    add_event(db, _event(RequestAccepted, request))
    return request


def decline_request(db: DbSession, user: User, request_id: int, reason: str, now: datetime) -> BookingRequest:
    request, side = _load(db, request_id, user)
    request.status = next_status(request.effective_status(now), _proposal_side(request), "decline", side)
    request.reason = reason
    request.responded_at = request.updated_at = now
    _clear_proposal(request)
    _flush(db)
    add_event(db, _event(RequestDeclined, request, reason=reason))
    return request


def cancel_request(db: DbSession, user: User, request_id: int, reason: str, now: datetime) -> BookingRequest:
    request, side = _load(db, request_id, user)
    request.status = next_status(request.effective_status(now), _proposal_side(request), "cancel", side)
    request.reason, request.cancelled_by, request.updated_at = reason, user.id, now
    _clear_proposal(request)
    _flush(db)
    add_event(db, _event(RequestCancelled, request, cancelled_by=user.id, reason=reason))
    return request


def propose_reschedule(
    db: DbSession, user: User, request_id: int, command: ProposeReschedule, now: datetime, expire_after: timedelta
) -> BookingRequest:
    request, side = _load(db, request_id, user)
    next_status(request.effective_status(now), _proposal_side(request), "propose", side)
    _ensure_future(command.starts_at, now)
    # Refuse early what accepting would refuse anyway; accepting checks again.
    _ensure_bookable(db, request.musician, command.starts_at, command.ends_at, exclude_id=request.id)
    request.proposed_by = user.id
    request.proposed_starts_at = command.starts_at.astimezone(UTC)
    request.proposed_ends_at = command.ends_at.astimezone(UTC)
    request.proposed_offer_amount = request.offer_amount if command.offer_amount is None else command.offer_amount
    request.proposed_offer_currency = command.offer_currency or request.offer_currency
    request.updated_at = now
    if request.status == "pending":
        latest_start = max(request.starts_at, request.proposed_starts_at)
        request.expires_at = _deadline(now, expire_after, latest_start)
    _flush(db)
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
    status = next_status(request.effective_status(now), _proposal_side(request), action, side)
    if not accept:
        _clear_proposal(request)
        request.updated_at = now
        _flush(db)
        add_event(db, _event(RequestRescheduleDeclined, request, declined_by=user.id))
        return request
    assert request.proposed_starts_at is not None and request.proposed_ends_at is not None
    starts_at, ends_at = request.proposed_starts_at, request.proposed_ends_at
    if starts_at <= now:
        raise RequestRefused(409, "proposal-outdated", "The proposed time has already begun; propose another")
    _ensure_bookable(db, request.musician, starts_at, ends_at, exclude_id=request.id)
    request.starts_at, request.ends_at = starts_at, ends_at
    request.offer_amount = request.proposed_offer_amount or 0
    request.offer_currency = request.proposed_offer_currency or request.offer_currency
    _clear_proposal(request)
    if request.status != status:  # a pending request both sides now agree on: an engagement
        request.status = status
        request.responded_at = now
    request.updated_at = now
    _flush(db, request.musician.name)  # an accepted engagement's new range meets the exclusion constraint
    add_event(db, _event(RequestRescheduleAccepted, request, accepted_by=user.id))
    return request


def expire_request(db: DbSession, request: BookingRequest, now: datetime) -> None:
    """Mark one overdue pending request expired (the housekeeping job's step)."""
    request.status = next_status(request.status, _proposal_side(request), "expire", None)
    request.updated_at = now
    _clear_proposal(request)
    _flush(db)
    add_event(db, _event(RequestExpired, request))


# --- availability and overlap ------------------------------------------------------------


def _ensure_bookable(
    db: DbSession, musician: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None
) -> None:
    refusal = why_unavailable(musician_availability(db, musician), starts_at, ends_at)
    if refusal is not None:
        raise RequestRefused(409, "musician-unavailable", f"{musician.name} {refusal.detail}", reason=refusal.reason)
    _ensure_free(db, musician, starts_at, ends_at, exclude_id)


def _ensure_free(db: DbSession, musician: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None) -> None:
    """No accepted engagement of this musician overlaps ``[starts_at, ends_at)``."""
    stmt = select(BookingRequest.id).where(
        BookingRequest.musician_id == musician.id,
        BookingRequest.status == "accepted",
        BookingRequest.starts_at < ends_at,
        BookingRequest.ends_at > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(BookingRequest.id != exclude_id)
    if db.scalar(stmt.limit(1)) is not None:
        raise _booked(musician.name)


def _booked(name: str) -> RequestRefused:
    return RequestRefused(
        409, "musician-unavailable", f"{name} is already booked at that time", reason="overlapping-engagement"
    )


def _flush(db: DbSession, musician_name: str = "The musician") -> None:
    """Flush, translating the database's own guards into refusals."""
    try:
        db.flush()
    except IntegrityError as exc:
        if _sqlstate(exc) != EXCLUSION_VIOLATION:
            raise
        db.rollback()
        raise _booked(musician_name) from None
    except DBAPIError as exc:
        if _sqlstate(exc) not in (DEADLOCK, SERIALIZATION_FAILURE):
            raise
        db.rollback()
        raise RetryConflict(str(exc.orig)) from None


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


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


def _proposal_side(request: BookingRequest) -> Side | None:
    if request.proposed_by is None:
        return None
    return "musician" if request.proposed_by == request.musician_id else "requester"


def _clear_proposal(request: BookingRequest) -> None:
    request.proposed_by = request.proposed_starts_at = request.proposed_ends_at = None
    request.proposed_offer_amount = None
    request.proposed_offer_currency = None


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
