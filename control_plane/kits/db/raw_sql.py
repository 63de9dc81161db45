"""The psycopg connection under a SQLAlchemy session, for the few statements on every request.

SQLAlchemy's statement machinery (clause building, cache keys, result wrapping) costs tens to
hundreds of microseconds a statement; on the per-request paths that dominates (measured on
the booking benchmark). Those paths send plain SQL through psycopg on the session's own
connection, so they stay in its transaction; psycopg prepares a statement server-side after
its fifth use on a connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

__all__ = ["autocommit_connection", "postgres_connection"]


_CACHED = "downbeat.raw_connection"


def postgres_connection(session: Session | scoped_session[Any]) -> psycopg.Connection[Any] | None:
    """The session's psycopg connection (in its transaction), or None on another database.

    Remembered per transaction: a request asks up to three times (token check, key claim,
    booking) and ``Session.connection()`` is not free. A new transaction (after a commit or
    rollback) looks it up again, since it may run on another pooled connection.
    """
    current: Session = session() if isinstance(session, scoped_session) else session
    transaction = current.get_transaction()
    cached = current.info.get(_CACHED)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cast(psycopg.Connection[Any] | None, cached[1])
    connection = current.connection()
    raw = None
    if connection.dialect.name == "postgresql":
        raw = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    current.info[_CACHED] = (current.get_transaction(), raw)
    return raw


@contextmanager
def autocommit_connection(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """A pooled psycopg connection in autocommit mode: every statement its own transaction.

    For a path that makes its whole change in one statement: no ``BEGIN`` and no ``COMMIT``
    round trips, and row locks held for the statement and its commit only. The connection
    goes back to the pool in its usual (transactional) mode; one that failed at the network
    level is thrown away instead.
    """
    pooled = engine.raw_connection()
    raw = cast(psycopg.Connection[Any], pooled.driver_connection)
    try:
        raw.autocommit = True
        yield raw
    except psycopg.OperationalError:
        pooled.invalidate()
        raise
    finally:
        if not raw.closed:
            raw.autocommit = False
        pooled.close()
