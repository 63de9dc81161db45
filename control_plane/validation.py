"""Request parsing: JSON bodies and query strings validated by pydantic models.

Errors become a 422 problem whose ``errors`` maps each offending field to its messages.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from control_plane.problems import ApiProblem

__all__ = ["MAX_JSON_BYTES", "ONE_LINE", "FieldRuleError", "field_problem", "parse_body", "parse_query"]

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BYTES = 256 * 1024


class FieldRuleError(ValueError):
    """Raised by a model validator for a rule between fields, to name the field it is shown at
    (pydantic would report it against the whole body)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# pydantic's wording, in the words a form shows under a field.
_PLAIN_WORDS = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be true or false",
    "datetime_parsing": "must be a date and time like 2031-05-01T18:00:00+02:00",
    "datetime_from_date_parsing": "must be a date and time like 2031-05-01T18:00:00+02:00",
    "timezone_aware": "must include a time zone offset, like +02:00",
    "extra_forbidden": "is not a field of this request",
}
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # text without control characters (no line breaks)
_PATTERN_WORDS = {
    ONE_LINE: "must be a single line of text",
    r"^https?://\S+$": "must be an http:// or https:// link",
}


def _message(err: Any) -> str:
    if err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] in _PATTERN_WORDS:
        return _PATTERN_WORDS[err["ctx"]["pattern"]]
    if err["type"] in _PLAIN_WORDS:
        return _PLAIN_WORDS[err["type"]]
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        rule = (err.get("ctx") or {}).get("error")
        if isinstance(rule, FieldRuleError):
            errors.setdefault(rule.field, []).append(rule.message)
            continue
        field = ".".join(str(part) for part in err["loc"]) or "body"
        errors.setdefault(field, []).append(_message(err))
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
    try:
        raw: Any = request.get_json(silent=True)
    except RecursionError:  # nested past what the JSON parser recurses through: not a body we take
        raw = None
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
