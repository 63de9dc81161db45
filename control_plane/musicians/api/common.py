"""What the musicians area's route modules share: the one blueprint, the role check and how a
refusal of the area's rules reads as a problem."""

from __future__ import annotations

from flask import Blueprint

from control_plane.accounts.auth import ensure_roles
from control_plane.accounts.models import User
from control_plane.kits.http.problems import ApiProblem
from control_plane.musicians.services.refusals import MusiciansRefused

__all__ = ["bp", "refusal_problem", "require_role"]

bp = Blueprint("musicians", __name__, url_prefix="/api")


def require_role(user: User, *roles: str, what: str) -> None:
    """The one role check (control_plane.accounts.auth), phrased for this area's actions."""
    ensure_roles(user, *roles, action=what)


def refusal_problem(refused: MusiciansRefused) -> ApiProblem:
    return ApiProblem(
        refused.status, refused.code, refused.detail, title=refused.title, errors=refused.errors, **refused.extra
    )
