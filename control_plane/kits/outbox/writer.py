"""Adding an event to the outbox. It is published only after the caller's commit.

``outbox_row`` is the one definition of what an event's row holds: ``add_event`` stages it
through the ORM, and a hot path that writes its whole change in one statement inserts the same
row (its columns named by ``OUTBOX_COLUMNS``) from a CTE.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, scoped_session

from contracts import EventBase, encode, topic_for
from control_plane.kits.db.types import utcnow
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.kits.outbox.wakeup import mark_outbox_dirty

__all__ = ["OUTBOX_COLUMNS", "OutboxRow", "add_event", "outbox_row"]


@dataclass(frozen=True)
class OutboxRow:
    """The columns an event's outbox row is written with (``sent_at`` stays empty)."""

    event_id: str
    event_type: str
    topic: str
    key: bytes
    payload: bytes
    created_at: datetime
    attempts: int


OUTBOX_COLUMNS = tuple(field.name for field in fields(OutboxRow))


def outbox_row(event: EventBase, now: datetime | None = None) -> OutboxRow:
    """The row that publishes ``event``: its topic and key from the contract, the encoded body."""
    topic, key = topic_for(event)
    return OutboxRow(
        event_id=str(event.event_id),
        event_type=str(event.type),
        topic=topic,
        key=key,
        payload=encode(event),
        created_at=now or utcnow(),
        attempts=0,
    )


def add_event(session: Session | scoped_session[Any], event: EventBase) -> OutboxMessage:
    """Stage ``event`` in the caller's transaction; the relay publishes it after commit."""
    row = OutboxMessage(**vars(outbox_row(event)))
    session.add(row)
    mark_outbox_dirty(session)
    return row
