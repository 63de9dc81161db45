"""What the musicians area's route modules share: the one blueprint, the role checks of the use
cases run before a body is parsed."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from control_plane.accounts.models import User
from control_plane.kits.http.problems import refused_problem
from control_plane.musicians.services.refusals import MusiciansRefused

__all__ = ["bp", "ensure_allowed"]

bp = Blueprint("musicians", __name__, url_prefix="/api")


def ensure_allowed(check: Callable[[User], None], user: User) -> None:
    """Run a use case's own role check (``services.roles``) before the body is parsed, so a
    caller without the role hears that rather than what is wrong with the body; the use case
    checks again."""
    try:
        check(user)
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
