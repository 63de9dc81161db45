"""How the musicians area says no: one exception the routes turn into a problem+json."""

from __future__ import annotations

from control_plane.kits.refusals import Refused

__all__ = ["MusiciansRefused", "RequestRefused", "invalid_fields"]


class MusiciansRefused(Refused):
    """A rule of the musicians area refused the command; ``extra`` carries more members of the
    problem (``current_state``, ``reason``, ``request_id``)."""


class RequestRefused(MusiciansRefused):
    """A refused command on a booking request (or its review)."""


def invalid_fields(errors: dict[str, list[str]]) -> MusiciansRefused:
    """The refusal that reads like the 422 of a body that failed validation, for rules that
    need the database or the clock to decide."""
    return MusiciansRefused.invalid_fields(errors)
