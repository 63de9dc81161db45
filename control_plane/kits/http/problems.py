"""RFC 9457 problem details for every error under /api (never HTML, never a stack trace)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.exc import DataError, StatementError
from werkzeug.exceptions import HTTPException

from control_plane.kits.extensions import db
from control_plane.kits.refusals import Refused

__all__ = ["ApiProblem", "problem_response", "refused_problem", "register_problem_handlers"]

log = logging.getLogger(__name__)


class ApiProblem(Exception):
    """Raise from a view to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("-", " ").capitalize()
        self.errors = errors
        self.extra = extra


def refused_problem(refused: Refused) -> ApiProblem:
    """The problem a use case's refusal answers with; whatever the refused command staged in
    this request's transaction is rolled back (a refusal writes nothing)."""
    db.session.rollback()
    return ApiProblem(
        refused.status, refused.code, refused.detail, title=refused.title, errors=refused.errors, **refused.extra
    )


def problem_response(problem: ApiProblem) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{problem.code}",
        "code": problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    if problem.errors:
        body["errors"] = problem.errors
    return Response(json.dumps(body), status=problem.status, mimetype="application/problem+json")


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/ws/")


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(exc)

    @app.errorhandler(Refused)
    def _refused(exc: Refused) -> Response:
        return problem_response(refused_problem(exc))

    @app.errorhandler(HTTPException)
    def _http_exception(exc: HTTPException) -> Any:
        if not _wants_problem() or exc.response is not None:
            return exc  # a prepared response (a 429 with Retry-After) is already problem+json
        code = (exc.name or "error").lower().replace(" ", "-")
        return problem_response(ApiProblem(exc.code or 500, code, exc.description or exc.name, title=exc.name))

    @app.errorhandler(StatementError)
    def _statement(exc: StatementError) -> Any:
        # SQLAlchemy wraps errors raised while binding parameters (a date past year 9999).
        if isinstance(exc.orig, OverflowError | ValueError) or isinstance(exc, DataError):
            return _out_of_range(exc)
        return _unexpected(exc)

    @app.errorhandler(OverflowError)
    def _out_of_range(exc: Exception) -> Any:
        # A number or date beyond what the database (or datetime) can hold: the client's input.
        db.session.rollback()
        if not _wants_problem():
            return Response("Not Found", status=404)
        return problem_response(ApiProblem(422, "out-of-range", "A number or date in the request is out of range"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_problem():
            return Response("Internal Server Error", status=500)
        return problem_response(
            ApiProblem(500, "internal-error", "Something went wrong on our side; nothing was changed.")
        )
