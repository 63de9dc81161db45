"""The files area's routes (docs/FILES.md): files and versions, content downloads, comments,
resumable uploads, deliverables, and the stream worker's signed internal calls. Importing
the modules registers their routes on ``common.bp`` and ``common.internal_bp``."""

from __future__ import annotations

from flask import Blueprint

from control_plane.files import sockets
from control_plane.files.api import comments, content, deliverables, files, internal, uploads
from control_plane.files.api.common import bp, internal_bp

__all__ = ["BLUEPRINTS", "comments", "content", "deliverables", "files", "internal", "uploads"]

BLUEPRINTS: tuple[Blueprint, ...] = (bp, internal_bp, sockets.bp)
