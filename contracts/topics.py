"""Topic names and which events travel on each. Keys come from each event's ``KEY_FIELD``."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.base import EventBase
from contracts.bookings import BookingEvent, SessionCancelled
from contracts.files import DeliverableEvent, FileEvent, TrackUploaded
from contracts.live import StreamEnded, StreamStarted, VisualParams
from contracts.messages import MessageEvent
from contracts.requests import RequestEvent

__all__ = [
    "AUDIO_FRAMES",
    "BOOKING_EVENTS",
    "FILES_EVENTS",
    "MESSAGE_EVENTS",
    "TOPICS",
    "VISUAL_PARAMS",
    "Topic",
    "topic_for",
]

BOOKING_EVENTS = "booking.events"
AUDIO_FRAMES = "audio.frames"
VISUAL_PARAMS = "visual.params"
FILES_EVENTS = "files.events"
MESSAGE_EVENTS = "message.events"


@dataclass(frozen=True)
class Topic:
    name: str
    events: tuple[type[EventBase], ...]
    key: str


TOPICS: dict[str, Topic] = {
    BOOKING_EVENTS: Topic(
        BOOKING_EVENTS, (BookingEvent, SessionCancelled, RequestEvent, DeliverableEvent), "session or request id"
    ),
    # Audio hops share this topic in the binary format of contracts.live (encode_audio_hop).
    AUDIO_FRAMES: Topic(AUDIO_FRAMES, (StreamStarted, StreamEnded), "stream id"),
    VISUAL_PARAMS: Topic(VISUAL_PARAMS, (VisualParams,), "room code"),
    FILES_EVENTS: Topic(FILES_EVENTS, (TrackUploaded, FileEvent), "file id"),
    MESSAGE_EVENTS: Topic(MESSAGE_EVENTS, (MessageEvent,), "conversation id"),
}


def topic_for(event: EventBase) -> tuple[str, bytes]:
    """The topic an event belongs on and its message key (ordering unit)."""
    for topic in TOPICS.values():
        if isinstance(event, topic.events):
            return topic.name, event.partition_key
    raise LookupError(f"no topic carries {type(event).__name__}")
