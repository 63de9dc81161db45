"""Request parsing: JSON bodies and query strings validated by pydantic models.

Errors become a 422 problem whose ``errors`` maps each offending field to its messages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, TypeVar
from zoneinfo import available_timezones

from flask import request
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ValidationError

from control_plane.kits.http.problems import ApiProblem

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_JSON_BYTES",
    "MAX_ROW_ID",
    "ONE_LINE",
    "TEXT",
    "FieldRuleError",
    "Moment",
    "ServiceDate",
    "ZoneName",
    "field_problem",
    "parse_body",
    "parse_query",
]

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BYTES = 256 * 1024
MAX_ROW_ID = 2**63 - 1  # ids are 64-bit database integers: past this no row exists


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
    "bool_type": "must be true or false",
    "datetime_parsing": "must be a date and time like 2031-05-01T18:00:00+02:00",
    "datetime_from_date_parsing": "must be a date and time like 2031-05-01T18:00:00+02:00",
    "timezone_aware": "must include a time zone offset, like +02:00",
    "extra_forbidden": "is not a field of this request",
}
# One line of text (a title, a place, a name): no control characters, no Unicode line or
# paragraph separators, no bidirectional overrides (which make "gpj.exe" read as "exe.jpg").
ONE_LINE = "^[^\\x00-\\x1f\\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
# Free text (a description, a message): line breaks and tabs, no other control characters, which
# no screen shows and which calendar files (RFC 5545) and e-mails may not carry.
TEXT = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
# Far enough for any retreat or tour anyone plans; bounded so that every local time, calendar
# export and refund deadline derived from a moment stays representable (year 9999 in a zone
# east of UTC is not), and a typo like 0202 is caught at the field.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_RANGE_WORDS = "must be between the years 2000 and 2199"


def _moment_in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(_RANGE_WORDS)
    return moment


def _date_in_range(day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(_RANGE_WORDS)
    return day


def _iso_text(value: Any) -> Any:
    # pydantic would take a number as Unix time; the contract says ISO 8601 with an offset.
    if not isinstance(value, str | datetime):
        raise ValueError("must be a date and time like 2031-05-01T18:00:00+02:00")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_moment_in_range)]
"""An ISO 8601 date and time with an offset, between EARLIEST and LATEST."""
ServiceDate = Annotated[date, AfterValidator(_date_in_range)]
"""A calendar date between EARLIEST and LATEST."""


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    # Read once, not per request. "localtime" is whatever zone this server runs in and
    # "Factory" a placeholder that is valid only until 2038: neither is a place.
    return frozenset(available_timezones() - {"localtime", "Factory", "posixrules"})


def known_zone(zone: str) -> str:
    if zone not in _zones():
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    return zone


ZoneName = Annotated[str, AfterValidator(known_zone)]
"""An IANA time zone that is a place, such as Europe/Berlin."""


_PATTERN_WORDS = {
    ONE_LINE: "must be a single line of text",
    TEXT: "must not contain control characters",
    r"^https?://\S+$": "must be an http:// or https:// link",
}


# The same, for rules with a bound (pydantic's ctx holds it).
_BOUND_WORDS = {
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be more than {gt}",
    "less_than": "must be less than {lt}",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "needs at least {min_length}",
    "too_long": "takes at most {max_length}",
}


def _message(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_WORDS:
        return _PATTERN_WORDS[ctx["pattern"]]
    if kind in _PLAIN_WORDS:
        return _PLAIN_WORDS[kind]
    if kind in _BOUND_WORDS:
        try:
            return _BOUND_WORDS[kind].format(**ctx)
        except (KeyError, IndexError):
            pass
    if kind == "datetime_type":
        return _PLAIN_WORDS["datetime_parsing"]
    message = str(err["msg"]).removeprefix("Value error, ")
    # email-validator's reason is good ("An email address must have an @-sign."); its prefix is not.
    return message.removeprefix("value is not a valid email address: ")


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
