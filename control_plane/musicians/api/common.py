"""What the musicians area's route modules share: the one blueprint and small helpers."""

from __future__ import annotations

from flask import Blueprint

from control_plane.accounts.auth import ensure_roles
from control_plane.accounts.models import User

__all__ = ["bp"]

bp = Blueprint("musicians", __name__, url_prefix="/api")


def _dedupe(items: list[str]) -> list[str]:
    """Case-insensitive duplicates go; the first spelling stays."""
    kept: dict[str, str] = {}
    for item in items:
        kept.setdefault(item.casefold(), item)
    return list(kept.values())


def _require_role(user: User, *roles: str, what: str) -> None:
    """The one role check (control_plane.accounts.auth), phrased for this area's actions."""
    ensure_roles(user, *roles, action=what)
