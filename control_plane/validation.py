"""Request parsing: JSON bodies and query strings validated by pydantic models.

Errors become a 422 problem whose ``errors`` maps each offending field to its messages.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from control_plane.problems import ApiProblem

__all__ = ["MAX_JSON_BYTES", "field_problem", "parse_body", "parse_query"]

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BYTES = 256 * 1024


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "body"
        errors.setdefault(field, []).append(err["msg"])
    return errors


def field_problem(errors: dict[str, list[str]], detail: str | None = None) -> ApiProblem:
    """The 422 every endpoint gives for invalid fields: ``errors`` maps each to its messages."""
    detail = detail or f"Invalid fields: {', '.join(sorted(errors))}"
    return ApiProblem(422, "validation-error", detail, title="Invalid request", errors=errors)


def _validation_problem(exc: ValidationError) -> ApiProblem:
    return field_problem(_field_errors(exc))


def parse_body(model: type[M]) -> M:
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise ApiProblem(413, "payload-too-large", f"Request bodies are limited to {MAX_JSON_BYTES} bytes")
    if not request.get_data(cache=True):
        raw_empty: dict[str, Any] = {}  # no body at all: every field takes its default (or is missing)
        try:
            return model.model_validate(raw_empty)
        except ValidationError as exc:
            raise _validation_problem(exc) from None
    if request.mimetype != "application/json":
        # A form can post text/plain cross-site without a preflight; JSON cannot (login CSRF).
        raise ApiProblem(
            415, "unsupported-media-type", "Send the body as application/json", errors={"body": ["not JSON"]}
        )
    raw: Any = request.get_json(silent=True)
    if raw is None:
        raise ApiProblem(
            400, "invalid-json", "The request body must be a JSON object", errors={"body": ["not valid JSON"]}
        )
    if not isinstance(raw, dict):
        raise ApiProblem(
            400, "invalid-json", "The request body must be a JSON object", errors={"body": ["not an object"]}
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _validation_problem(exc) from None


def parse_query(model: type[M]) -> M:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise _validation_problem(exc) from None
