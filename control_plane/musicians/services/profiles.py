"""Musician profiles: saving one, apart from HTTP. What a portfolio link must look like is
input checking (``musicians.schemas``); how a profile reads is ``musicians.queries``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.kits.db.types import utcnow
from control_plane.musicians.models import (
    NO_RATE,
    MusicianGenre,
    MusicianInstrument,
    MusicianProfile,
    MusicianReview,
    rating_rank,
)
from control_plane.musicians.services.roles import ensure_may_keep_a_profile

__all__ = ["ProfileFields", "save_profile", "search_words"]

DbSession = Session | scoped_session[Any]


@dataclass(frozen=True)
class ProfileFields:
    instruments: list[str]
    genres: list[str]
    bio: str
    city: str
    lat: float | None
    lon: float | None
    rate_amount: int | None
    rate_currency: str
    rate_per: str
    links: list[str]
    photo_url: str | None


def search_words(instruments: list[str], genres: list[str], city: str) -> str:
    """What full text searches besides the name and bio."""
    return " ".join([*instruments, *genres, city]).strip()


def save_profile(db: DbSession, user: User, fields: ProfileFields) -> MusicianProfile:
    """Create or replace ``user``'s profile; the caller commits. ``MusiciansRefused`` (403)
    unless ``user`` is a musician."""
    ensure_may_keep_a_profile(user)
    profile = db.get(MusicianProfile, user.id)
    if profile is None:
        profile = MusicianProfile(user_id=user.id, user=user)
        # Reviews can exist before a profile (an engagement needs only the musician role).
        count, total = db.execute(
            select(func.count(), func.coalesce(func.sum(MusicianReview.stars), 0)).where(
                MusicianReview.musician_id == user.id
            )
        ).one()
        profile.rating_count, profile.rating_sum = int(count), int(total)
        profile.rating_rank = rating_rank(int(total), int(count))
    profile.display_name = user.name
    profile.genres, profile.bio, profile.links = fields.genres, fields.bio, fields.links
    profile.city, profile.lat, profile.lon = fields.city, fields.lat, fields.lon
    profile.rate_amount, profile.rate_currency, profile.rate_per = (
        fields.rate_amount,
        fields.rate_currency,
        fields.rate_per,
    )
    profile.rate_sort = NO_RATE if fields.rate_amount is None else fields.rate_amount
    profile.photo_url = fields.photo_url
    profile.search_text = search_words(fields.instruments, fields.genres, fields.city)
    profile.instruments = [
        MusicianInstrument(key=name.casefold(), name=name, position=i) for i, name in enumerate(fields.instruments)
    ]
    profile.genre_rows = [MusicianGenre(key=key) for key in dict.fromkeys(g.casefold() for g in fields.genres)]
    profile.updated_at = utcnow()
    db.add(profile)
    return profile
