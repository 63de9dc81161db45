"""Who hears what: events in, notification drafts out. Pure, so tests call it directly.

- the session's owner: every booking, cancellation and waitlist change of their sessions;
- the attendee: confirmation, waitlist place, promotion, payment, cancellation, refunds;
- everyone booked: the session's cancellation;
- the musician: requests, reschedules and cancellations by the requester;
- the requester: accept, decline, expiry, reschedules and cancellations by the musician;
- a project's owner and members (the event's ``recipients``, never the one who acted): new
  files and versions, and comments; whoever a comment mentions always finds it in the inbox;
- the other side of a deliverable (``recipient_id``): the owner when it is handed in, the
  musician when it is approved or changes are asked for;
- a conversation's members, by the flags the control plane set on each (``message_rules``):
  the mentioned always, the others only while offline and not muting it; edits and
  deletions nobody (their live copy is enough).

Drafts about files carry ``data.url``, the page to open: the file, or a project's files for a
deliverable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts import (
    BookingCancelled,
    BookingCreated,
    BookingEvent,
    BookingPaymentConfirmed,
    BookingPromoted,
    BookingRefunded,
    BookingWaitlisted,
    DeliverableApproved,
    DeliverableChangesRequested,
    DeliverableSubmitted,
    Event,
    FileCommentAdded,
    FileVersionAdded,
    Money,
    RequestAccepted,
    RequestCancelled,
    RequestDeclined,
    RequestEvent,
    RequestExpired,
    RequestRescheduleAccepted,
    RequestRescheduleDeclined,
    RequestRescheduleProposed,
    RequestSent,
    SessionCancelled,
)
from contracts.files import DeliverableEvent, FileEvent
from contracts.messages import MessageDeleted, MessageEdited, MessagePosted
from contracts.notifications import NotificationKind
from notification_service.message_rules import message_drafts
from notification_service.store import Draft

__all__ = ["drafts_for"]


def drafts_for(event: Event) -> list[Draft]:
    """The notifications one event calls for (none for events nobody is told about)."""
    handler = _HANDLERS.get(type(event))
    return handler(event) if handler is not None else []


def _seats(n: int) -> str:
    return f"{n} seat" + ("s" if n != 1 else "")


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def _money(money: Money) -> str:
    """€15.00 for the common currencies, 15.00 CHF for the others (no locale on the server)."""
    symbol = _SYMBOLS.get(money.currency)
    amount = f"{money.amount / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {money.currency}"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _booking_data(event: BookingEvent, **extra: Any) -> dict[str, Any]:
    return {
        "booking_id": event.booking_id,
        "session_id": event.session_id,
        "attendee_id": event.attendee_id,
        "starts_at": event.starts_at.isoformat(),
        **extra,
    }


def _to_owner(event: BookingEvent, kind: NotificationKind, title: str, body: str, **extra: Any) -> Draft:
    return Draft(event.owner_id, kind, title, body, _booking_data(event, **extra))


def _to_attendee(event: BookingEvent, kind: NotificationKind, title: str, body: str, **extra: Any) -> Draft | None:
    if event.attendee_id == event.owner_id:
        return None  # an owner booking their own session needs no second copy
    return Draft(event.attendee_id, kind, title, body, _booking_data(event, **extra))


def _both(*drafts: Draft | None) -> list[Draft]:
    return [d for d in drafts if d is not None]


def _booking_created(event: BookingCreated) -> list[Draft]:
    confirmed = event.status == "confirmed"
    return _both(
        _to_owner(
            event,
            "booking.created",
            f"New booking: {event.session_title}",
            f"{event.attendee_name} booked {_seats(event.seats)} in {event.session_title}.",
            seats=event.seats,
            status=event.status,
        ),
        _to_attendee(
            event,
            "booking.confirmed" if confirmed else "booking.pending_payment",
            ("Booking confirmed: " if confirmed else "Complete your payment: ") + event.session_title,
            f"You hold {_seats(event.seats)} in {event.session_title}."
            + ("" if confirmed else " The seat is held while you pay."),
            seats=event.seats,
            status=event.status,
        ),
    )


def _waitlisted(event: BookingWaitlisted) -> list[Draft]:
    return _both(
        _to_owner(
            event,
            "booking.waitlisted",
            f"Waitlist: {event.session_title}",
            f"{event.attendee_name} joined the waitlist (position {event.position}).",
            position=event.position,
        ),
        _to_attendee(
            event,
            "booking.waitlisted",
            f"You're on the waitlist: {event.session_title}",
            f"You are number {event.position}. We'll tell you the moment a seat frees up.",
            position=event.position,
        ),
    )


def _promoted(event: BookingPromoted) -> list[Draft]:
    paid = event.status == "pending_payment"
    return _both(
        _to_owner(
            event,
            "booking.promoted",
            f"Waitlist moved: {event.session_title}",
            f"{event.attendee_name} got a freed seat from the waitlist.",
            status=event.status,
        ),
        _to_attendee(
            event,
            "booking.promoted",
            f"A seat is yours: {event.session_title}",
            "A seat freed up and you were next on the waitlist."
            + (" Complete your payment to keep it." if paid else " Your booking is confirmed."),
            status=event.status,
        ),
    )


def _paid(event: BookingPaymentConfirmed) -> list[Draft]:
    return _both(
        _to_owner(
            event,
            "booking.paid",
            f"Payment received: {event.session_title}",
            f"{event.attendee_name} paid {_money(event.amount)}.",
            amount=event.amount.model_dump(),
        ),
        _to_attendee(
            event,
            "booking.confirmed",
            f"Booking confirmed: {event.session_title}",
            f"We received your payment of {_money(event.amount)}.",
            amount=event.amount.model_dump(),
        ),
    )


def _cancelled(event: BookingCancelled) -> list[Draft]:
    reason = f" ({event.reason})" if event.reason else ""
    left = "left the waitlist" if event.previous_status == "waitlisted" else "cancelled their booking"
    owner_body = f"{event.attendee_name} {left}{reason}."
    if event.cancelled_by == "system":
        owner_body = f"{event.attendee_name}'s unpaid seat hold ran out; the seat is free again."
    attendee = None
    if event.cancelled_by == "system":
        attendee = _to_attendee(
            event,
            "booking.cancelled",
            f"Seat released: {event.session_title}",
            "Your payment was not completed in time, so the seat went back.",
        )
    elif event.cancelled_by == "owner":
        attendee = _to_attendee(
            event,
            "booking.cancelled",
            f"Booking cancelled: {event.session_title}",
            f"The organiser cancelled your booking{reason}.",
        )
    return _both(
        _to_owner(
            event,
            "booking.cancelled",
            f"Cancellation: {event.session_title}",
            owner_body,
            previous_status=event.previous_status,
            cancelled_by=event.cancelled_by,
        ),
        attendee,
    )


def _refunded(event: BookingRefunded) -> list[Draft]:
    return _both(
        _to_attendee(
            event,
            "booking.refunded",
            f"Refund: {event.session_title}",
            f"{_money(event.amount)} is on its way back to you. {_sentence(event.policy)}",
            amount=event.amount.model_dump(),
        ),
    )


def _session_cancelled(event: SessionCancelled) -> list[Draft]:
    reason = f": {_sentence(event.reason)}" if event.reason else "."
    data = {"session_id": event.session_id, "starts_at": event.starts_at.isoformat()}
    return [
        Draft(
            user_id,
            "session.cancelled",
            f"Cancelled: {event.session_title}",
            f"The organiser cancelled {event.session_title}{reason}"
            + ("" if event.price is not None and event.price.amount == 0 else " Any payment is refunded in full."),
            data,
        )
        for user_id in event.attendee_ids
        if user_id != event.owner_id
    ]


def _request_data(event: RequestEvent, **extra: Any) -> dict[str, Any]:
    return {
        "request_id": event.request_id,
        "project_id": event.project_id,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "offer": event.offer.model_dump(),
        **extra,
    }


def _to_musician(event: RequestEvent, kind: NotificationKind, title: str, body: str, **extra: Any) -> Draft:
    return Draft(event.musician_id, kind, title, body, _request_data(event, **extra))


def _to_requester(event: RequestEvent, kind: NotificationKind, title: str, body: str, **extra: Any) -> Draft:
    return Draft(event.requester_id, kind, title, body, _request_data(event, **extra))


def _other_side(event: RequestEvent, actor: int) -> Callable[..., Draft]:
    return _to_requester if actor == event.musician_id else _to_musician


def _request_sent(event: RequestSent) -> list[Draft]:
    return [
        _to_musician(
            event,
            "request.sent",
            f"Booking request: {event.project_title}",
            f"{event.requester_name} asks you to play {event.instrument} for {_money(event.offer)}.",
        )
    ]


def _request_accepted(event: RequestAccepted) -> list[Draft]:
    return [
        _to_requester(
            event,
            "request.accepted",
            f"Accepted: {event.project_title}",
            f"{event.musician_name} accepted ({event.instrument}).",
        )
    ]


def _request_declined(event: RequestDeclined) -> list[Draft]:
    reason = f": {_sentence(event.reason)}" if event.reason else "."
    return [
        _to_requester(
            event, "request.declined", f"Declined: {event.project_title}", f"{event.musician_name} declined{reason}"
        )
    ]


def _request_cancelled(event: RequestCancelled) -> list[Draft]:
    actor = event.requester_name if event.cancelled_by == event.requester_id else event.musician_name
    return [
        _other_side(event, event.cancelled_by)(
            event, "request.cancelled", f"Cancelled: {event.project_title}", f"{actor} cancelled the booking request."
        )
    ]


def _request_expired(event: RequestExpired) -> list[Draft]:
    return [
        _to_requester(
            event,
            "request.expired",
            f"Expired: {event.project_title}",
            f"{event.musician_name} did not answer in time.",
        ),
        _to_musician(
            event,
            "request.expired",
            f"Expired: {event.project_title}",
            f"The request from {event.requester_name} expired.",
        ),
    ]


def _reschedule_proposed(event: RequestRescheduleProposed) -> list[Draft]:
    actor = event.musician_name if event.proposed_by == event.musician_id else event.requester_name
    return [
        _other_side(event, event.proposed_by)(
            event,
            "request.reschedule_proposed",
            f"New time proposed: {event.project_title}",
            f"{actor} proposes {event.proposed_starts_at:%a %d %b %H:%M} UTC for {_money(event.proposed_offer)}.",
            proposed_starts_at=event.proposed_starts_at.isoformat(),
            proposed_ends_at=event.proposed_ends_at.isoformat(),
        )
    ]


def _reschedule_accepted(event: RequestRescheduleAccepted) -> list[Draft]:
    return [
        _other_side(event, event.accepted_by)(
            event,
            "request.reschedule_accepted",
            f"New time agreed: {event.project_title}",
            f"The new time {event.starts_at:%a %d %b %H:%M} UTC was accepted.",
        )
    ]


def _reschedule_declined(event: RequestRescheduleDeclined) -> list[Draft]:
    return [
        _other_side(event, event.declined_by)(
            event,
            "request.reschedule_declined",
            f"New time declined: {event.project_title}",
            "Your proposed new time was declined; the earlier terms stand.",
        )
    ]


def _clip(text: str, limit: int = 200) -> str:
    """User text inside a notification body: one line, a sane length (a note may be 2000)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _others(event: FileEvent, users: list[int]) -> list[int]:
    """Each user once, in order, never the one who acted."""
    return [u for u in dict.fromkeys(users) if u != event.actor_id]


