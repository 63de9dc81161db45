"""Contract tests for what sockets send browsers (contracts.sockets): every message round-trips
through its JSON, refuses what it does not define, and the hand-made fast paths (the room
pong, visual frames) say exactly what the models say."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts import VisualParams
from contracts.sockets import (
    CHAT,
    CHAT_BODY_MAX,
    SERVER_MESSAGES,
    VISUAL,
    VISUAL_FRAME_PREFIX,
    ChatHistoryMessage,
    ChatMessage,
    ChatUser,
    EpochMessage,
    ErrorMessage,
    NotificationMessage,
    Participant,
    ParticipantsMessage,
    Playback,
    PongMessage,
    QueueItem,
    QueueMessage,
    ResetMessage,
    RoomSnapshot,
    SocketMessage,
    StateMessage,
    TrackMessage,
    echoed_time,
    pong_text,
)

TRACK: dict[str, Any] = {
    "id": 7,
    "title": "Click",
    "artist": "",
    "duration_ms": 12000.0,
    "url": "/api/tracks/7/audio",
    "source": "upload",
    "content_type": "audio/wav",
    "size_bytes": 1000,
    "owner_id": 1,
    "analysis": {"status": "done", "progress": 1.0, "bpm": 120.0, "beats": [0.5, 1.0], "error": None},
}
PARTICIPANT = Participant(
    user_id=1,
    id=1,
    name="Host",
    role="host",
    is_host=True,
    present=True,
    present_since_ms=1.7e12,
    can_control=True,
    can_queue=True,
    can_stream=True,
)
PARTICIPANTS = ParticipantsMessage(
    version=3,
    host_id=1,
    items=[PARTICIPANT],
    allow_queue=False,
    allow_control=False,
    allow_member_streams=True,
)
QUEUE = QueueMessage(
    version=3,
    items=[QueueItem(entry_id=2, track=TRACK, added_by=1)],
    current_entry_id=2,
    skip_votes=0,
    skip_needed=1,
)
STATE = StateMessage(
    version=3,
    track=TRACK,
    entry_id=2,
    position_ms=1500.0,
    server_time_ms=1.7e12,
    playing=True,
    rate=1.0,
)
CHAT_EXAMPLE = ChatMessage(
    id=4,
    user=ChatUser(id=2, name="Ana"),
    body="<b>hi</b> & welcome",  # plain text: carried as is, never interpreted
    client_id="k3Xa_9-z",
    created_at=datetime(2030, 1, 1, tzinfo=UTC).isoformat(timespec="milliseconds"),
)
EXAMPLES: list[SocketMessage] = [
    PARTICIPANTS,
    QUEUE,
    STATE,
    TrackMessage(track=TRACK),
    CHAT_EXAMPLE,
    ChatHistoryMessage(items=[CHAT_EXAMPLE]),
    PongMessage(client_time_ms=12.5, server_receive_ms=1.7e12, server_time_ms=1.7e12 + 1),
    ErrorMessage(code="not-host", detail="only the host controls playback", request="play"),
    EpochMessage(epoch="a" * 32),
    ResetMessage(epoch="b" * 32),
    NotificationMessage(
        id=5,
        epoch="a" * 32,
        kind="booking.created",
        title="New booking",
        body="Ana booked a seat.",
        data={"session_id": 2},
        created_at=datetime(2030, 1, 1, tzinfo=UTC).isoformat(),
        read=False,
    ),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.type)
def test_each_message_round_trips_through_its_wire_text(message: SocketMessage) -> None:
    text = message.to_json()
    assert json.loads(text) == message.to_dict()
    assert type(message).model_validate_json(text) == message
    assert next(iter(json.loads(text))) == "type"  # the type leads, as every client reads it


def test_every_server_message_has_an_example_and_one_type_each() -> None:
    types = [m.model_fields["type"].default for m in SERVER_MESSAGES]
    assert len(set(types)) == len(types) and VISUAL not in types
    assert {type(m) for m in EXAMPLES} == set(SERVER_MESSAGES)


def test_a_clients_chat_comes_back_to_the_room_as_a_chat_message_of_the_same_type() -> None:
    assert ChatMessage.model_fields["type"].default == CHAT
    assert ChatHistoryMessage(items=[CHAT_EXAMPLE]).to_dict()["items"] == [CHAT_EXAMPLE.to_dict()]


@pytest.mark.parametrize(
    ("model", "bad"),
    [
        (StateMessage, {**STATE.to_dict(), "playing": "yes"}),  # no coercion
        (StateMessage, {**STATE.to_dict(), "version": "3"}),
        (StateMessage, {**STATE.to_dict(), "extra": 1}),  # no unknown keys
        (StateMessage, {**STATE.to_dict(), "type": "queue"}),  # a message is its own type
        (QueueMessage, {**QUEUE.to_dict(), "skip_needed": 0}),
        (ParticipantsMessage, {**PARTICIPANTS.to_dict(), "items": [{**PARTICIPANT.model_dump(), "role": "owner"}]}),
        (ErrorMessage, {"type": "error", "code": "x"}),  # detail is required
        (ErrorMessage, {"type": "error", "code": "x", "detail": "y", "retry_after_ms": -1}),
        (ChatMessage, {**CHAT_EXAMPLE.to_dict(), "id": 0}),
        (ChatMessage, {**CHAT_EXAMPLE.to_dict(), "body": ""}),
        (ChatMessage, {**CHAT_EXAMPLE.to_dict(), "body": "x" * (CHAT_BODY_MAX + 1)}),
        (ChatMessage, {**CHAT_EXAMPLE.to_dict(), "client_id": "has space"}),
        (ChatMessage, {**CHAT_EXAMPLE.to_dict(), "client_id": "x" * 65}),
        (ChatMessage, {**CHAT_EXAMPLE.to_dict(), "user": {"id": 2}}),
        (ChatHistoryMessage, {"type": "chat_history", "items": [{**CHAT_EXAMPLE.to_dict(), "type": "state"}]}),
        (NotificationMessage, {**EXAMPLES[-1].to_dict(), "id": 0}),
        (NotificationMessage, {**EXAMPLES[-1].to_dict(), "redelivered": False}),
    ],
)
def test_wrong_types_missing_and_unknown_fields_are_refused(model: type[BaseModel], bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate_json(json.dumps(bad))


def test_messages_are_immutable() -> None:
    with pytest.raises(ValidationError):
        STATE.playing = False  # type: ignore[misc]


def test_optional_extras_are_left_off_the_wire_rather_than_sent_as_null() -> None:
    assert json.loads(ErrorMessage(code="bad-message", detail="no").to_json()) == {
        "type": "error",
        "code": "bad-message",
        "detail": "no",
    }
    # A refused chat names its client_id, and a rate-limited one says when to retry.
    refused = ErrorMessage(code="rate-limited", detail="slow down", request="chat", client_id="a1", retry_after_ms=900)
    assert json.loads(refused.to_json()) == {
        "type": "error",
        "code": "rate-limited",
        "detail": "slow down",
        "request": "chat",
        "client_id": "a1",
        "retry_after_ms": 900,
    }
    # The notifications socket's pong has no receive time; a ping without a number echoes null.
    assert json.loads(PongMessage(client_time_ms=None, server_time_ms=5.0).to_json()) == {
        "type": "pong",
        "client_time_ms": None,
        "server_time_ms": 5.0,
    }


def test_the_hand_made_room_pong_is_the_pong_message() -> None:
    for client in (12, 12.5, None):
        text = pong_text(client, 1700000000000.125, 1700000000000.5)
        model = PongMessage(client_time_ms=client, server_receive_ms=1700000000000.125, server_time_ms=1700000000000.5)
        assert json.loads(text) == json.loads(model.to_json())
        assert list(json.loads(text)) == list(json.loads(model.to_json()))  # same keys, same order
        assert PongMessage.model_validate_json(text) == model


def test_only_numbers_are_echoed_in_a_pong() -> None:
    assert [echoed_time(v) for v in (3, 2.5, True, "7", None, [1])] == [3, 2.5, None, None, None, None]


def test_a_redelivered_notification_says_so_to_gateways_but_not_to_browsers() -> None:
    note = EXAMPLES[-1]
    assert isinstance(note, NotificationMessage)
    again = note.model_copy(update={"redelivered": True})
    assert json.loads(again.to_json())["redelivered"] is True
    assert "redelivered" not in json.loads(note.to_json())
    assert json.loads(again.for_browser()) == json.loads(note.to_json())


def test_the_room_snapshot_nests_the_socket_messages_as_they_are_sent() -> None:
    snapshot = RoomSnapshot(
        code="ABCDEF",
        name="Room",
        host_id=1,
        host_name="Host",
        allow_member_streams=True,
        allow_queue=False,
        allow_control=False,
        created_at=datetime(2030, 1, 1, tzinfo=UTC).isoformat(),
        version=3,
        participants=PARTICIPANTS.items,
        queue=QUEUE,
        state=STATE,
        playback=Playback(track=TRACK, position_ms=1500.0, server_time_ms=1.7e12, playing=True, rate=1.0),
    )
    body = snapshot.to_dict()
    assert body["queue"] == QUEUE.to_dict() and body["state"] == STATE.to_dict()
    assert body["participants"] == PARTICIPANTS.to_dict()["items"]
    assert RoomSnapshot.model_validate_json(json.dumps(body)) == snapshot
    with pytest.raises(ValidationError):
        RoomSnapshot.model_validate_json(json.dumps({**body, "code": "ABC0EF"}))  # not a room code


def test_visual_frames_are_recognised_by_the_prefix_the_gateways_look_for() -> None:
    from control_plane.kits.realtime.hub import visual_stream

    params = VisualParams(room_code="ABCDEF", stream_id="s1", t_ms=0.0, rms=0.5, peak=0.7, seq=3)
    text = params.frame_json()
    assert text.startswith(VISUAL_FRAME_PREFIX) and json.loads(text) == params.to_frame()
    assert json.loads(text)["type"] == VISUAL and "room_code" not in json.loads(text)
    assert visual_stream(text) == "s1"
    assert all(visual_stream(m.to_json()) is None for m in EXAMPLES)
