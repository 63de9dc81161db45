"""The booking request's state machine: which status an action leads to, and who may take it.

States: ``pending`` -> ``accepted`` | ``declined`` | ``cancelled`` | ``expired``; an accepted
engagement can still be ``cancelled``. Either side may propose a reschedule (new times and
optionally a new offer) on a pending or accepted request; the *other* side accepts it (the
request takes the new terms; a pending one becomes ``accepted``, since both sides have now
agreed to the same terms, which is what a counter-proposal is for) or declines it (nothing
changes but the proposal is gone). ``next_status`` is the pure transition table; the use cases
in ``requests.py`` load, check, change and stage exactly one contract event per change.
"""

from __future__ import annotations

from typing import Literal

from control_plane.musicians.models import BookingRequest
from control_plane.musicians.services.refusals import RequestRefused

__all__ = ["OPEN", "Action", "Side", "clear_proposal", "next_status", "proposal_side"]

Side = Literal["musician", "requester"]
Action = Literal["accept", "decline", "cancel", "propose", "accept_proposal", "decline_proposal", "expire"]

OPEN = ("pending", "accepted")


def next_status(status: str, proposal_by: Side | None, action: Action, actor: Side | None) -> str:
    """The status after ``actor`` does ``action``; raises ``RequestRefused`` when not allowed.

    ``actor`` is None for the system (expiry). 403 means "not yours to do", 409 means "not in
    this state" (``invalid-transition``, naming the current state).
    """
    if action in ("accept", "decline") and actor != "musician":
        raise RequestRefused(403, "forbidden", f"Only the musician can {action} a request")
    if action == "expire":
        if actor is not None:
            raise RequestRefused(403, "forbidden", "Requests expire on their own")
        return _require(status, ("pending",), action, "expired")
    if action == "accept":
        _require(status, ("pending",), action)
        if proposal_by is not None:
            raise _invalid(status, "a reschedule proposal is open, answer it first")
        return "accepted"
    if action == "decline":
        return _require(status, ("pending",), action, "declined")
    if action == "cancel":
        return _require(status, OPEN, action, "cancelled")
    _require(status, OPEN, action)
    if action == "propose":
        if proposal_by is not None and proposal_by != actor:
            raise _invalid(status, "the other side's reschedule proposal is open, answer it first")
        return status
    # accept_proposal / decline_proposal
    if proposal_by is None:
        raise _invalid(status, "there is no open reschedule proposal")
    if proposal_by == actor:
        raise RequestRefused(403, "forbidden", "The other side answers your reschedule proposal")
    return "accepted" if action == "accept_proposal" else status


_PARTICIPLES = {
    "accept": "accepted",
    "decline": "declined",
    "cancel": "cancelled",
    "propose": "rescheduled",
    "accept_proposal": "rescheduled",
    "decline_proposal": "answered",
    "expire": "expired",
}


def _require(status: str, allowed: tuple[str, ...], action: str, result: str = "") -> str:
    if status not in allowed:
        raise _invalid(status, f"it cannot be {_PARTICIPLES[action]} any more")
    return result or status


def _invalid(status: str, why: str) -> RequestRefused:
    return RequestRefused(409, "invalid-transition", f"The request is {status}; {why}", current_state=status)


def proposal_side(request: BookingRequest) -> Side | None:
    """The side whose reschedule proposal is open, if any."""
    if request.proposed_by is None:
        return None
    return "musician" if request.proposed_by == request.musician_id else "requester"


def clear_proposal(request: BookingRequest) -> None:
    """The open reschedule proposal is gone (answered, or the request ended)."""
    request.proposed_by = request.proposed_starts_at = request.proposed_ends_at = None
    request.proposed_offer_amount = None
    request.proposed_offer_currency = None
