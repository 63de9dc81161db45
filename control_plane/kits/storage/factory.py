"""Build the adapter ``[storage]`` names, and reach the one the app factory bound.

The app factory calls :func:`storage_from_settings` once and binds the adapter under
:data:`STORAGE_KEY`; routes take it with :func:`current_storage` and hand it to the use
cases, which stay free of Flask.
"""

from __future__ import annotations

from flask import current_app, has_app_context

from control_plane.kits.storage.folder import FolderStorage
from control_plane.kits.storage.port import ObjectStorage
from control_plane.kits.storage.s3 import S3Storage
from downbeat.settings import Settings

__all__ = ["BACKENDS", "STORAGE_KEY", "current_storage", "storage_from_settings"]

STORAGE_KEY = "downbeat.storage"  # app.extensions[STORAGE_KEY]: the ObjectStorage in use
BACKENDS = ("folder", "s3")


def storage_from_settings(settings: Settings) -> ObjectStorage:
    """The adapter for ``[storage] backend``; a misspelt backend fails at start-up, not on the
    first upload. With ``s3_create_bucket`` building the S3 adapter talks to the store."""
    backend = settings.storage.backend
    if backend == "folder":
        return FolderStorage(settings.storage_path)
    if backend == "s3":
        return S3Storage.from_settings(settings.storage)
    raise ValueError(f"[storage] backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def current_storage() -> ObjectStorage:
    """The adapter the app serving this request bound; RuntimeError when there is none."""
    if not has_app_context():
        raise RuntimeError("no app context: object storage is bound per Flask app")
    storage = current_app.extensions.get(STORAGE_KEY)
    if storage is None:
        raise RuntimeError(f"no object storage bound: the app factory sets app.extensions[{STORAGE_KEY!r}]")
    found: ObjectStorage = storage
    return found
