"""The pages of project files: a project's Files tab and one file's page (docs/FILES.md).

They only read: who may look, and what the page needs to start. Every change (uploads,
versions, comments, deliverables) goes through the JSON API from the browser, and the pages
stay fresh through ``/ws/projects/{id}/files``. Anyone who is neither the project's owner
nor a member gets the same 404 page whether the project or file exists or not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, make_response

from control_plane.accounts.auth import login_required, viewer
from control_plane.files.queries import file_json, project_role, visible_file, visible_project
from control_plane.kits.extensions import db
from control_plane.kits.http.pages import content_security_policy, page, page_blueprint
from downbeat.settings import Settings

__all__ = ["bp"]

bp = page_blueprint("files_pages", __name__)

KIND_LABELS = {"audio": "Audio", "score": "Score", "image": "Image", "document": "Document", "other": "File"}


def _storage_origins() -> list[str]:
    """Where a browser may be sent for a version's bytes: with S3 and signed URLs the content
    route answers 302 to the bucket's host, which ``<audio>``, ``<img>`` and pdf.js's fetch
    then load. Nothing (the kit's policy as it is) with the folder adapter. ``<audio>`` and
    ``<img>`` need nothing more from the bucket; pdf.js reads the PDF with ``fetch``, so the
    bucket needs a CORS rule allowing GET (and Range) from the site for charts to show."""
    settings: Settings = current_app.extensions["downbeat.settings"]
    storage = settings.storage
    if storage.backend != "s3" or storage.signed_url_seconds <= 0:
        return []
    # The adapter signs path-style URLs (``endpoint/bucket/key``): the endpoint's origin.
    if storage.s3_endpoint_url:
        parts = urlsplit(storage.s3_endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []
    return [f"https://s3.{storage.s3_region}.amazonaws.com", "https://s3.amazonaws.com"]


def _file_page(body: str) -> Response:
    """The kit's strict policy, widened only by the storage host when downloads are redirected
    to signed S3 URLs (media, images and pdf.js's fetch of the PDF). pdf.js itself needs no
    widening: its module and its worker are served from 'self' (worker-src falls back to
    script-src), it is run with ``isEvalSupported: false``, and its fonts are loaded through
    the FontFace API. Set here first; the kit's after_request keeps it (setdefault)."""
    response = make_response(body)
    extra = _storage_origins()
    if extra:
        hosts = " ".join(extra)
        response.headers["Content-Security-Policy"] = content_security_policy(img=hosts, media=hosts, connect=hosts)
    return response


def _not_found() -> tuple[str, int]:
    return page("404.html", title="Not found"), 404


@bp.get("/projects/<int:project_id>/files")
@login_required
def project_files(project_id: int) -> Any:
    user = viewer()
    assert user is not None
    project = visible_project(db.session, project_id, user.id)
    if project is None:
        return _not_found()
    role = project_role(db.session, project, user.id)
    return _file_page(
        page(
            "project_files.html",
            title=f"Files · {project.title}",
            project={"id": project.id, "title": project.title, "owner_name": project.owner.name},
            role=role,
        )
    )


@bp.get("/files/<int:file_id>")
@login_required
def file_view(file_id: int) -> Any:
    user = viewer()
    assert user is not None
    found = visible_file(db.session, file_id, user.id)
    if found is None:
        return _not_found()
    project = visible_project(db.session, found.project_id, user.id)
    if project is None:  # left the project between the two reads
        return _not_found()
    role = project_role(db.session, project, user.id)
    shown = file_json(db.session, found)
    return _file_page(
        page(
            "file_view.html",
            title=f"{found.name} · {project.title}",
            project={"id": project.id, "title": project.title},
            file=shown,
            kind_label=KIND_LABELS.get(found.kind, "File"),
            role=role,
        )
    )
