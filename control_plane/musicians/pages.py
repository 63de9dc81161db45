"""Pages for projects, the musician's request inbox and the musician profile editor.

They only read; every change goes through the JSON API from the browser (apiFetch).
"""

from __future__ import annotations

from typing import Any

from control_plane.extensions import db
from control_plane.musicians.models import Project
from control_plane.web.pages import login_required, page, page_blueprint, viewer

__all__ = ["bp"]

bp = page_blueprint("musician_pages", __name__)

REQUESTER_ROLES = ("producer", "band_manager")


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
    found = db.session.get(Project, project_id)
    if found is None or found.owner_id != user.id:
        return page("404.html", title="Project not found"), 404
    return page("project.html", title=found.title, project=found.to_json())


@bp.get("/requests")
@login_required
def requests_inbox() -> str:
    user = viewer()
    assert user is not None
    return page("requests_inbox.html", title="Requests", is_musician=user.has_any_role("musician"))


@bp.get("/musicians/me")
@login_required
def musician_profile() -> str:
    user = viewer()
    assert user is not None
    return page("musician_profile.html", title="Musician profile", is_musician=user.has_any_role("musician"))
