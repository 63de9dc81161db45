"""How the messages area says no: one refusal type, and the one 404 every hidden thing gets."""

from __future__ import annotations

from control_plane.kits.refusals import Refused

__all__ = ["MessagesRefused", "invalid", "not_found"]


class MessagesRefused(Refused):
    """A messages rule refused the request."""


def not_found(what: str = "conversation") -> MessagesRefused:
    """The same answer for "does not exist" and "not yours": a stranger learns nothing."""
    return MessagesRefused(404, f"{what}-not-found", f"No {what.replace('-', ' ')} here, or not one you can see")


def invalid(field: str, message: str) -> MessagesRefused:
    """A 422 naming the field at fault, like a body that failed validation."""
    return MessagesRefused.invalid_fields({field: [message]})
