"""Topic names and which events travel on each. Keys come from each event's ``KEY_FIELD``."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.base import EventBase
from contracts.bookings import BookingEvent, SessionCancelled
from contracts.live import AudioFrame, StreamEnded, VisualParams
from contracts.requests import RequestEvent

__all__ = ["AUDIO_FRAMES", "BOOKING_EVENTS", "TOPICS", "VISUAL_PARAMS", "Topic", "topic_for"]

BOOKING_EVENTS = "booking.events"
AUDIO_FRAMES = "audio.frames"
VISUAL_PARAMS = "visual.params"


@dataclass(frozen=True)
class Topic:
    name: str
    events: tuple[type[EventBase], ...]
    key: str


TOPICS: dict[str, Topic] = {
    BOOKING_EVENTS: Topic(BOOKING_EVENTS, (BookingEvent, SessionCancelled, RequestEvent), "session or request id"),
    AUDIO_FRAMES: Topic(AUDIO_FRAMES, (AudioFrame, StreamEnded), "stream id"),
    VISUAL_PARAMS: Topic(VISUAL_PARAMS, (VisualParams,), "room code"),
}


def topic_for(event: EventBase) -> tuple[str, bytes]:
    """The topic an event belongs on and its message key (ordering unit)."""
    for topic in TOPICS.values():
        if isinstance(event, topic.events):
            return topic.name, event.partition_key
    raise LookupError(f"no topic carries {type(event).__name__}")
