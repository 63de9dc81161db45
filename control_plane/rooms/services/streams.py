"""Live audio into a room: who may stream, and handing a checked offer to the media process."""

from __future__ import annotations

import uuid

from contracts.live import MediaAnswer, MediaOffer
from control_plane.kits.db.types import DB
from control_plane.rooms.models import Room
from control_plane.rooms.schemas import StreamOffer
from control_plane.rooms.services.media import MediaClient
from control_plane.rooms.services.permissions import may_stream
from control_plane.rooms.services.refusals import RoomsRefused

__all__ = ["offer_stream"]


def offer_stream(session: DB, room: Room, user_id: int, offer: StreamOffer, media: MediaClient) -> MediaAnswer:
    """A new stream of ``user_id``'s audio into ``room``: the media process's SDP answer.

    Refused (``RoomsRefused``) with 403 ``stream-not-allowed`` for anyone but the host or a
    member the host allowed (the media process never sees those), 422 ``invalid-offer`` for
    what is plainly not an SDP audio offer, or whatever the media process refuses.
    """
    if not may_stream(session, room, user_id):
        raise RoomsRefused(
            403, "stream-not-allowed", "Only the host, or members the host allows, may stream into this room"
        )
    if not offer.is_audio_offer():
        raise RoomsRefused(
            422, "invalid-offer", "The offer is not a valid SDP audio offer (it must start with v=0 and have m=audio)"
        )
    checked = MediaOffer(
        sdp=offer.sdp, type="offer", room_code=room.code, stream_id=uuid.uuid4().hex[:16], user_id=user_id
    )
    session.commit()  # nothing was written: end the transaction (SQLite's lock) before waiting on media
    return media.offer(checked)
