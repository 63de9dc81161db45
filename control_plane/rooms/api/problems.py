"""The rooms area's refusals as problem+json (one mapping for every rooms route)."""

from __future__ import annotations

from control_plane.kits.extensions import db
from control_plane.kits.http.problems import ApiProblem
from control_plane.rooms.services.refusals import RoomsRefused

__all__ = ["refused_problem"]


def refused_problem(refused: RoomsRefused) -> ApiProblem:
    """The problem a refusal answers with; whatever the refused request staged is rolled back."""
    db.session.rollback()
    return ApiProblem(refused.status, refused.code, refused.detail)
