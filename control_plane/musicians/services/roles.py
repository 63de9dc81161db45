"""Who may act in the musicians area: musicians keep a profile and their availability;
producers and band managers create projects and send booking requests. Every use case that
needs a role checks it here; the routes call the same check before parsing the body, so a
caller without the role hears that first."""

from __future__ import annotations

from control_plane.accounts.models import User
from control_plane.accounts.services.roles import missing_role
from control_plane.musicians.services.refusals import MusiciansRefused

__all__ = [
    "MUSICIAN_ROLES",
    "REQUESTER_ROLES",
    "ensure_may_create_projects",
    "ensure_may_keep_a_profile",
    "ensure_may_set_availability",
    "ensure_roles",
]

# Who has a musician profile, availability, and receives booking requests.
MUSICIAN_ROLES = ("musician",)
# Who creates projects and sends booking requests (pages offer the buttons to them).
REQUESTER_ROLES = ("producer", "band_manager")


def ensure_roles(user: User, roles: tuple[str, ...], action: str) -> None:
    """``MusiciansRefused`` (403 forbidden, naming ``required_roles``) unless ``user`` holds
    one of ``roles``: the answer ``accounts.auth.ensure_roles`` gives, word for word."""
    refusal = missing_role(user, roles, action)
    if refusal is not None:
        raise MusiciansRefused(403, "forbidden", refusal, title="Forbidden", required_roles=list(roles))


def ensure_may_keep_a_profile(user: User) -> None:
    ensure_roles(user, MUSICIAN_ROLES, "have a musician profile")


def ensure_may_set_availability(user: User) -> None:
    ensure_roles(user, MUSICIAN_ROLES, "set availability")


def ensure_may_create_projects(user: User) -> None:
    ensure_roles(user, REQUESTER_ROLES, "create projects")
