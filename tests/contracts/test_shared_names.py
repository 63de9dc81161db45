"""Names two processes must agree on, defined once in contracts: Redis channels and keys,
internal HTTP paths, room codes and notification kinds; and each side uses them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from pydantic import TypeAdapter, ValidationError

from contracts.base import ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH, ROOM_CODE_PATTERN, RoomCode
from contracts.channels import (
    ROOM_CHANNELS,
    USER_CHANNELS,
    is_room_channel,
    last_visual_key,
    room_channel,
    user_channel,
)
from contracts.files import ANALYSIS_PATH, TRACK_CONTENT_TYPES, TrackUploaded, analysis_path
from contracts.live import MEDIA_OFFER_PATH
from contracts.notifications import NOTIFICATION_KINDS, NotificationKind
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


def test_channel_and_key_names() -> None:
    assert (room_channel("ABCDEF"), user_channel(7), last_visual_key("ABCDEF")) == (
        "room:ABCDEF",
        "notify:7",
        "visual:last:ABCDEF",
    )
    assert (ROOM_CHANNELS, USER_CHANNELS) == ("room:*", "notify:*")
    assert is_room_channel(room_channel("ABCDEF")) and not is_room_channel(user_channel(7))


def test_no_process_spells_a_shared_name_by_hand() -> None:
    spelled = re.compile(r"""f?["'](room:|notify:|visual:last:|/internal/offer|/internal/tracks)""")
    offenders = []
    for package in ("control_plane", "notification_service", "media", "stream_workers"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if spelled.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_room_codes_are_defined_once() -> None:
    from control_plane.rooms.schemas import ALPHABET, CODE_LENGTH, new_code

    assert (ALPHABET, CODE_LENGTH) == (ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH)
    assert f"^[{ROOM_CODE_ALPHABET}]{{{ROOM_CODE_LENGTH}}}$" == ROOM_CODE_PATTERN
    codes = TypeAdapter(RoomCode)
    assert codes.validate_python(new_code())
    for bad in ("ABCDE0", "abcdef", "ABCDEFG"):
        try:
            codes.validate_python(bad)
        except ValidationError:
            continue
        raise AssertionError(f"{bad!r} passed as a room code")


def test_internal_paths_are_served_where_they_are_called(tmp_path: Path) -> None:
    from control_plane.app import create_app
    from media.server import create_web_app

    assert analysis_path(7) == "/internal/tracks/7/analysis" == ANALYSIS_PATH.format(track_id=7)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    control_plane = create_app(settings, TESTING=True)
    rules = {(rule.rule, rule.endpoint) for rule in control_plane.url_map.iter_rules()}
    assert ("/internal/tracks/<int:track_id>/analysis", "tracks_internal.analysis_report") in rules
    assert control_plane.url_map.bind("localhost").match(analysis_path(7), method="POST") == (
        "tracks_internal.analysis_report",
        {"track_id": 7},
    )
    media = create_web_app(settings)
    served = {(route.method, route.resource.canonical) for route in media.router.routes() if route.resource}
    assert ("POST", MEDIA_OFFER_PATH) in served


def test_notification_kinds_are_one_list() -> None:
    assert list(NOTIFICATION_KINDS) == list(get_args(NotificationKind))


def test_track_content_types_are_the_events() -> None:
    assert get_args(TrackUploaded.model_fields["content_type"].annotation) == TRACK_CONTENT_TYPES
