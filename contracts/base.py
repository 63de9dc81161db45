"""What every event shares: type, version, id and time; and the small value types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ROOM_CODE_ALPHABET",
    "ROOM_CODE_LENGTH",
    "ROOM_CODE_PATTERN",
    "EventBase",
    "Money",
    "RoomCode",
    "new_event_id",
    "utc_now",
]

# A room code: 6 characters from an alphabet without look-alikes (no 0/O, 1/I/L), so a code
# read aloud or copied by hand still works. The control plane makes them; every process checks them.
ROOM_CODE_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ROOM_CODE_LENGTH: Final = 6
ROOM_CODE_PATTERN: Final = f"^[{ROOM_CODE_ALPHABET}]{{{ROOM_CODE_LENGTH}}}$"

RoomCode = Annotated[str, Field(pattern=ROOM_CODE_PATTERN)]


def new_event_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventBase(BaseModel):
    """``strict=True`` refuses silent coercion (a string where an int belongs),
    ``extra="forbid"`` refuses unknown fields, ``frozen=True`` keeps an event immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    # The field whose value keys the Kafka message: events with the same key stay in order.
    KEY_FIELD: ClassVar[str]

    type: str  # each concrete event narrows this to a Literal (the discriminator)
    event_id: uuid.UUID = Field(default_factory=new_event_id)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    version: Literal[1] = 1

    @property
    def partition_key(self) -> bytes:
        return str(getattr(self, self.KEY_FIELD)).encode()


class Money(BaseModel):
    """Integer minor units plus an ISO 4217 currency (API.md)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    amount: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
