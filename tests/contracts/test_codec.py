"""Contract tests: codec round trip, strictness, and topic coverage."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime

import numpy as np
import pytest

from contracts import (
    ALL_EVENT_TYPES,
    MAX_AUDIO_HOP_BYTES,
    MAX_HOP_SAMPLES,
    TOPICS,
    AudioHop,
    AudioHopError,
    BookingCancelled,
    BookingCreated,
    BookingPaymentConfirmed,
    BookingPromoted,
    BookingRefunded,
    BookingWaitlisted,
    DecodeError,
    DeliverableApproved,
    DeliverableChangesRequested,
    DeliverableSubmitted,
    FileCommentAdded,
    FileVersionAdded,
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
    StreamStarted,
    TrackUploaded,
    VisualParams,
    decode,
    decode_audio_hop,
    encode,
    encode_audio_hop,
    topic_for,
)
from contracts.live import AUDIO_HOP_HEADER
from contracts.messages import MessageDeleted, MessageEdited, MessagePosted, Recipient
from downbeat.settings import load_topics

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
# A project file of the request's project: the musician (8) uploads, the owner (7) comments.
_FILE: dict[str, object] = dict(file_id=11, project_id=6, project_title="Album", file_name="bass-take.wav")
_DELIVERABLE: dict[str, object] = dict(
    deliverable_id=13, request_id=5, project_id=6, project_title="Album", title="Bass for track 3"
)
_MESSAGE = {
    "conversation_id": 4,
    "conversation_kind": "project",
    "conversation_title": "Project: Demo EP",
    "message_id": 40,
    "sender_id": 7,
    "sender_name": "Pia",
    "members": [7, 8],
    "message": {"id": 40, "conversation_id": 4, "sender": {"id": 7, "name": "Pia"}, "body": "see the chart"},
}

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
    StreamStarted(stream_id="abc123", room_code="ABCDEF", user_id=3, sample_rate=48000, hop=800),
    StreamEnded(stream_id="abc123", room_code="ABCDEF", reason="track-ended", hops=120, dropped_hops=2),
    VisualParams(
        room_code="ABCDEF",
        stream_id="abc123",
        t_ms=10.0,
        rms=0.5,
        peak=0.9,
        bpm=120.0,
        beat=True,
        mel=[0.5] * 40,
        seq=3,
        capture_ms=1.5e12,
    ),
    TrackUploaded(
        track_id=7, owner_id=3, storage_key="ab/0123.wav", content_type="audio/wav", size_bytes=1024, sha256="a" * 64
    ),
    FileVersionAdded(  # type: ignore[arg-type]
        **_FILE,
        recipients=[7, 12],
        actor_id=8,
        actor_name="Max",
        version_id=21,
        version_number=2,
        kind="audio",
        content_type="audio/wav",
        size_bytes=4096,
        sha256="b" * 64,
        note="tighter fills",
        analyse=True,
    ),
    FileCommentAdded(  # type: ignore[arg-type]
        **_FILE,
        recipients=[8, 12],
        actor_id=7,
        actor_name="Pia",
        comment_id=31,
        version_number=2,
        excerpt="@Max the fill at 1:12 rushes",
        mentioned=[8],
    ),
    DeliverableSubmitted(  # type: ignore[arg-type]
        **_DELIVERABLE, actor_id=8, actor_name="Max", recipient_id=7, file_id=11, version_number=2
    ),
    DeliverableApproved(**_DELIVERABLE, actor_id=7, actor_name="Pia", recipient_id=8),  # type: ignore[arg-type]
    DeliverableChangesRequested(  # type: ignore[arg-type]
        **_DELIVERABLE, actor_id=7, actor_name="Pia", recipient_id=8, note="less reverb"
    ),
    MessagePosted(
        **_MESSAGE,
        excerpt="see the chart",
        recipients=[Recipient(user_id=8, online=False, muted=False, mentioned=True)],
    ),
    MessageEdited(**_MESSAGE),
    MessageDeleted(**{**_MESSAGE, "message": {**_MESSAGE["message"], "body": "", "deleted": True}}),
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


def _hop(samples: np.ndarray, seq: int = 7) -> AudioHop:
    return AudioHop("abc123def456", "ABCDEF", seq, 1_795_000_000_123.25, 48000, samples.astype(np.float32))


def test_binary_audio_hop_round_trip_float32() -> None:
    samples = np.random.default_rng(1).uniform(-1, 1, 800).astype(np.float32)
    raw = encode_audio_hop(_hop(samples))
    assert raw[:4] == b"DBAH"
    assert len(raw) == AUDIO_HOP_HEADER.size + len("abc123def456") + 800 * 4
    back = decode_audio_hop(raw)
    assert back == _hop(samples)  # bit-exact samples and header fields
    assert back.t_ms == 7 * 800 / 48


def test_binary_audio_hop_round_trip_int16_within_a_quantisation_step() -> None:
    samples = np.linspace(-1, 1, 800, dtype=np.float32)
    raw = encode_audio_hop(_hop(samples), encoding="i16")
    assert len(raw) == AUDIO_HOP_HEADER.size + len("abc123def456") + 800 * 2
    back = decode_audio_hop(raw)
    assert (back.stream_id, back.room_code, back.seq, back.capture_ms) == (
        "abc123def456",
        "ABCDEF",
        7,
        1_795_000_000_123.25,
    )
    np.testing.assert_allclose(back.samples, samples, atol=1 / 32767)


def test_binary_audio_hops_are_bounded_on_both_sides() -> None:
    with pytest.raises(AudioHopError):
        encode_audio_hop(_hop(np.zeros(MAX_HOP_SAMPLES + 1)))
    with pytest.raises(AudioHopError):
        encode_audio_hop(_hop(np.zeros(0)))
    biggest = encode_audio_hop(_hop(np.zeros(MAX_HOP_SAMPLES)))
    assert len(biggest) <= MAX_AUDIO_HOP_BYTES
    with pytest.raises(AudioHopError, match="exceeds"):
        decode_audio_hop(biggest + b"\0" * (MAX_AUDIO_HOP_BYTES - len(biggest) + 1))


def test_malformed_binary_hops_are_refused() -> None:
    good = encode_audio_hop(_hop(np.zeros(800)))
    cases = {
        "truncated": good[:-4],
        "too short": good[:10],
        "bad magic": b"XXXX" + good[4:],
        "bad version": good[:4] + bytes([9]) + good[5:],
        "bad encoding": good[:5] + bytes([7]) + good[6:],
        "count lies": good[:28] + struct.pack("<H", 900) + good[30:],
        "bad room": good[:30] + b"abcdef" + good[36:],
        "nan capture": good[:16] + struct.pack("<d", float("nan")) + good[24:],
    }
    refused = []
    for name, raw in cases.items():
        try:
            decode_audio_hop(raw)
        except AudioHopError:
            refused.append(name)
    assert refused == list(cases)


def test_non_finite_samples_are_silenced_not_propagated() -> None:
    samples = np.zeros(800, dtype=np.float32)
    samples[3], samples[4] = np.nan, np.inf
    back = decode_audio_hop(encode_audio_hop(_hop(samples)))
    assert np.isfinite(back.samples).all()


def test_encoder_refuses_bad_identifiers() -> None:
    with pytest.raises(AudioHopError):
        encode_audio_hop(AudioHop("x" * 65, "ABCDEF", 0, 0.0, 48000, np.zeros(8, np.float32)))
    with pytest.raises(AudioHopError):
        encode_audio_hop(AudioHop("abc", "abc", 0, 0.0, 48000, np.zeros(8, np.float32)))


def test_topic_config_matches_contracts() -> None:
    assert {t.name for t in load_topics()} == set(TOPICS)
