"""Every control-plane model, imported in one place so metadata is complete for Alembic."""

from __future__ import annotations

from control_plane.accounts.models import RevokedToken, TokenFamily, User
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.files.models import Deliverable, FileComment, FileUpload, FileVersion, ProjectFile
from control_plane.kits.db.types import Base
from control_plane.kits.idempotency import IdempotencyRecord
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.messages.models import (
    Conversation,
    ConversationMember,
    Message,
    MessageAttachment,
    MessageReport,
    UserBlock,
)
from control_plane.musicians.models import (
    BookingRequest,
    MusicianAvailability,
    MusicianInstrument,
    MusicianProfile,
    Project,
)
from control_plane.payments.models import Payment, Refund
from control_plane.rooms.models import Room, RoomMember

__all__ = [
    "Booking",
    "BookingRequest",
    "CatalogSession",
    "Conversation",
    "ConversationMember",
    "Deliverable",
    "FileComment",
    "FileUpload",
    "FileVersion",
    "IdempotencyRecord",
    "Message",
    "MessageAttachment",
    "MessageReport",
    "MusicianAvailability",
    "MusicianInstrument",
    "MusicianProfile",
    "OutboxMessage",
    "Payment",
    "Project",
    "ProjectFile",
    "Refund",
    "RevokedToken",
    "Room",
    "RoomMember",
    "TokenFamily",
    "User",
    "UserBlock",
    "metadata",
]

metadata = Base.metadata
