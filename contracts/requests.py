"""Musician booking requests: sent, accepted, declined, cancelled, rescheduled, expired.
Keyed by request id so one request's story stays in order."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from contracts.base import EventBase, Money

__all__ = [
    "RequestAccepted",
    "RequestCancelled",
    "RequestDeclined",
    "RequestEvent",
    "RequestExpired",
    "RequestRescheduleAccepted",
    "RequestRescheduleDeclined",
    "RequestRescheduleProposed",
    "RequestSent",
]


class RequestEvent(EventBase):
    KEY_FIELD: ClassVar[str] = "request_id"
    request_id: int = Field(ge=1)
    project_id: int = Field(ge=1)
    project_title: str = Field(min_length=1, max_length=200)
    requester_id: int = Field(ge=1)
    requester_name: str = Field(min_length=1, max_length=120)
    musician_id: int = Field(ge=1)  # the musician's user id
    musician_name: str = Field(min_length=1, max_length=120)
    instrument: str = Field(min_length=1, max_length=60)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    offer: Money


class RequestSent(RequestEvent):
    type: Literal["request.sent"] = "request.sent"


class RequestAccepted(RequestEvent):
    type: Literal["request.accepted"] = "request.accepted"


class RequestDeclined(RequestEvent):
    type: Literal["request.declined"] = "request.declined"
    reason: str = Field(default="", max_length=500)


class RequestCancelled(RequestEvent):
    type: Literal["request.cancelled"] = "request.cancelled"
    cancelled_by: int = Field(ge=1)
    reason: str = Field(default="", max_length=500)


class RequestExpired(RequestEvent):
    type: Literal["request.expired"] = "request.expired"


class RequestRescheduleProposed(RequestEvent):
    """A counter proposal; ``starts_at``/``ends_at``/``offer`` are the current terms."""

    type: Literal["request.reschedule_proposed"] = "request.reschedule_proposed"
    proposed_by: int = Field(ge=1)
    proposed_starts_at: AwareDatetime
    proposed_ends_at: AwareDatetime
    proposed_offer: Money


class RequestRescheduleAccepted(RequestEvent):
    """The other side took the counter proposal; the request now carries the new terms."""

    type: Literal["request.reschedule_accepted"] = "request.reschedule_accepted"
    accepted_by: int = Field(ge=1)


class RequestRescheduleDeclined(RequestEvent):
    type: Literal["request.reschedule_declined"] = "request.reschedule_declined"
    declined_by: int = Field(ge=1)
