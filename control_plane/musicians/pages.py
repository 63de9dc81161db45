"""Pages for projects, the musician's request inbox, the musician profile editor, musician
search and public musician profiles.

They only read; every change goes through the JSON API from the browser (apiFetch).
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, request

from control_plane.accounts.auth import login_required, viewer
from control_plane.kits.extensions import db
from control_plane.kits.http.pages import content_security_policy, page, page_blueprint
from control_plane.musicians.models import MusicianProfile
from control_plane.musicians.queries import owned_project
from control_plane.musicians.services.roles import MUSICIAN_ROLES, REQUESTER_ROLES

__all__ = ["bp"]

bp = page_blueprint("musicians_pages", __name__)

SEARCH_FIELDS = (
    "q",
    "instrument",
    "genre",
    "near",
    "radius_km",
    "max_rate",
    "currency",
    "per",
    "available_from",
    "available_to",
    "sort",
)


def _with_photos(body: str) -> Response:
    """Profile photos live on other hosts (https only): the same strict policy as every page,
    plus https images. Set here first, the area's after_request keeps it (setdefault)."""
    response = make_response(body)
    response.headers["Content-Security-Policy"] = content_security_policy(img="https:")
    return response


@bp.get("/projects")
@login_required
def projects() -> str:
    user = viewer()
    assert user is not None
    return page("projects.html", title="Projects", can_request=user.has_any_role(*REQUESTER_ROLES))


@bp.get("/projects/<int:project_id>")
@login_required
def project(project_id: int) -> Any:
    user = viewer()
    assert user is not None
    found = owned_project(db.session, project_id, user.id)
    if found is None:
        return page("404.html", title="Project not found"), 404
    return page("project.html", title=found.title, project=found.to_json())


@bp.get("/requests")
@login_required
def requests_inbox() -> str:
    user = viewer()
    assert user is not None
    return page("requests_inbox.html", title="Requests", is_musician=user.has_any_role(*MUSICIAN_ROLES))


@bp.get("/musicians/me")
@login_required
def musician_profile() -> Response:
    user = viewer()
    assert user is not None
    return _with_photos(
        page("musician_profile.html", title="Musician profile", is_musician=user.has_any_role(*MUSICIAN_ROLES))
    )


@bp.get("/musicians")
def musician_search() -> Response:
    """Public: anyone may look for musicians; the filters start from the query string."""
    user = viewer()
    filters = {name: request.args.get(name, "")[:100] for name in SEARCH_FIELDS}
    return _with_photos(
        page(
            "musician_search.html",
            title="Find musicians",
            filters=filters,
            can_request=bool(user and user.has_any_role(*REQUESTER_ROLES)),
        )
    )


@bp.get("/musicians/<int:musician_id>")
def musician_public(musician_id: int) -> Any:
    found = db.session.get(MusicianProfile, musician_id)
    if found is None:
        return page("404.html", title="Musician not found"), 404
    user = viewer()
    return _with_photos(
        page(
            "musician_public.html",
            title=found.user.name,
            musician_id=musician_id,
            name=found.user.name,
            is_self=bool(user and user.id == musician_id),
            can_request=bool(user and user.has_any_role(*REQUESTER_ROLES)),
        )
    )
