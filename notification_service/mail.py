"""Email: mail queued with its notification, sent by a timer as per-recipient digests.

Delivery is at-least-once with a stable identity, never at-most-once:

1. In one transaction the sender claims every queued row of a recipient by writing a fresh
   ``attempt_id`` onto them (``UPDATE ... WHERE attempt_id IS NULL``: two workers never
   claim the same row).
2. It sends one message whose ``Message-ID`` is derived from that attempt id.
3. It marks the rows ``sent_at``.

A crash or an ambiguous SMTP failure between 2 and 3 leaves the rows claimed but unsent;
after ``retry_s`` they are sent again *with the same attempt id*, so the same Message-ID and
the same content. Nothing is ever dropped; the worst case is one identical resend, which
receivers that de-duplicate on Message-ID (our sink, most mail stores) show once. Dropping
instead (marking before sending) would lose mail on a crash, which we judged worse.

A recipient gets at most one mail per ``window_s``: the first queued row waits one window
so that a burst lands in one digest, and the next mail waits a window after the last.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

import jinja2
from sqlalchemy import Engine, func, select, update

from notification_service.schema import outgoing_mail

__all__ = ["MailQueue", "MailSender", "QueuedMail", "SmtpMailSender", "compose"]

log = logging.getLogger(__name__)
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "email"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpMailSender:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self._host, self._port, self._timeout = host, port, timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
            smtp.send_message(message)


@dataclass(frozen=True)
class QueuedMail:
    kind: str
    title: str
    body: str


def compose(
    sender: str, to: str, notes: list[QueuedMail], attempt_id: str, public_url: str, when: datetime
) -> EmailMessage:
    """One message (text and HTML) for everything queued for ``to``: a digest if several."""
    subject = notes[0].title if len(notes) == 1 else f"{len(notes)} new notifications on Downbeat"
    context = {
        "notes": notes,
        "subject": subject,
        "inbox_url": f"{public_url}/inbox",
        "prefs_url": f"{public_url}/settings/notifications",
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    # A header must be one line: user-provided titles may carry newlines or U+2028.
    message["Subject"] = " ".join(subject.split())[:200]
    message["Date"] = formatdate(when.timestamp(), localtime=False)
    message["Message-ID"] = f"<{attempt_id}@downbeat.mail>"
    message["X-Downbeat-Count"] = str(len(notes))
    message.set_content(_TEMPLATES.get_template("mail.txt").render(context))
    message.add_alternative(_TEMPLATES.get_template("mail.html").render(context), subtype="html")
    return message


class MailQueue:
    def __init__(
        self,
        engine: Engine,
        mailer: MailSender,
        *,
        sender: str,
        public_url: str,
        window_s: float,
        retry_s: float = 30.0,
    ) -> None:
        self._engine = engine
        self._mailer = mailer
        self._sender = sender
        self._public_url = public_url.rstrip("/")
        self._window = timedelta(seconds=window_s)
        self._retry = timedelta(seconds=retry_s)

    def send_due(self, now: datetime | None = None) -> int:
        """Send what is due; returns the number of mails the SMTP server accepted."""
        now = now or datetime.now(UTC)
        sent = 0
        for attempt_id in self._stale_attempts(now):
            sent += self._send(attempt_id, now)
        for address in self._due_recipients(now):
            claimed = self._claim(address, now)
            if claimed is not None:
                sent += self._send(claimed, now)
        return sent

    def _stale_attempts(self, now: datetime) -> list[str]:
        with self._engine.connect() as conn:
            return [
                str(a)
                for a in conn.execute(
                    select(outgoing_mail.c.attempt_id)
                    .where(
                        outgoing_mail.c.attempt_id.is_not(None),
                        outgoing_mail.c.sent_at.is_(None),
                        outgoing_mail.c.attempted_at <= now - self._retry,
                    )
                    .distinct()
                ).scalars()
            ]

    def _due_recipients(self, now: datetime) -> list[str]:
        cutoff = now - self._window
        with self._engine.connect() as conn:
            waiting = conn.execute(
                select(outgoing_mail.c.email)
                .where(outgoing_mail.c.attempt_id.is_(None))
                .group_by(outgoing_mail.c.email)
                .having(func.min(outgoing_mail.c.created_at) <= cutoff)
            ).scalars()
            due = []
            for address in waiting:
                last = conn.execute(
                    select(func.max(outgoing_mail.c.attempted_at)).where(outgoing_mail.c.email == address)
                ).scalar_one_or_none()
                if last is None or _utc(last) <= cutoff:
                    due.append(str(address))
        return due

    def _claim(self, address: str, now: datetime) -> str | None:
        attempt_id = uuid.uuid4().hex
        with self._engine.begin() as conn:
            claimed = conn.execute(
                update(outgoing_mail)
                .where(outgoing_mail.c.email == address, outgoing_mail.c.attempt_id.is_(None))
                .values(attempt_id=attempt_id, attempted_at=now)
            ).rowcount
        return attempt_id if claimed else None

    def _send(self, attempt_id: str, now: datetime) -> int:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(outgoing_mail).where(outgoing_mail.c.attempt_id == attempt_id).order_by(outgoing_mail.c.id)
            ).all()
        if not rows:
            return 0
        notes = [QueuedMail(r.kind, r.title, r.body) for r in rows]
        try:
            message = compose(self._sender, rows[0].email, notes, attempt_id, self._public_url, now)
            self._mailer.send(message)
        except Exception as exc:  # one bad row must never stop the mail of everyone else
            log.warning("mail to %s not sent (%s); retrying in %s", rows[0].email, exc, self._retry)
            with self._engine.begin() as conn:
                conn.execute(
                    update(outgoing_mail).where(outgoing_mail.c.attempt_id == attempt_id).values(attempted_at=now)
                )
            return 0
        with self._engine.begin() as conn:
            conn.execute(update(outgoing_mail).where(outgoing_mail.c.attempt_id == attempt_id).values(sent_at=now))
        return 1


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
