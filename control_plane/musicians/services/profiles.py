"""Musician profiles: portfolio link rules and saving a profile, apart from HTTP.

Portfolio links must point at the three places musicians keep their work: Spotify
(``open.spotify.com``), SoundCloud (``soundcloud.com``, its ``m.``/``on.`` hosts) and Bandcamp
(``bandcamp.com`` and every ``<artist>.bandcamp.com``), over https, without credentials or
ports, and with a path (the front page of a service is nobody's portfolio).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

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

__all__ = ["PORTFOLIO_HOSTS", "ProfileFields", "portfolio_kind", "portfolio_links", "save_profile", "search_words"]

DbSession = Session | scoped_session[Any]
PortfolioKind = Literal["spotify", "soundcloud", "bandcamp"]
PORTFOLIO_HOSTS = "open.spotify.com, soundcloud.com or <artist>.bandcamp.com"
_EXACT_HOSTS: dict[str, PortfolioKind] = {
    "open.spotify.com": "spotify",
    "play.spotify.com": "spotify",
    "soundcloud.com": "soundcloud",
    "www.soundcloud.com": "soundcloud",
    "m.soundcloud.com": "soundcloud",
    "on.soundcloud.com": "soundcloud",
    "bandcamp.com": "bandcamp",
    "www.bandcamp.com": "bandcamp",
}


def portfolio_kind(url: str) -> PortfolioKind:
    """Which service ``url`` belongs to; ``ValueError`` with a message a person can act on."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme != "https":
        raise ValueError("must start with https://")
    host = (parts.hostname or "").rstrip(".").casefold()
    if parts.username or parts.password or port is not None:
        raise ValueError("must not carry a user name, password or port")
    kind = _EXACT_HOSTS.get(host)
    if kind is None and host.endswith(".bandcamp.com") and _is_label(host.removesuffix(".bandcamp.com")):
        kind = "bandcamp"
    if kind is None:
        raise ValueError(f"must be a Spotify, SoundCloud or Bandcamp link ({PORTFOLIO_HOSTS}), not {host or 'this'}")
    if kind != "bandcamp" and parts.path.strip("/") == "":
        raise ValueError(f"must point at your page on {host}, not its front page")
    return kind


def _is_label(name: str) -> bool:
    return 0 < len(name) <= 63 and all(ch.isalnum() or ch == "-" for ch in name) and "." not in name


def portfolio_links(links: list[str]) -> list[dict[str, str]]:
    """Stored links with their service, for pages that show an icon per service."""
    shaped = []
    for url in links:
        try:
            shaped.append({"kind": portfolio_kind(url), "url": url})
        except ValueError:
            continue  # saved before links were checked; shown nowhere rather than wrongly
    return shaped


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
    """Create or replace ``user``'s profile; the caller commits."""
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
