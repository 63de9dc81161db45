"""Ending the sockets of a login that was ended, for every socket of a process in one query.

A socket lives for hours; its login may be ended meanwhile (logout, a reused refresh token,
an account suspended). Each socket used to ask the database every second, which with
hundreds of open sockets cost more than the messages they carried. Now every socket of the
process registers its login here, one thread asks about all of them once a second, and a
socket only reads a set.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from flask import Flask, current_app

from control_plane.accounts.queries import families_revoked
from control_plane.kits.extensions import db

__all__ = ["CHECK_EVERY_S", "LoginWatch", "login_watch"]

log = logging.getLogger(__name__)
CHECK_EVERY_S = 1.0  # how soon an open socket hears that its login was ended
_KEY = "downbeat.login_watch"
_CREATE = threading.Lock()


class LoginWatch:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._open: Counter[str] = Counter()
        self._revoked: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, family: str) -> None:
        with self._lock:
            self._open[family] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="login-watch", daemon=True)
                self._thread.start()

    def discard(self, family: str) -> None:
        with self._lock:
            self._open[family] -= 1
            if self._open[family] <= 0:
                del self._open[family]
                self._revoked.discard(family)

    def revoked(self, family: str) -> bool:
        with self._lock:
            return family in self._revoked

    def check(self) -> None:
        """One query for every login with a socket open in this process."""
        with self._lock:
            families = list(self._open)
        if not families:
            return
        with self._app.app_context():
            try:
                ended = families_revoked(db.session, families)
            finally:
                db.session.remove()
        with self._lock:
            self._revoked = {f for f in ended if f in self._open}

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(CHECK_EVERY_S):
            try:
                self.check()
            except Exception:  # the database away for a moment: try again next second
                log.warning("could not check open sockets' logins", exc_info=True)


def login_watch() -> LoginWatch:
    """This app's watch (made on first use)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with _CREATE:
        found = app.extensions.get(_KEY)
        if not isinstance(found, LoginWatch):
            found = app.extensions[_KEY] = LoginWatch(app)
    return found
