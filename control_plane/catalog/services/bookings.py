"""Seat bookings, the waitlist and cancellations: the rules, apart from HTTP.

The capacity guard (``capacity.take_seats``) is a conditional UPDATE, so the database decides
under any concurrency. Every status change of a booking is a conditional UPDATE on its current
status, so two racing changes (a cancellation and a promotion, a payment and an expiry) cannot
both win.
One live booking (or waitlist place) per person per session is a partial unique index.
Each function stages rows and their outbox events; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from contracts import (
    BookingCancelled,
    BookingCreated,
    BookingPaymentConfirmed,
    BookingPromoted,
    BookingRefunded,
    BookingWaitlisted,
    Money,
    SessionCancelled,
)
from control_plane.accounts.models import User
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.catalog.queries import waitlist_position
from control_plane.catalog.services.capacity import release_seats, take_seats
from control_plane.catalog.services.refund_policy import RefundPolicy, decide_refund
from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.kits.db.types import DB, utcnow
from control_plane.kits.outbox.writer import add_event
from control_plane.payments.models import Payment, Refund
from control_plane.payments.services.gateway import PaymentGateway

__all__ = [
    "ACTIVE",
    "HOLDING",
    "BookSeat",
    "CatalogRefused",
    "book_seat",
    "cancel_booking",
    "cancel_session",
    "confirm_payment",
    "event_fields",
    "promote_waitlist",
    "refuse_already_booked",
    "refuse_full",
    "refuse_no_longer_open",
    "refuse_unknown_user",
    "refuse_unless_bookable",
    "release_expired_hold",
]

HOLDING = ("confirmed", "pending_payment")  # statuses that hold seats
ACTIVE = (*HOLDING, "waitlisted")


class ListingState(Protocol):
    """What the pre-write checks read of a session (an ORM row or a plain result row)."""

    @property
    def status(self) -> str: ...
    @property
    def owner_id(self) -> int: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def capacity(self) -> int: ...


@dataclass(frozen=True)
class BookSeat:
    session_id: int
    seats: int = 1
    notes: str = ""
    waitlist: bool = False  # join the waitlist when full instead of a 409


def _event_fields(booking: Booking, listing: CatalogSession, user: User) -> dict[str, Any]:
    return event_fields(booking.id, listing, user.id, user.name)


def event_fields(booking_id: int, listing: Any, attendee_id: int, attendee_name: str) -> dict[str, Any]:
    """What every booking event says of its booking, session and attendee (``listing``: the ORM
    row or the fast path's plain record with the same attributes)."""
    return {
        "booking_id": booking_id,
        "session_id": listing.id,
        "session_title": listing.title,
        "owner_id": listing.owner_id,
        "attendee_id": attendee_id,
        "attendee_name": attendee_name,
        "starts_at": listing.starts_at,
    }


def _move(db: DB, booking_id: int, from_status: str, to_status: str, **values: Any) -> bool:
    """Change a booking's status only if it still has ``from_status`` (the race guard)."""
    moved = db.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == from_status)
        .values(status=to_status, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def _start_payment(db: DB, booking: Booking, gateway: PaymentGateway) -> Payment:
    provider = gateway.create_payment(
        amount=booking.amount, currency=booking.currency, reference=f"booking-{booking.id}"
    )
    payment = Payment(
        booking_id=booking.id,
        provider=gateway.name,
        provider_ref=provider.ref,
        amount=booking.amount,
        currency=booking.currency,
        status="pending",
    )
    db.add(payment)
    return payment


def refuse_unless_bookable(
    session_id: int, listing: ListingState | None, user_id: int, seats: int, now: datetime
) -> ListingState:
    """The checks before any write, in the order clients see them (shared by both paths)."""
    if listing is None or (listing.status == "draft" and listing.owner_id != user_id):
        raise CatalogRefused(404, "session-not-found", f"Session {session_id} does not exist")
    if listing.status != "published":
        raise CatalogRefused(
            409, "session-not-bookable", f"Session {session_id} is {listing.status}, not open for booking"
        )
    if listing.starts_at <= now:
        raise CatalogRefused(409, "session-started", "This session has already started")
    if seats > listing.capacity:
        raise CatalogRefused(
            409,
            "too-many-seats",
            (
                f"This session has {listing.capacity} {'seat' if listing.capacity == 1 else 'seats'} in all; "
                f"book {listing.capacity} at most"
            ),
        )
    return listing


def refuse_already_booked() -> CatalogRefused:
    return CatalogRefused(409, "already-booked", "You already hold a booking or waitlist place for this session")


def refuse_no_longer_open(session_id: int) -> CatalogRefused:
    """Cancelled (or unpublished) while the booking waited for the session's row."""
    return CatalogRefused(409, "session-not-bookable", f"Session {session_id} is no longer open for booking")


def refuse_unknown_user() -> CatalogRefused:
    """The token outlived its account."""
    return CatalogRefused(401, "unknown-user", "The account behind this token no longer exists")


def refuse_full(session_id: int, seats: int) -> CatalogRefused:
    if seats == 1:
        detail = f"Session {session_id} is full; join the waitlist to get the next free seat"
    else:
        detail = f"Session {session_id} has fewer than {seats} seats left; book fewer or join the waitlist"
    return CatalogRefused(409, "session-full", detail)


def book_seat(db: DB, user: User, command: BookSeat, gateway: PaymentGateway) -> Booking:
    """Stage a booking (or waitlist place) and its event; the caller commits both together."""
    found = db.get(CatalogSession, command.session_id)
    refuse_unless_bookable(command.session_id, found, user.id, command.seats, utcnow())
    assert found is not None
    listing: CatalogSession = found
    active = select(Booking.id).where(
        Booking.session_id == listing.id, Booking.user_id == user.id, Booking.status.in_(ACTIVE)
    )
    if db.scalar(active) is not None:
        raise refuse_already_booked()
    holding: Literal["confirmed", "pending_payment"] = "pending_payment" if listing.price_amount > 0 else "confirmed"
    booking = Booking(
        session_id=listing.id,
        user_id=user.id,
        seats=command.seats,
        status=holding,
        notes=command.notes,
        amount=listing.price_amount * command.seats,
        currency=listing.price_currency,
    )
    db.add(booking)
    try:
        db.flush()  # the unique index answers "already booked" before any seat is touched
    except IntegrityError:
        db.rollback()
        raise refuse_already_booked() from None
    status: Literal["confirmed", "pending_payment", "waitlisted"] = holding
    seats_taken = take_seats(db, listing.id, command.seats)
    if seats_taken is not None:
        set_committed_value(listing, "seats_taken", seats_taken)
    elif db.scalar(select(CatalogSession.status).where(CatalogSession.id == listing.id)) != "published":
        db.rollback()  # cancelled while we waited for its row: not bookable, not "full"
        raise refuse_no_longer_open(command.session_id)
    elif command.waitlist:
        status = "waitlisted"
        booking.status = status
        db.flush()
    else:
        db.rollback()
        raise refuse_full(listing.id, command.seats)
    fields = _event_fields(booking, listing, user)
    if status == "waitlisted":
        add_event(db, BookingWaitlisted(**fields, position=waitlist_position(db, booking)))
        return booking
    if status == "pending_payment":
        _start_payment(db, booking, gateway)
    add_event(db, BookingCreated(**fields, seats=booking.seats, status=status))
    return booking


def promote_waitlist(db: DB, session_id: int, gateway: PaymentGateway) -> list[Booking]:
    """Give freed seats to the waitlist, first come first served, never past capacity.

    Not once the session has started: nobody is asked to take (or pay for) a seat in
    something already under way, the same rule that refuses a new booking then.
    """
    promoted: list[Booking] = []
    skipped: set[int] = set()
    listing = db.get(CatalogSession, session_id)
    if listing is None or listing.starts_at <= utcnow():
        return promoted
    while True:
        candidate = db.scalar(
            select(Booking)
            .where(Booking.session_id == session_id, Booking.status == "waitlisted", Booking.id.not_in(skipped))
            .order_by(Booking.id)
            .limit(1)
        )
        if candidate is None:
            return promoted
        if take_seats(db, session_id, candidate.seats) is None:
            # Someone asking for more seats than are free waits; later, smaller requests may fit.
            skipped.add(candidate.id)
            continue
        listing = db.get(CatalogSession, session_id)
        assert listing is not None
        status: Literal["confirmed", "pending_payment"] = "pending_payment" if candidate.amount > 0 else "confirmed"
        if not _move(db, candidate.id, "waitlisted", status):
            release_seats(db, session_id, candidate.seats)  # someone else moved it first
            skipped.add(candidate.id)
            continue
        db.refresh(candidate)
        if status == "pending_payment":
            _start_payment(db, candidate, gateway)
        add_event(db, BookingPromoted(**_event_fields(candidate, listing, candidate.user), status=status))
        promoted.append(candidate)


def _refund(db: DB, booking: Booking, listing: CatalogSession, gateway: PaymentGateway, *, by_owner: bool) -> None:
    """Refund a captured payment per the session's policy; cancel one still pending."""
    for payment in db.scalars(select(Payment).where(Payment.booking_id == booking.id)):
        if payment.status == "pending":
            gateway.cancel_payment(payment.provider_ref)
            payment.status = "cancelled"
            continue
        if payment.status != "succeeded":
            continue
        policy = RefundPolicy(listing.refund_full_hours, listing.refund_partial_hours, listing.refund_partial_percent)
        decision = decide_refund(
            payment.amount - payment.refunded_amount, policy, listing.starts_at, utcnow(), by_owner=by_owner
        )
        if decision.amount <= 0:
            continue
        provider = gateway.refund(payment_ref=payment.provider_ref, amount=decision.amount, reason=decision.rule)
        db.add(
            Refund(
                payment_id=payment.id,
                provider_ref=provider.ref,
                amount=decision.amount,
                reason=decision.rule[:200],
                status=provider.status,
            )
        )
        payment.refunded_amount += decision.amount
        add_event(
            db,
            BookingRefunded(
                **_event_fields(booking, listing, booking.user),
                amount=Money(amount=decision.amount, currency=payment.currency),
                policy=decision.rule[:200],
            ),
        )


def cancel_booking(db: DB, user: User, booking_id: int, reason: str, gateway: PaymentGateway) -> Booking:
    booking = db.get(Booking, booking_id)
    if booking is None or booking.user_id != user.id:
        raise CatalogRefused(404, "booking-not-found", f"Booking {booking_id} is not yours or does not exist")
    return _cancel(db, booking, reason, gateway, by="attendee")


def release_expired_hold(db: DB, booking: Booking, gateway: PaymentGateway) -> bool:
    """An unpaid hold ran out: the seat goes back and the waitlist moves up."""
    try:
        _cancel(db, booking, "payment not completed in time", gateway, by="system")
    except CatalogRefused:
        return False
    return True


def _cancel(db: DB, booking: Booking, reason: str, gateway: PaymentGateway, *, by: str) -> Booking:
    previous = booking.status
    if previous not in ACTIVE:
        raise CatalogRefused(409, "invalid-transition", f"Booking {booking.id} is already {previous}")
    if not _move(db, booking.id, previous, "cancelled", cancelled_at=utcnow(), cancel_reason=reason[:500]):
        raise CatalogRefused(409, "invalid-transition", f"Booking {booking.id} changed meanwhile; reload and retry")
    listing = booking.session
    if previous in HOLDING:
        release_seats(db, listing.id, booking.seats)
    db.refresh(booking)
    _refund(db, booking, listing, gateway, by_owner=False)
    add_event(
        db,
        BookingCancelled(
            **_event_fields(booking, listing, booking.user),
            cancelled_by=by,  # type: ignore[arg-type]
            previous_status=previous,  # type: ignore[arg-type]
            reason=reason[:500],
        ),
    )
    if previous in HOLDING:
        promote_waitlist(db, listing.id, gateway)
    return booking


def cancel_session(db: DB, owner: User, session_id: int, reason: str, gateway: PaymentGateway) -> CatalogSession:
    """The owner cancels the whole session: every booking is cancelled and refunded in full."""
    listing = db.get(CatalogSession, session_id)
    if listing is None:
        raise CatalogRefused(404, "session-not-found", f"Session {session_id} does not exist")
    if listing.owner_id != owner.id:
        if listing.status == "draft":  # someone else's draft does not exist for them
            raise CatalogRefused(404, "session-not-found", f"Session {session_id} does not exist")
        raise CatalogRefused(403, "not-owner", "Only the session's owner may cancel it")
    cancelled = db.execute(
        update(CatalogSession)
        .where(CatalogSession.id == session_id, CatalogSession.status == "published")
        .values(status="cancelled", cancelled_at=utcnow(), cancel_reason=reason[:500], seats_taken=0)
        .execution_options(synchronize_session=False)
    )
    if cancelled.rowcount != 1:  # type: ignore[attr-defined]
        raise CatalogRefused(409, "invalid-transition", f"Session {session_id} is {listing.status}, not published")
    bookings = list(db.scalars(select(Booking).where(Booking.session_id == session_id, Booking.status.in_(ACTIVE))))
    db.execute(
        update(Booking)
        .where(Booking.session_id == session_id, Booking.status.in_(ACTIVE))
        .values(status="cancelled", cancelled_at=utcnow(), cancel_reason="session cancelled", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.refresh(listing)
    for booking in bookings:
        _refund(db, booking, listing, gateway, by_owner=True)
    add_event(
        db,
        SessionCancelled(
            session_id=listing.id,
            session_title=listing.title,
            owner_id=listing.owner_id,
            starts_at=listing.starts_at,
            reason=reason[:500],
            attendee_ids=sorted({b.user_id for b in bookings}),
            price=Money(amount=listing.price_amount, currency=listing.price_currency),
        ),
    )
    return listing


def confirm_payment(db: DB, provider_ref: str, amount: int, currency: str, gateway: PaymentGateway) -> Payment | None:
    """The provider says the customer paid. Idempotent: a repeated webhook changes nothing."""
    payment: Payment | None = db.scalar(select(Payment).where(Payment.provider_ref == provider_ref))
    if payment is None or payment.status == "succeeded":
        return payment
    if amount != payment.amount or currency != payment.currency:
        raise CatalogRefused(422, "amount-mismatch", "The provider reported a different amount")
    # Claim the payment with a conditional update: of two webhooks arriving together only one
    # confirms; the other sees it already succeeded and changes nothing.
    claimed = db.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(("pending", "cancelled")))
        .values(status="succeeded", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return payment
    db.refresh(payment)
    booking = db.get(Booking, payment.booking_id)
    assert booking is not None
    if _move(db, booking.id, "pending_payment", "confirmed"):
        db.refresh(booking)
        add_event(
            db,
            BookingPaymentConfirmed(
                **_event_fields(booking, booking.session, booking.user), amount=Money(amount=amount, currency=currency)
            ),
        )
    else:
        # Paid after the hold lapsed or the booking was cancelled: give the money back in full.
        db.flush()
        _refund(db, booking, booking.session, gateway, by_owner=True)
    return payment
