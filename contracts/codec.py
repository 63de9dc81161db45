"""The one codec: events to plain JSON bytes and back (no faust Record metadata)."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from contracts.events import Event, EventBase

__all__ = ["DecodeError", "decode", "encode"]

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class DecodeError(ValueError):
    """The bytes are not a valid event of a known type and version."""


def encode(event: EventBase) -> bytes:
    return event.model_dump_json().encode()


def decode(data: bytes | str) -> Event:
    try:
        return _EVENT_ADAPTER.validate_json(data)
    except ValidationError as exc:
        raise DecodeError(str(exc)) from exc