def _file_data(event: FileEvent, **extra: Any) -> dict[str, Any]:
    return {"file_id": event.file_id, "project_id": event.project_id, "url": f"/files/{event.file_id}", **extra}


def _version_added(event: FileVersionAdded) -> list[Draft]:
    first = event.version_number == 1
    title = f"New file: {event.file_name}" if first else f"New version: {event.file_name}"
    what = event.file_name if first else f"version {event.version_number} of {event.file_name}"
    body = f"{event.actor_name} uploaded {what} to {event.project_title}."
    if event.note.strip():
        body += f" {_sentence(_clip(event.note))}"
    data = _file_data(event, version=event.version_number, file_kind=event.kind)
    return [Draft(user, "file.version_added", title, body, data) for user in _others(event, event.recipients)]


def _comment_added(event: FileCommentAdded) -> list[Draft]:
    # The control plane names the mentioned (members it resolved from @name) and the project's
    # people; this service cannot check membership, so it tells both lists, each person once.
    # A reply's author is told as a reply only while they are among the recipients: someone
    # who left the project hears nothing more of it.
    mentioned = set(event.mentioned)
    drafts = []
    for user in _others(event, [*event.mentioned, *event.recipients]):
        if user in mentioned:
            title = f"{event.actor_name} mentioned you: {event.file_name}"
        elif user == event.reply_to_author:
            title = f"{event.actor_name} replied to you: {event.file_name}"
        else:
            title = f"New comment: {event.file_name}"
        body = f"{event.actor_name} on version {event.version_number} ({event.project_title}): “{_clip(event.excerpt)}”"
        data = _file_data(event, version=event.version_number, comment_id=event.comment_id, mentioned=user in mentioned)
        # A mention is someone asking for this person by name: it reaches the inbox even when
        # comments are muted there (mail still follows the chosen channel).
        drafts.append(Draft(user, "file.comment_added", title, body, data, always_in_app=user in mentioned))
    return drafts


