"""Topic names, which events travel on each, and how each message is keyed."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import AudioFrame, BookingCreated, EventBase, StreamEnded, VisualParams

__all__ = ["AUDIO_FRAMES", "BOOKING_EVENTS", "TOPICS", "VISUAL_PARAMS", "Topic", "topic_for"]

BOOKING_EVENTS = "booking.events"
AUDIO_FRAMES = "audio.frames"
VISUAL_PARAMS = "visual.params"


@dataclass(frozen=True)
class Topic:
    name: str
    events: tuple[type[EventBase], ...]
    key_field: str


TOPICS: dict[str, Topic] = {
    BOOKING_EVENTS: Topic(BOOKING_EVENTS, (BookingCreated,), "session_id"),
    # stream.ended shares the stream's key so it arrives after the stream's last frame.
    AUDIO_FRAMES: Topic(AUDIO_FRAMES, (AudioFrame, StreamEnded), "stream_id"),
    VISUAL_PARAMS: Topic(VISUAL_PARAMS, (VisualParams,), "room_code"),
}


def topic_for(event: EventBase) -> tuple[str, bytes]:
    """The topic an event belongs on and its message key (ordering unit)."""
    for topic in TOPICS.values():
        if isinstance(event, topic.events):
            return topic.name, str(getattr(event, topic.key_field)).encode()
    raise LookupError(f"no topic carries {type(event).__name__}")
