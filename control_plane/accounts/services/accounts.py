"""Creating an account and changing what its owner may change (name, time zone, picture, roles)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.accounts.schemas import Register, UpdateMe
from control_plane.accounts.services.passwords import PasswordHashing
from control_plane.accounts.services.refusals import AccountsRefused

__all__ = ["register_account", "update_account"]

DbSession = Session | scoped_session[Any]


def register_account(db: DbSession, command: Register, hashing: PasswordHashing) -> User:
    """Stage and flush the new account (its id is needed for tokens), its password hashed with
    ``hashing``; the caller commits. ``AccountsRefused`` (409 email-taken) when the email has an
    account already."""
    if db.scalar(select(User.id).where(func.lower(User.email) == command.email)) is not None:
        raise _email_taken()
    user = User(
        email=command.email,
        password_hash=hashing.hash(command.password),
        name=command.name,
        roles=command.roles,
        timezone=command.timezone,
        avatar_url=command.avatar_url,
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same email registered concurrently
        db.rollback()
        raise _email_taken() from None
    return user


def update_account(db: DbSession, user: User, command: UpdateMe) -> User:
    """Only the fields the client sent change (``avatar_url: null`` removes the picture)."""
    changes: dict[str, Any] = command.model_dump(include=command.model_fields_set)
    for key, value in changes.items():
        setattr(user, key, value)
    db.add(user)
    return user


def _email_taken() -> AccountsRefused:
    return AccountsRefused(
        409,
        "email-taken",
        "An account with this email already exists",
        errors={"email": ["is already registered: log in instead"]},
    )
