"""Contract tests: codec round trip, strictness, and topic coverage."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from contracts import (
    TOPICS,
    AudioFrame,
    BookingCreated,
    DecodeError,
    StreamEnded,
    VisualParams,
    decode,
    encode,
    topic_for,
)
from downbeat.settings import load_topics

SAMPLES = base64.b64encode(np.zeros(800, dtype="<f4").tobytes()).decode()

EXAMPLES = [
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


def test_every_event_type_travels_on_exactly_one_topic() -> None:
    for event in EXAMPLES:
        topic, key = topic_for(event)
        assert topic in TOPICS
        assert key


def test_unknown_type_extra_fields_and_wrong_types_are_refused() -> None:
    good = json.loads(encode(EXAMPLES[0]))
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
    good = json.loads(encode(EXAMPLES[1]))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "samples": too_many}))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "samples": "!!!notbase64"}))
    with pytest.raises(DecodeError):
        decode(json.dumps({**good, "room_code": "abc"}))


def test_topic_config_matches_contracts() -> None:
    assert {t.name for t in load_topics()} == set(TOPICS)
