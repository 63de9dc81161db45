"""Request parsing: JSON bodies and query strings validated by pydantic models.

Errors become a 422 problem whose ``errors`` maps each offending field to its messages.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from control_plane.problems import ApiProblem

__all__ = ["MAX_JSON_BYTES", "parse_body", "parse_query"]

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BYTES = 256 * 1024


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "body"
        errors.setdefault(field, []).append(err["msg"])
    return errors


def _validation_problem(exc: ValidationError) -> ApiProblem:
    errors = _field_errors(exc)
    fields = ", ".join(sorted(errors))
    return ApiProblem(422, "validation-error", f"Invalid fields: {fields}", title="Invalid request", errors=errors)


def parse_body(model: type[M]) -> M:
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise ApiProblem(413, "payload-too-large", f"Request bodies are limited to {MAX_JSON_BYTES} bytes")
    raw: Any = request.get_json(silent=True, force=True)
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
