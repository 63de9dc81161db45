"""Contract tests: codec round trip, strictness, and topic coverage."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from contracts import (
    ALL_EVENT_TYPES,
    TOPICS,
    AudioFrame,
    BookingCancelled,
    BookingCreated,
    BookingPaymentConfirmed,
    BookingPromoted,
    BookingRefunded,
    BookingWaitlisted,
    DecodeError,
    Money,
    RequestAccepted,
    RequestCancelled,
    RequestDeclined,
    RequestExpired,
    RequestRescheduleAccepted,
    RequestRescheduleDeclined,
    RequestRescheduleProposed,
    RequestSent,
    SessionCancelled,
    StreamEnded,
    VisualParams,
    decode,
    encode,
    topic_for,
)
from downbeat.settings import load_topics

SAMPLES = base64.b64encode(np.zeros(800, dtype="<f4").tobytes()).decode()

_START = datetime(2030, 1, 1, 18, tzinfo=UTC)
_BOOKING: dict[str, object] = dict(
    booking_id=1, session_id=2, session_title="Drums", owner_id=3, attendee_id=4, attendee_name="Ana", starts_at=_START
)
_REQUEST: dict[str, object] = dict(
    request_id=5,
    project_id=6,
    project_title="Album",
    requester_id=7,
    requester_name="Pia",
    musician_id=8,
    musician_name="Max",
    instrument="bass",
    starts_at=_START,
    ends_at=_START.replace(hour=20),
    offer=Money(amount=30000, currency="EUR"),
)
EXAMPLES = [
    BookingWaitlisted(**_BOOKING, position=2),  # type: ignore[arg-type]
    BookingPromoted(**_BOOKING, status="confirmed"),  # type: ignore[arg-type]
    BookingPaymentConfirmed(**_BOOKING, amount=Money(amount=100, currency="EUR")),  # type: ignore[arg-type]
    BookingCancelled(**_BOOKING, cancelled_by="attendee", previous_status="confirmed"),  # type: ignore[arg-type]
    BookingRefunded(**_BOOKING, amount=Money(amount=50, currency="EUR"), policy="50%"),  # type: ignore[arg-type]
    SessionCancelled(session_id=2, session_title="Drums", owner_id=3, starts_at=_START, attendee_ids=[4, 9]),
    RequestSent(**_REQUEST),  # type: ignore[arg-type]
    RequestAccepted(**_REQUEST),  # type: ignore[arg-type]
    RequestDeclined(**_REQUEST, reason="busy"),  # type: ignore[arg-type]
    RequestCancelled(**_REQUEST, cancelled_by=7),  # type: ignore[arg-type]
    RequestExpired(**_REQUEST),  # type: ignore[arg-type]
    RequestRescheduleProposed(  # type: ignore[arg-type]
        **_REQUEST,
        proposed_by=8,
        proposed_starts_at=_START,
        proposed_ends_at=_START.replace(hour=21),
        proposed_offer=Money(amount=35000, currency="EUR"),
    ),
    RequestRescheduleAccepted(**_REQUEST, accepted_by=7),  # type: ignore[arg-type]
    RequestRescheduleDeclined(**_REQUEST, declined_by=7),  # type: ignore[arg-type]
    BookingCreated(
        booking_id=1,
        session_id=2,
        session_title="Drums",
        owner_id=3,
        attendee_id=4,
        attendee_name="Ana",
        seats=1,
        status="confirmed",
        starts_at=datetime(2030, 1, 1, 18, tzinfo=UTC),
    ),
    AudioFrame(stream_id="abc123", room_code="ABCDEF", seq=7, sample_rate=48000, t_ms=116.6, samples=SAMPLES),
    StreamEnded(stream_id="abc123", room_code="ABCDEF"),
    VisualParams(room_code="ABCDEF", stream_id="abc123", t_ms=10.0, rms=0.5, peak=0.9),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_round_trip_is_lossless_and_plain_json(event: object) -> None:
    raw = encode(event)  # type: ignore[arg-type]
    body = json.loads(raw)  # plain JSON, no faust metadata
    assert {"type", "version", "event_id", "occurred_at"} <= body.keys()
    assert "__faust" not in body
    assert decode(raw) == event


def _example(kind: type) -> object:
    return next(e for e in EXAMPLES if isinstance(e, kind))


def test_every_event_type_has_an_example_here() -> None:
    assert {type(e) for e in EXAMPLES} == set(ALL_EVENT_TYPES)


def test_every_event_type_travels_on_exactly_one_topic() -> None:
    for event in EXAMPLES:
        topic, key = topic_for(event)
        assert topic in TOPICS
        assert key


def test_unknown_type_extra_fields_and_wrong_types_are_refused() -> None:
    good = json.loads(encode(_example(BookingCreated)))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "type": "booking.teleported"}))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "surprise": 1}))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "seats": "1"}))  # strict: no string-to-int coercion
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "version": 2}))
    with pytest.raises(DecodeError):
        decode(b"not json")


def test_audio_frames_are_bounded() -> None:
    too_many = base64.b64encode(np.zeros(5000, dtype="<f4").tobytes()).decode()
    good = json.loads(encode(_example(AudioFrame)))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "samples": too_many}))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "samples": "!!!notbase64"}))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "room_code": "abc"}))


def test_topic_config_matches_contracts() -> None:
    assert {t.name for t in load_topics()} == set(TOPICS)
