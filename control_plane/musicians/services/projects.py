"""Projects: what producers and band managers book musicians for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.musicians.models import Project
from control_plane.musicians.schemas import ProjectBody
from control_plane.musicians.services.refusals import invalid_fields
from control_plane.musicians.services.roles import ensure_may_create_projects

__all__ = ["create_project"]

DbSession = Session | scoped_session[Any]


def create_project(db: DbSession, owner: User, command: ProjectBody, now: datetime) -> Project:
    """Stage a new project of ``owner``; the caller commits. ``MusiciansRefused``: 403 unless
    ``owner`` is a producer or band manager, 422 for a project already over."""
    ensure_may_create_projects(owner)
    if command.ends_at <= now:
        # Nobody can be booked for a project that is over; one under way may still need people.
        raise invalid_fields({"ends_at": ["must be in the future: this project would already be over"]})
    project = Project(
        owner=owner,
        title=command.title,
        description=command.description,
        starts_at=command.starts_at,
        ends_at=command.ends_at,
        timezone=command.timezone or owner.timezone,
        location=command.location,
        instruments_needed=command.instruments_needed,
    )
    db.add(project)
    return project
