"""Every message that crosses a process boundary, its topic, and the one codec.

Producers and consumers import only this package; it imports nothing from the repo.
"""

from contracts.codec import DecodeError, decode, encode
from contracts.events import *  # noqa: F403
from contracts.events import __all__ as _events_all
from contracts.topics import TOPICS, Topic, topic_for

__all__ = ["TOPICS", "DecodeError", "Topic", "decode", "encode", "topic_for", *_events_all]
