"""Every message that crosses a process boundary or goes to a browser, and each constant of
those messages, defined once.

- events (Kafka): their types, topics and the one codec (re-exported here);
- ``contracts.files``: the stream worker's signed analysis report and its answer;
- ``contracts.live``: audio hops, visual parameters, the media process's offer and answer;
- ``contracts.sockets``: what the control plane's sockets send browsers, and the room snapshot;
- ``contracts.notifications``: notification kinds and channels;
- ``contracts.channels``: the Redis channel and key names processes share (``room:<code>``,
  ``notify:<user>``, ``visual:last:<code>``).

Internal HTTP paths live beside their bodies: ``contracts.live.MEDIA_OFFER_PATH`` and
``contracts.files.ANALYSIS_PATH``.

Producers and consumers import only this package; it imports nothing from the repo.
"""

from contracts.codec import DecodeError, decode, encode
from contracts.events import *  # noqa: F403
from contracts.events import __all__ as _events_all
from contracts.topics import TOPICS, Topic, topic_for

__all__ = ["TOPICS", "DecodeError", "Topic", "decode", "encode", "topic_for", *_events_all]
