"""Notification kinds and channels are defined once (contracts.notifications): the notification
service decides by them, the control plane accepts them, and every rule drafts a known kind."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.notifications import CHANNELS, DEFAULT_CHANNEL, NOTIFICATION_KINDS, wants_email, wants_in_app
from tests.contracts.test_codec import EXAMPLES


def test_the_notification_service_uses_the_contract_kinds_and_channels() -> None:
    from notification_service import kinds
    from notification_service.app import _preference_errors, _preferences_body

    assert kinds.NOTIFICATION_KINDS is NOTIFICATION_KINDS
    assert kinds.CHANNELS == CHANNELS == ("in_app", "email", "both", "none")
    assert kinds.DEFAULT_CHANNEL == DEFAULT_CHANNEL in CHANNELS
    body = _preferences_body({})
    assert [k["kind"] for k in body["kinds"]] == list(NOTIFICATION_KINDS) and body["channels"] == list(CHANNELS)
    every = {kind: CHANNELS[i % len(CHANNELS)] for i, kind in enumerate(NOTIFICATION_KINDS)}
    assert _preference_errors(every) == {}
    assert set(_preference_errors({"booking.created": "pigeon", "no.such": "email"})) == {
        "preferences.booking.created",
        "preferences.no.such",
    }


def test_the_control_plane_accepts_exactly_the_contract_channels() -> None:
    from control_plane.notifications.schemas import PreferencesBody

    schema = PreferencesBody.model_json_schema()["properties"]["preferences"]["additionalProperties"]
    assert tuple(schema["enum"]) == CHANNELS
    for channel in CHANNELS:
        PreferencesBody.model_validate({"preferences": {"booking.created": channel}})
    with pytest.raises(ValidationError):
        PreferencesBody.model_validate({"preferences": {"booking.created": "pigeon"}})


def test_channels_say_where_a_notification_goes() -> None:
    assert [c for c in CHANNELS if wants_in_app(c)] == ["in_app", "both"]
    assert [c for c in CHANNELS if wants_email(c)] == ["email", "both"]


def test_every_notification_drafted_has_a_kind_users_can_choose_a_channel_for() -> None:
    from notification_service.rules import drafts_for

    drafted = {draft.kind for event in EXAMPLES for draft in drafts_for(event)}  # type: ignore[arg-type]
    assert drafted and drafted <= set(NOTIFICATION_KINDS)
