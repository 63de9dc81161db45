"""What the files area's route modules share: the blueprints, the adapters the app bound,
and the lookups that answer one 404 for "none" and "not yours"."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import Blueprint, current_app

from control_plane.accounts.models import User
from control_plane.files.models import ProjectFile
from control_plane.files.queries import visible_file, visible_project
from control_plane.files.services.refusals import not_found
from control_plane.files.services.staging import kind_limits
from control_plane.kits.extensions import REDIS_KEY, current_settings, db
from control_plane.kits.storage import ObjectStorage
from control_plane.kits.storage.factory import current_storage
from control_plane.musicians.models import Project

__all__ = ["bp", "data_path", "file_for", "internal_bp", "limits", "project_for", "redis_client", "storage"]

bp = Blueprint("files", __name__, url_prefix="/api")
internal_bp = Blueprint("files_internal", __name__)


def storage() -> ObjectStorage:
    return current_storage()


def redis_client() -> redis.Redis | None:
    found = current_app.extensions.get(REDIS_KEY)
    return found if isinstance(found, redis.Redis) else None


def limits() -> dict[str, int]:
    return kind_limits(current_settings().files)


def data_path() -> Path:
    return current_settings().data_path


def project_for(project_id: int, user: User) -> Project:
    project = visible_project(db.session, project_id, user.id)
    if project is None:
        raise not_found("project")
    return project


def file_for(file_id: int, user: User, *, for_update: bool = False) -> ProjectFile:
    found = visible_file(db.session, file_id, user.id, for_update=for_update)
    if found is None:
        raise not_found("file")
    return found
