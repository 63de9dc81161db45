"""The page kit: rendering, security headers and HTML error pages shared by every area's pages.

Pages are server-rendered (Jinja templates + plain ES modules, no build step) and only read:
every change goes through the JSON API from the browser, which holds the JWT cookies
(HttpOnly) and sends the readable CSRF cookie back as ``X-CSRF-TOKEN``. Templates and static
files live in the app's default folders (``control_plane/templates``, ``control_plane/static``).

The kit knows no area: who is looking (``user``, ``can_host``) reaches the templates through
a context processor that the accounts area registers (``control_plane.accounts.auth``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from control_plane.kits.extensions import current_settings
from control_plane.kits.http.problems import ApiProblem, problem_response
from control_plane.kits.refusals import Refused

__all__ = ["here", "page", "page_blueprint", "register_page_errors", "safe_next"]

log = logging.getLogger(__name__)


def page(template: str, **context: Any) -> str:
    """Renders one page; the viewer comes from the accounts area's context processor."""
    return render_template(template, **context)


def safe_next(raw: str | None) -> str:
    """Only same-site paths: '/x' yes, '//evil.example' or 'https://…' no."""
    # Browsers drop tabs and newlines from URLs, so "/\t/evil" would become "//evil".
    safe = raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw
    if safe and all(ord(ch) >= 0x20 for ch in raw):  # type: ignore[union-attr]
        return raw  # type: ignore[return-value]
    return "/sessions"


def here() -> str:
    """This request's path and query, for a ``?next=`` that brings the visitor back."""
    path = request.full_path if request.query_string else request.path
    return path.rstrip("?")


def content_security_policy(*, img: str = "", media: str = "", connect: str = "") -> str:
    """The pages' policy: no inline scripts or styles anywhere, so the policy forbids them;
    ``img``/``media``/``connect`` widen one directive (profile photos, a storage host).
    'unsafe-eval' only where the settings allow it (the test configuration: browser-automation
    tools evaluate strings), never in dev or prod."""
    host = request.host
    settings = current_settings()
    scripts = "'self' 'unsafe-eval'" if settings.control_plane.csp_allow_eval else "'self'"
    return (
        f"default-src 'self'; img-src 'self' data:{' ' + img if img else ''}; "
        f"media-src 'self' blob:{' ' + media if media else ''}; style-src 'self'; "
        f"script-src {scripts}; connect-src 'self' ws://{host} wss://{host}{' ' + connect if connect else ''}; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


def page_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
    settings = current_settings()
    if settings.control_plane.hsts_seconds > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={settings.control_plane.hsts_seconds}")
    return response


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/ws/")


def _not_found(exc: HTTPException) -> Any:
    """A friendly page for unknown URLs; /api and /ws keep their problem+json answer."""
    if _wants_problem():
        return problem_response(ApiProblem(404, "not-found", exc.description or "Not Found", title="Not Found"))
    return page("404.html", title="Page not found"), 404


def page_error(exc: Exception) -> Any:
    """Errors raised by page views: an HTML error page, never a stack trace."""
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        if status == 404:
            return page("404.html", title="Page not found"), 404
        return page("error.html", title=exc.name, status=status, message=exc.description), status
    if isinstance(exc, ApiProblem | Refused):
        status = exc.status
        if status == 404:
            return page("404.html", title="Not found"), 404
        return page("error.html", title=exc.title or exc.code, status=status, message=exc.detail), status
    log.exception("page %s failed", request.path)
    try:
        return page(
            "error.html",
            title="Something went wrong",
            status=500,
            message="Something went wrong on our side. Please try again in a moment.",
        ), 500
    except Exception:  # the template itself failed; plain text is all we can do
        return Response("Something went wrong on our side.", status=500, mimetype="text/plain")


def register_page_errors(app: Flask) -> None:
    """Unknown URLs anywhere get the friendly 404 page (problem+json under /api and /ws)."""
    app.register_error_handler(404, _not_found)


def page_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for an area's pages, with the strict security headers (no inline scripts)
    and the HTML error pages every page has."""
    area = Blueprint(name, import_name)
    area.after_request(page_headers)
    area.register_error_handler(Exception, page_error)
    return area
