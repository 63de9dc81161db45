"""Adding an event to the outbox. It is published only after the caller's commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, scoped_session

from contracts import EventBase, encode, topic_for
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.kits.outbox.wakeup import mark_outbox_dirty

__all__ = ["add_event"]


def add_event(session: Session | scoped_session[Any], event: EventBase) -> OutboxMessage:
    """Stage ``event`` in the caller's transaction; the relay publishes it after commit."""
    topic, key = topic_for(event)
    row = OutboxMessage(
        event_id=str(event.event_id),
        event_type=str(event.type),
        topic=topic,
        key=key,
        payload=encode(event),
    )
    session.add(row)
    mark_outbox_dirty(session)
    return row
