"""Role checks in one place.

Roles are self-declared at registration (several at once) and decide what a user may do.
Views say which roles they need with ``@require_roles(...)``; code that knows the user already
calls ``ensure_roles``. Both answer 403 problem+json naming the roles that would do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_jwt_extended import verify_jwt_in_request

from control_plane.accounts.models import ROLES, User
from control_plane.problems import ApiProblem

__all__ = ["ROLES", "ensure_roles", "require_roles", "roles_phrase"]

F = TypeVar("F", bound=Callable[..., Any])


def roles_phrase(roles: tuple[str, ...]) -> str:
    """("creator", "facilitator") -> "creators or facilitators"."""
    plural = [role.replace("_", " ") + "s" for role in roles]
    return plural[0] if len(plural) == 1 else ", ".join(plural[:-1]) + " or " + plural[-1]


def ensure_roles(user: User, *roles: str, action: str = "do this") -> None:
    """Refuse with 403 unless the user holds at least one of ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:  # a typo here would silently lock everyone out
        raise ValueError(f"unknown roles {sorted(unknown)}")
    if not user.has_any_role(*roles):
        raise ApiProblem(
            403,
            "forbidden",
            f"Only {roles_phrase(roles)} may {action}",
            title="Forbidden",
            required_roles=list(roles),
        )


def require_roles(*roles: str, action: str = "do this") -> Callable[[F], F]:
    """Decorator: a valid access token (401 otherwise) of a user holding any of ``roles`` (403)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_roles needs known roles, got {roles!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from control_plane.accounts.tokens import current_user

            verify_jwt_in_request()
            ensure_roles(current_user(), *roles, action=action)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
