"""Users and the token families that make logout and refresh rotation take effect at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = ["RevokedToken", "TokenFamily", "User"]


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    avatar_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # Secret of the private iCalendar feed URL; rotating it revokes the old URL.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def has_any_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "roles": list(self.roles),
            "avatar_url": self.avatar_url,
            "timezone": self.timezone,
            "created_at": self.created_at.isoformat(),
        }


class TokenFamily(db.Model):  # type: ignore[name-defined,misc]
    """One login: its access and refresh tokens carry the family id (`fam` claim).

    Logout revokes the family, so every token of that login stops working at once; reuse of
    an already-rotated refresh token revokes the family too (token theft detection).
    """

    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RevokedToken(db.Model):  # type: ignore[name-defined,misc]
    """Refresh tokens already rotated; presenting one again is reuse.

    The primary key makes the first rotation win: a concurrent second one fails to insert
    and is judged by ``used_at`` (within the grace window it is the same client racing itself).
    """

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    family_id: Mapped[str] = mapped_column(ForeignKey("token_families.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Null on rows from before migration 0006: they count as used long ago.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=utcnow)
