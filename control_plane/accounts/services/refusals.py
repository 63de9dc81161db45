"""How the accounts area says no: one exception the routes turn into a problem+json."""

from __future__ import annotations

from control_plane.kits.refusals import Refused

__all__ = ["AccountsRefused", "WrongPassword", "invalid_fields"]


class AccountsRefused(Refused):
    """An account rule refused the command."""


class WrongPassword(AccountsRefused):
    """A password check failed: the routes count it towards the failed-login lock-out."""


def invalid_fields(errors: dict[str, list[str]]) -> AccountsRefused:
    """The refusal that reads like the 422 of a body that failed validation, for rules that
    need the account to decide."""
    return AccountsRefused.invalid_fields(errors)