def _deliverable(event: DeliverableEvent, kind: NotificationKind, title: str, body: str, **extra: Any) -> list[Draft]:
    if event.recipient_id == event.actor_id:
        return []  # nobody needs telling what they just did
    data = {
        "deliverable_id": event.deliverable_id,
        "request_id": event.request_id,
        "project_id": event.project_id,
        "url": f"/projects/{event.project_id}/files",
        **extra,
    }
    return [Draft(event.recipient_id, kind, title, body, data)]


def _deliverable_submitted(event: DeliverableSubmitted) -> list[Draft]:
    return _deliverable(
        event,
        "deliverable.submitted",
        f"Handed in: {event.title}",
        f"{event.actor_name} submitted version {event.version_number} for “{event.title}” on {event.project_title}."
        + (f" {_sentence(_clip(event.note))}" if event.note.strip() else ""),
        file_id=event.file_id,
        version=event.version_number,
    )


def _deliverable_approved(event: DeliverableApproved) -> list[Draft]:
    return _deliverable(
        event,
        "deliverable.approved",
        f"Approved: {event.title}",
        f"{event.actor_name} approved “{event.title}” on {event.project_title}."
        + (f" {_sentence(_clip(event.note))}" if event.note.strip() else ""),
    )


def _deliverable_changes_requested(event: DeliverableChangesRequested) -> list[Draft]:
    asked = f": {_sentence(_clip(event.note))}" if event.note.strip() else "."
    return _deliverable(
        event,
        "deliverable.changes_requested",
        f"Changes requested: {event.title}",
        f"{event.actor_name} asked for changes to “{event.title}” on {event.project_title}{asked}",
    )


_HANDLERS: dict[type, Callable[[Any], list[Draft]]] = {
    BookingCreated: _booking_created,
    BookingWaitlisted: _waitlisted,
    BookingPromoted: _promoted,
    BookingPaymentConfirmed: _paid,
    BookingCancelled: _cancelled,
    BookingRefunded: _refunded,
    SessionCancelled: _session_cancelled,
    RequestSent: _request_sent,
    RequestAccepted: _request_accepted,
    RequestDeclined: _request_declined,
    RequestCancelled: _request_cancelled,
    RequestExpired: _request_expired,
    RequestRescheduleProposed: _reschedule_proposed,
    RequestRescheduleAccepted: _reschedule_accepted,
    RequestRescheduleDeclined: _reschedule_declined,
    FileVersionAdded: _version_added,
    FileCommentAdded: _comment_added,
    DeliverableSubmitted: _deliverable_submitted,
    DeliverableApproved: _deliverable_approved,
    DeliverableChangesRequested: _deliverable_changes_requested,
    MessagePosted: message_drafts,
    MessageEdited: lambda _event: [],  # the durable live copy tells the sockets; nobody is notified
    MessageDeleted: lambda _event: [],
}
