"""SQLite set-up for one engine: WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE``.

Every process that opens a SQLite database (the control plane, the outbox relay, the
notification service) calls :func:`configure_sqlite` on its own engine. The listeners are
attached to that engine only, never to SQLAlchemy's global ``Engine`` class, so importing a
module has no effect on anybody's connections.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["configure_sqlite"]


def configure_sqlite(engine: Engine) -> Engine:
    """Install the pragmas on ``engine`` if it is SQLite; other dialects are returned as they are.

    Call it before the first connection is made: the pragmas run as each connection opens.
    """
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _sqlite_pragmas):
        return engine
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers; autocommit mode in the driver so that SQLAlchemy's "begin"
    event below decides how a transaction starts."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    """BEGIN IMMEDIATE: a write transaction takes the lock at its start instead of failing to
    upgrade from a read lock under contention."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")
