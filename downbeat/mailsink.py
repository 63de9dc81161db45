"""`downbeat mailsink`: a local SMTP server (aiosmtpd) that keeps every message as a .eml file
under ``<data_dir>/mail/``, for development, `downbeat up` and tests. The /mail page lists them.

Files are named after the Message-ID, so a message sent twice with the same id (the mail
queue's retry after an ambiguous failure) is stored once.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

__all__ = ["MailSink", "StoredMail", "read_mails", "run_mailsink"]


class MailSink:
    """The aiosmtpd handler: one file per Message-ID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        content: bytes = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        identity = str(parsed.get("Message-ID") or "") or hashlib.sha256(content).hexdigest()
        name = f"{time.time_ns()}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.eml"
        if any(self.folder.glob(f"*-{name.split('-', 1)[1]}")):
            return "250 OK (duplicate Message-ID, kept once)"
        tmp = self.folder / (name + ".tmp")
        tmp.write_bytes(content)
        tmp.rename(self.folder / name)  # readers never see half a file
        return "250 OK"


@dataclass(frozen=True)
class StoredMail:
    name: str
    received_at: datetime
    sender: str
    to: str
    subject: str
    text: str
    html: str
    message_id: str


def read_mails(folder: Path, limit: int = 200) -> list[StoredMail]:
    """The newest ``limit`` stored mails, newest first."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    mails = []
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        mails.append(
            StoredMail(
                name=path.name,
                received_at=datetime.fromtimestamp(int(path.name.split("-", 1)[0]) / 1e9, UTC),
                sender=str(message.get("From", "")),
                to=str(message.get("To", "")),
                subject=str(message.get("Subject", "")),
                text=text_part.get_content() if text_part is not None else "",
                html=html_part.get_content() if html_part is not None else "",
                message_id=str(message.get("Message-ID", "")),
            )
        )
    return mails


def run_mailsink(host: str, port: int, folder: Path) -> None:
    """Serve until SIGTERM or SIGINT."""
    from aiosmtpd.controller import Controller  # only the mail sink process needs the SMTP server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller = Controller(MailSink(folder), hostname=host, port=port)
    controller.start()
    print(f"mail sink listening on {host}:{port}, keeping mail in {folder}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
