"""How a use case says no, in every area: one exception type, no HTTP.

Each area names its own (``CatalogRefused``, ``AccountsRefused``, ...) as a subclass, so a
route catches what its area refuses; the HTTP kit turns any of them into the same
problem+json (``kits.http.problems.refused_problem``), and an uncaught one still answers
that way (the app's error handler), never as a 500.

``status`` and ``code`` are the contract's (API.md names the codes clients match on), kept
with the refusal so that a rule and its answer are read in one place.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["Refused"]

R = TypeVar("R", bound="Refused")


class Refused(Exception):
    """A rule refused the command: ``errors`` names the fields at fault (a 422), ``extra``
    adds members to the problem (``current_state``, ``required_roles``...)."""

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

    @classmethod
    def invalid_fields(cls: type[R], errors: dict[str, list[str]], detail: str | None = None) -> R:
        """The refusal that reads like the 422 of a body that failed validation (the HTTP
        kit's ``field_problem``), for rules that need the database or the clock to decide."""
        detail = detail or f"Invalid fields: {', '.join(sorted(errors))}"
        return cls(422, "validation-error", detail, title="Invalid request", errors=errors)
