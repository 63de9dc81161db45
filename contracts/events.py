"""Every event type, and ``Event``: the discriminated union the codec decodes into."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.base import EventBase, Money, RoomCode, new_event_id, utc_now
from contracts.bookings import (
    BookingCancelled,
    BookingCreated,
    BookingEvent,
    BookingPaymentConfirmed,
    BookingPromoted,
    BookingRefunded,
    BookingWaitlisted,
    SessionCancelled,
)
from contracts.files import (
    DeliverableApproved,
    DeliverableChangesRequested,
    DeliverableSubmitted,
    FileCommentAdded,
    FileVersionAdded,
    TrackUploaded,
)
from contracts.live import (
    MAX_AUDIO_HOP_BYTES,
    MAX_HOP_SAMPLES,
    AudioHop,
    AudioHopError,
    BandEnergy,
    StreamEnded,
    StreamStarted,
    VisualParams,
    decode_audio_hop,
    encode_audio_hop,
    is_audio_hop,
)
from contracts.messages import MessageDeleted, MessageEdited, MessagePosted
from contracts.requests import (
    RequestAccepted,
    RequestCancelled,
    RequestDeclined,
    RequestEvent,
    RequestExpired,
    RequestRescheduleAccepted,
    RequestRescheduleDeclined,
    RequestRescheduleProposed,
    RequestSent,
)

__all__ = [
    "ALL_EVENT_TYPES",
    "MAX_AUDIO_HOP_BYTES",
    "MAX_HOP_SAMPLES",
    "AudioHop",
    "AudioHopError",
    "BandEnergy",
    "BookingCancelled",
    "BookingCreated",
    "BookingEvent",
    "BookingPaymentConfirmed",
    "BookingPromoted",
    "BookingRefunded",
    "BookingWaitlisted",
    "DeliverableApproved",
    "DeliverableChangesRequested",
    "DeliverableSubmitted",
    "Event",
    "EventBase",
    "FileCommentAdded",
    "FileVersionAdded",
    "MessageDeleted",
    "MessageEdited",
    "MessagePosted",
    "Money",
    "RequestAccepted",
    "RequestCancelled",
    "RequestDeclined",
    "RequestEvent",
    "RequestExpired",
    "RequestRescheduleAccepted",
    "RequestRescheduleDeclined",
    "RequestRescheduleProposed",
    "RequestSent",
    "RoomCode",
    "SessionCancelled",
    "StreamEnded",
    "StreamStarted",
    "TrackUploaded",
    "VisualParams",
    "decode_audio_hop",
    "encode_audio_hop",
    "is_audio_hop",
    "new_event_id",
    "utc_now",
]

Event = Annotated[
    BookingCreated
    | BookingWaitlisted
    | BookingPromoted
    | BookingPaymentConfirmed
    | BookingCancelled
    | BookingRefunded
    | SessionCancelled
    | RequestSent
    | RequestAccepted
    | RequestDeclined
    | RequestCancelled
    | RequestExpired
    | RequestRescheduleProposed
    | RequestRescheduleAccepted
    | RequestRescheduleDeclined
    | StreamStarted
    | StreamEnded
    | VisualParams
    | TrackUploaded
    | FileVersionAdded
    | FileCommentAdded
    | DeliverableSubmitted
    | DeliverableApproved
    | DeliverableChangesRequested
    | MessagePosted
    | MessageEdited
    | MessageDeleted,
    Field(discriminator="type"),
]

ALL_EVENT_TYPES: tuple[type[EventBase], ...] = (
    BookingCreated,
    BookingWaitlisted,
    BookingPromoted,
    BookingPaymentConfirmed,
    BookingCancelled,
    BookingRefunded,
    SessionCancelled,
    RequestSent,
    RequestAccepted,
    RequestDeclined,
    RequestCancelled,
    RequestExpired,
    RequestRescheduleProposed,
    RequestRescheduleAccepted,
    RequestRescheduleDeclined,
    StreamStarted,
    StreamEnded,
    VisualParams,
    TrackUploaded,
    FileVersionAdded,
    FileCommentAdded,
    DeliverableSubmitted,
    DeliverableApproved,
    DeliverableChangesRequested,
    MessagePosted,
    MessageEdited,
    MessageDeleted,
)
