"""Session reminders: scheduled from booking events, sent once by a timer.

Booking created or promoted (with a seat) adds one row per reminder window to ``reminders``
with a unique key ``reminder:<booking_id>:<minutes>m``; a cancelled booking or session marks
them cancelled. The timer stores each due reminder through :meth:`InboxStore.record` with
the key as its event id, so a worker that dies between storing and marking a reminder sent
stores it again as a duplicate (no second row) and only pushes it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, insert, select, update

from contracts import BookingCancelled, BookingCreated, BookingPromoted, Event, SessionCancelled
from notification_service.schema import reminders
from notification_service.store import Draft, InboxStore, Recorded

__all__ = ["DueReminder", "ReminderBook", "reminder_draft"]

BATCH = 200


@dataclass(frozen=True)
class DueReminder:
    key: str
    user_id: int
    booking_id: int
    session_id: int
    session_title: str
    window_minutes: int
    starts_at: datetime


def _window_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "1 day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def reminder_draft(due: DueReminder) -> Draft:
    return Draft(
        due.user_id,
        "session.reminder",
        f"Reminder: {due.session_title}",
        f"{due.session_title} starts in about {_window_label(due.window_minutes)}, "
        f"at {due.starts_at:%a %d %b %H:%M} UTC.",
        {
            "booking_id": due.booking_id,
            "session_id": due.session_id,
            "starts_at": due.starts_at.isoformat(),
            "window_minutes": due.window_minutes,
        },
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ReminderBook:
    def __init__(self, store: InboxStore, windows_minutes: tuple[int, ...]) -> None:
        self._store = store
        self._engine = store.engine
        self._windows = windows_minutes

    def apply(self, event: Event, conn: Connection | None = None) -> None:
        """Keep the schedule in step with one booking event (idempotent), inside ``conn``'s
        transaction when given (the handler stores the event's notifications in the same one)."""
        if conn is None:
            with self._engine.begin() as own:
                self.apply(event, own)
        elif isinstance(event, BookingCreated | BookingPromoted):
            self._schedule(conn, event)
        elif isinstance(event, BookingCancelled):
            self._cancel(conn, reminders.c.booking_id == event.booking_id)
        elif isinstance(event, SessionCancelled):
            self._cancel(conn, reminders.c.session_id == event.session_id)

    def _schedule(self, conn: Connection, event: BookingCreated | BookingPromoted) -> None:
        starts_at = event.starts_at.astimezone(UTC)
        for minutes in self._windows:
            due_at = starts_at - timedelta(minutes=minutes)
            if due_at <= event.occurred_at:
                continue  # booked inside this window: a "starts in a day" mail would be wrong
            key = f"reminder:{event.booking_id}:{minutes}m"
            if conn.execute(select(reminders.c.id).where(reminders.c.key == key)).first() is not None:
                continue  # redelivered event; keep whatever state the row has
            conn.execute(
                insert(reminders).values(
                    key=key,
                    booking_id=event.booking_id,
                    session_id=event.session_id,
                    user_id=event.attendee_id,
                    session_title=event.session_title,
                    window_minutes=minutes,
                    starts_at=starts_at,
                    due_at=due_at,
                )
            )

    @staticmethod
    def _cancel(conn: Connection, where: ColumnElement[bool]) -> None:
        conn.execute(
            update(reminders)
            .where(where, reminders.c.sent_at.is_(None), reminders.c.cancelled_at.is_(None))
            .values(cancelled_at=datetime.now(UTC))
        )

    def due(self, now: datetime) -> list[DueReminder]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(reminders)
                .where(reminders.c.sent_at.is_(None), reminders.c.cancelled_at.is_(None), reminders.c.due_at <= now)
                .order_by(reminders.c.due_at, reminders.c.id)
                .limit(BATCH)
            ).all()
        return [
            DueReminder(
                r.key, r.user_id, r.booking_id, r.session_id, r.session_title, r.window_minutes, _utc(r.starts_at)
            )
            for r in rows
        ]

    def send_due(self, now: datetime | None = None) -> list[Recorded]:
        """Store every due reminder (idempotent on its key), then mark it sent."""
        now = now or datetime.now(UTC)
        recorded: list[Recorded] = []
        for due in self.due(now):
            if due.starts_at > now:
                recorded += self._store.record(due.key, [reminder_draft(due)])
            with self._engine.begin() as conn:
                conn.execute(update(reminders).where(reminders.c.key == due.key).values(sent_at=now))
        return recorded
