"""How the accounts area says no: one exception the routes turn into a problem+json."""

from __future__ import annotations

__all__ = ["AccountsRefused", "WrongPassword", "invalid_fields"]


class AccountsRefused(Exception):
    """An account rule refused the command: ``status`` and ``code`` as the API answers them,
    ``errors`` naming the fields at fault (a 422)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.title, self.errors = title, errors


class WrongPassword(AccountsRefused):
    """A password check failed: the routes count it towards the failed-login lock-out."""


def invalid_fields(errors: dict[str, list[str]]) -> AccountsRefused:
    """The refusal that reads like the 422 of a body that failed validation (the HTTP kit's
    ``field_problem``), for rules that need the account to decide."""
    return AccountsRefused(
        422, "validation-error", f"Invalid fields: {', '.join(sorted(errors))}", title="Invalid request", errors=errors
    )
