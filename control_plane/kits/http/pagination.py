"""Keyset pagination for lists ordered by a time and an id.

An offset cursor skips or repeats rows when something is inserted or removed between two
pages; a keyset cursor says "continue after this row" instead, so every row shows exactly once
however the list changes meanwhile. The cursor is opaque to clients: the sort key and id of
the last row given, base64url-encoded JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from control_plane.kits.http.validation import field_problem

__all__ = ["MAX_CURSOR", "after", "encode"]

S = TypeVar("S", bound=Select[Any])
MAX_CURSOR = 200  # characters: an encoded (time, id) is about 60


def encode(moment: datetime, row_id: int) -> str:
    raw = json.dumps([moment.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        moment, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id < 2**63:
            raise ValueError(row_id)
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None:
            raise ValueError(moment)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise field_problem({"cursor": ["is not a cursor this list handed out"]}) from None
    return when, row_id


def after(
    stmt: S,
    cursor: str | None,
    time_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[int],
    *,
    newest_first: bool = False,
) -> S:
    """``stmt`` limited to the rows after ``cursor`` in the order (time, id), or (time desc, id)."""
    if not cursor:
        return stmt
    moment, row_id = _decode(cursor)
    later = time_column < moment if newest_first else time_column > moment
    return stmt.where(or_(later, and_(time_column == moment, id_column > row_id)))
