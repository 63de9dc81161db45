"""Every message that crosses a process boundary, its topic, and the one codec.

Producers and consumers import only this package; it imports nothing from the repo.
"""

from contracts.codec import DecodeError, decode, encode
from contracts.events import (
    AudioFrame,
    BookingCreated,
    Event,
    EventBase,
    StreamEnded,
    VisualParams,
    new_event_id,
    utc_now,
)
from contracts.topics import TOPICS, Topic, topic_for

__all__ = [
    "TOPICS",
    "AudioFrame",
    "BookingCreated",
    "DecodeError",
    "Event",
    "EventBase",
    "StreamEnded",
    "Topic",
    "VisualParams",
    "decode",
    "encode",
    "new_event_id",
    "topic_for",
    "utc_now",
]
