"""Who hears what: events in, notification drafts out. Pure, so tests call it directly."""

from __future__ import annotations

from contracts import BookingCreated, Event
from notification_service.store import Draft

__all__ = ["drafts_for"]


def drafts_for(event: Event) -> list[Draft]:
    if isinstance(event, BookingCreated):
        return _booking_created(event)
    return []


def _booking_created(event: BookingCreated) -> list[Draft]:
    seats = f"{event.seats} seat" + ("s" if event.seats != 1 else "")
    data = {
        "booking_id": event.booking_id,
        "session_id": event.session_id,
        "attendee_id": event.attendee_id,
        "seats": event.seats,
        "status": event.status,
        "starts_at": event.starts_at.isoformat(),
    }
    drafts = [
        Draft(
            user_id=event.owner_id,
            kind="booking.created",
            title=f"New booking: {event.session_title}",
            body=f"{event.attendee_name} booked {seats} in {event.session_title}.",
            data=data,
        )
    ]
    if event.attendee_id != event.owner_id:
        confirmed = event.status == "confirmed"
        drafts.append(
            Draft(
                user_id=event.attendee_id,
                kind="booking.confirmed" if confirmed else "booking.pending_payment",
                title=("Booking confirmed: " if confirmed else "Booking awaiting payment: ") + event.session_title,
                body=f"You hold {seats} in {event.session_title}.",
                data=data,
            )
        )
    return drafts
