"""Roles decide what a user may do. Roles are self-declared at registration (several at once);
every area's use cases ask here whether the actor holds one that allows the action, so a
refusal reads the same wherever it comes from: 403 ``forbidden``, "Only creators or
facilitators may publish sessions", with the ``required_roles``. Each area raises it as its
own refusal; ``accounts.auth.ensure_roles`` answers it as a problem for routes."""

from __future__ import annotations

from collections.abc import Sequence

from control_plane.accounts.models import User
from control_plane.accounts.schemas import ROLES

__all__ = ["HOSTING_ROLES", "known_roles", "missing_role", "roles_phrase"]

# Who hosts sessions (creates and publishes them).
HOSTING_ROLES = ("creator", "facilitator")


def known_roles(roles: Sequence[str]) -> tuple[str, ...]:
    """``roles`` as a tuple; ``ValueError`` for none or a name not in ``ROLES`` (a typo in a
    check would silently lock everyone out)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"role checks need known roles, got {tuple(roles)!r}")
    return tuple(roles)


def roles_phrase(roles: Sequence[str]) -> str:
    """("creator", "facilitator") -> "creators or facilitators"."""
    plural = [role.replace("_", " ") + "s" for role in roles]
    return plural[0] if len(plural) == 1 else ", ".join(plural[:-1]) + " or " + plural[-1]


def missing_role(user: User, roles: Sequence[str], action: str) -> str | None:
    """None when ``user`` holds at least one of ``roles``, else the sentence of the refusal:
    "Only <roles> may <action>"."""
    known_roles(roles)
    if user.has_any_role(*roles):
        return None
    return f"Only {roles_phrase(roles)} may {action}"
