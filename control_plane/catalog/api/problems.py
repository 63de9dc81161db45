"""The catalog's refusals as problem+json (one mapping for every catalog route)."""

from __future__ import annotations

from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.kits.extensions import db
from control_plane.kits.http.problems import ApiProblem

__all__ = ["refused_problem"]


def refused_problem(refused: CatalogRefused) -> ApiProblem:
    """The problem a refusal answers with; whatever the refused command staged is rolled back."""
    db.session.rollback()
    return ApiProblem(refused.status, refused.code, refused.detail, title=refused.title, errors=refused.errors)
