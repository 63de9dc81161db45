"""Checking a password at login and changing it; the failed-login lock-out around both is the
routes' (``accounts.limits``), since it keys on the client's address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.accounts.schemas import ChangePassword, password_problems
from control_plane.accounts.services.logins import revoke_other_families
from control_plane.accounts.services.passwords import PasswordHashing
from control_plane.accounts.services.refusals import WrongPassword, invalid_fields

__all__ = ["change_password", "log_in"]

DbSession = Session | scoped_session[Any]


def log_in(db: DbSession, email: str, password: str, hashing: PasswordHashing) -> User:
    """The account ``email`` (already normalised) when ``password`` is its password, else
    ``WrongPassword`` (401), alike for an unknown email and a wrong password. A hash made with
    other cost parameters than ``hashing``'s is replaced (staged; the caller commits)."""
    user: User | None = db.scalar(select(User).where(User.email == email))
    # Verify before asking whether the account exists: an unknown email costs a hash check too.
    if not hashing.verify(user.password_hash if user else None, password) or user is None:
        raise WrongPassword(401, "invalid-credentials", "Wrong email or password")
    if hashing.needs_rehash(user.password_hash):
        user.password_hash = hashing.hash(password)
    return user


def change_password(
    db: DbSession, user: User, command: ChangePassword, hashing: PasswordHashing, *, keep_login: str
) -> None:
    """Set the new password and end every login of the account but ``keep_login`` (the token
    family of the caller): whoever knew the old password is shut out. Staged; the caller commits.
    ``WrongPassword`` (403) when the current password is wrong, ``AccountsRefused`` (422) when
    the new one breaks the policy."""
    if not hashing.verify(user.password_hash, command.current_password):
        raise WrongPassword(403, "invalid-credentials", "The current password is wrong")
    problems = password_problems(command.new_password, user.email)
    if problems:
        raise invalid_fields({"new_password": problems})
    user.password_hash = hashing.hash(command.new_password)
    revoke_other_families(db, user.id, keep=keep_login)
