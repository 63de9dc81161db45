"""Core statements compiled once for psycopg, for the few paths that skip SQLAlchemy per call.

A statement is written once, as SQLAlchemy Core built from the models' tables; the ORM paths
execute it through the session, and a hot path sends the same statement, compiled here at
import, straight through the driver (``raw_sql``): same SQL, without the statement machinery
on every request.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["psycopg_sql"]

_DIALECT = postgresql_psycopg.dialect()  # type: ignore[no-untyped-call]


def psycopg_sql(statement: ClauseElement) -> str:
    """``statement`` as PostgreSQL text with ``%(name)s`` parameters named by its bindparams."""
    return str(statement.compile(dialect=_DIALECT))
