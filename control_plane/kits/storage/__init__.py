"""Object storage for project files: the port and its adapters (a folder, S3)."""

from control_plane.kits.storage.factory import STORAGE_KEY, current_storage, storage_from_settings
from control_plane.kits.storage.folder import FolderStorage
from control_plane.kits.storage.port import CHUNK_BYTES, MissingObject, ObjectStorage
from control_plane.kits.storage.s3 import S3Storage

__all__ = [
    "CHUNK_BYTES",
    "STORAGE_KEY",
    "FolderStorage",
    "MissingObject",
    "ObjectStorage",
    "S3Storage",
    "current_storage",
    "storage_from_settings",
]
