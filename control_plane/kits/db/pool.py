"""Checking pooled connections only when they may have gone stale.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` on every checkout: one extra round trip on
every request, about a fifth of a booking's wall time in the benchmark's profile. A
connection that was in use a moment ago is as good as its last statement said; one that sat
in the pool for a while may have been closed by the server, a restart or a proxy. So only a
connection idle for longer than ``idle_s`` is pinged, and a failed ping makes the pool
replace it (``DisconnectionError``), as ``pool_pre_ping`` would. A connection that dies
within the window fails its request once; SQLAlchemy then invalidates the whole pool, so
the next requests reconnect.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

__all__ = ["PING_AFTER_IDLE_S", "ping_after_idle"]

PING_AFTER_IDLE_S = 5.0
_IDLE_SINCE = "downbeat.idle_since"


def ping_after_idle(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    """Ping ``engine``'s connections on checkout only after ``idle_s`` seconds unused."""

    def mark(_dbapi_connection: Any, record: ConnectionPoolEntry, *_: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        idle_since = record.info.get(_IDLE_SINCE, 0.0)
        if time.monotonic() - idle_since < idle_s and not getattr(dbapi_connection, "broken", False):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error
        if not alive:
            raise exc.DisconnectionError("stale pooled connection")

    event.listen(engine, "connect", mark)
    event.listen(engine, "checkin", mark)
    event.listen(engine, "checkout", check)
