"""How the files area says no: one refusal type, and the one 404 every hidden thing gets."""

from __future__ import annotations

from control_plane.kits.refusals import Refused

__all__ = ["FilesRefused", "not_found"]


class FilesRefused(Refused):
    """A files rule refused the request."""


def not_found(what: str = "file") -> FilesRefused:
    """The same answer for "does not exist" and "not yours": a stranger learns nothing."""
    return FilesRefused(404, f"{what}-not-found", f"No {what.replace('-', ' ')} here, or not one you can see")
