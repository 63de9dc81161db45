"""Room codes: no look-alike characters, normalised on the way in."""

from __future__ import annotations

from control_plane.rooms.schemas import ALPHABET, new_code, normalise_code


def test_room_codes_avoid_look_alikes_and_normalise() -> None:
    assert not set("01OIL") & set(ALPHABET)
    codes = {new_code() for _ in range(500)}
    assert all(len(c) == 6 and set(c) <= set(ALPHABET) for c in codes)
    assert len(codes) > 490
    assert normalise_code(" abcdef ") == "ABCDEF"
    assert normalise_code("ABCDE0") is None
    assert normalise_code("ABC") is None
