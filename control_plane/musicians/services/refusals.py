"""How the musicians area says no: one exception the routes turn into a problem+json."""

from __future__ import annotations

from typing import Any

__all__ = ["MusiciansRefused", "RequestRefused", "invalid_fields"]


class MusiciansRefused(Exception):
    """A rule of the musicians area refused the command: ``status`` and ``code`` as the API
    answers them, ``errors`` naming the fields at fault (a 422), ``extra`` more members of the
    problem (``current_state``, ``reason``, ``request_id``)."""

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
        self.status, self.code, self.detail, self.title = status, code, detail, title
        self.errors, self.extra = errors, extra


class RequestRefused(MusiciansRefused):
    """A refused command on a booking request (or its review)."""


def invalid_fields(errors: dict[str, list[str]]) -> MusiciansRefused:
    """The refusal that reads like the 422 of a body that failed validation (the HTTP kit's
    ``field_problem``), for rules that need the database or the clock to decide."""
    return MusiciansRefused(
        422, "validation-error", f"Invalid fields: {', '.join(sorted(errors))}", title="Invalid request", errors=errors
    )
