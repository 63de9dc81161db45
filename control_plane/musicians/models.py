"""Musician profiles and availability, projects, and the booking requests between them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from control_plane.accounts.models import User
from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = [
    "NO_RATE",
    "RATING_PRIOR_MEAN",
    "RATING_PRIOR_WEIGHT",
    "REQUEST_STATUSES",
    "BookingRequest",
    "MusicianAvailability",
    "MusicianGenre",
    "MusicianInstrument",
    "MusicianProfile",
    "MusicianReview",
    "MusicianWeekWindow",
    "Project",
    "rating_rank",
]

REQUEST_STATUSES = ("pending", "accepted", "declined", "cancelled", "expired")

# On PostgreSQL the migration adds, beside these, the exclusion constraint that makes two
# overlapping accepted engagements for one musician impossible (see requests.py):
#   EXCLUDE USING gist (musician_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
#   WHERE (status = 'accepted')
NO_OVERLAP_CONSTRAINT = "ex_booking_requests_no_overlap"


# Sort key of profiles without a rate, so "sort=rate" puts them last with a plain index.
NO_RATE = 2_147_483_647
# "sort=rating" ranks by a Bayesian average: every musician starts with RATING_PRIOR_WEIGHT
# imaginary reviews of RATING_PRIOR_MEAN stars, so one 5-star review does not outrank
# twenty 4.8-star ones, and a single bad review does not bury a newcomer.
RATING_PRIOR_MEAN = 3.5
RATING_PRIOR_WEIGHT = 3


def rating_rank(stars_sum: int, count: int) -> float:
    return (stars_sum + RATING_PRIOR_MEAN * RATING_PRIOR_WEIGHT) / (count + RATING_PRIOR_WEIGHT)


class MusicianProfile(db.Model):  # type: ignore[name-defined,misc]
    """One musician's public profile.

    Search columns (migration 0004): ``display_name`` mirrors ``users.name`` (a database
    trigger keeps it in step when the account is renamed) and ``search_text`` holds the
    instruments, genres and city as words. Full text runs over ``display_name``,
    ``search_text`` and ``bio``: on SQLite through the FTS5 table ``musician_fts`` (external
    content, kept in sync by triggers), on PostgreSQL through the generated ``search_vector``
    tsvector column with a GIN index. Neither is mapped here: they exist only in the database.
    """

    __tablename__ = "musician_profiles"
    __table_args__ = (
        CheckConstraint("rate_per IN ('hour', 'session')", name="rate_per_known"),
        CheckConstraint("rating_count >= 0", name="rating_count_not_negative"),
        # Bounding-box prefilter of "near=": a range on lat, then lon, inside one index.
        Index("ix_musician_profiles_lat_lon", "lat", "lon"),
        # Keyset pagination per sort order: (key, user_id) is unique and indexed.
        Index("ix_musician_profiles_rating", "rating_rank", "user_id"),
        Index("ix_musician_profiles_rate", "rate_sort", "user_id"),
        Index("ix_musician_profiles_name", "display_name", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    genres: Mapped[list[str]] = mapped_column(JSON, default=list)
    bio: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    rate_per: Mapped[str] = mapped_column(String(8), default="session")
    rate_sort: Mapped[int] = mapped_column(Integer, default=NO_RATE, server_default=str(NO_RATE))
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    photo_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_rank: Mapped[float] = mapped_column(Float, default=RATING_PRIOR_MEAN, server_default=str(RATING_PRIOR_MEAN))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    instruments: Mapped[list[MusicianInstrument]] = relationship(
        order_by="MusicianInstrument.position", cascade="all, delete-orphan"
    )
    genre_rows: Mapped[list[MusicianGenre]] = relationship(cascade="all, delete-orphan")

    @property
    def rating_avg(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "user_id": self.user_id,
            "name": self.user.name,
            "instruments": [item.name for item in self.instruments],
            "genres": list(self.genres),
            "bio": self.bio,
            "location": {"city": self.city, "lat": self.lat, "lon": self.lon},
            "rate": None
            if self.rate_amount is None
            else {"amount": self.rate_amount, "currency": self.rate_currency, "per": self.rate_per},
            "links": list(self.links),
            "photo_url": self.photo_url,
            "rating_avg": self.rating_avg,
            "rating_count": self.rating_count,
            "timezone": self.user.timezone,
            "updated_at": self.updated_at.isoformat(),
        }


class MusicianInstrument(db.Model):  # type: ignore[name-defined,misc]
    """One row per instrument so ``GET /api/musicians?instrument=`` is an indexed lookup."""

    __tablename__ = "musician_instruments"
    __table_args__ = (Index("ix_musician_instruments_key", "key"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("musician_profiles.user_id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)  # casefolded name
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)


class MusicianGenre(db.Model):  # type: ignore[name-defined,misc]
    """One row per genre so ``GET /api/musicians?genre=`` is an indexed lookup."""

    __tablename__ = "musician_genres"
    __table_args__ = (Index("ix_musician_genres_key", "key"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("musician_profiles.user_id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)  # casefolded name


class MusicianReview(db.Model):  # type: ignore[name-defined,misc]
    """The requester's review of an accepted engagement that has ended: one per request."""

    __tablename__ = "musician_reviews"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_musician_reviews_request_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_in_range"),
        Index("ix_musician_reviews_musician", "musician_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("booking_requests.id", ondelete="CASCADE"))
    musician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    stars: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "musician_id": self.musician_id,
            "reviewer": {"id": self.reviewer_id, "name": self.reviewer.name},
            "stars": self.stars,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
        }


class MusicianAvailability(db.Model):  # type: ignore[name-defined,misc]
    """Weekly windows and dated exceptions, as validated by ``availability.py``.

    ``timezone`` is NULL when the musician follows their account's time zone.
    """

    __tablename__ = "musician_availability"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weekly: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    exceptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The search prefilter (week_index.py): the zone its rows were computed in (stale when
    # the account's zone changed since) and whether any dated exception adds time.
    indexed_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    has_open_dates: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    week_windows: Mapped[list[MusicianWeekWindow]] = relationship(cascade="all, delete-orphan")


class MusicianWeekWindow(db.Model):  # type: ignore[name-defined,misc]
    """A weekly window in minutes since Monday 00:00 UTC, widened over the zone's offsets."""

    __tablename__ = "musician_week_windows"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("musician_availability.user_id", ondelete="CASCADE"), primary_key=True
    )
    start_w: Mapped[int] = mapped_column(Integer, primary_key=True)
    end_w: Mapped[int] = mapped_column(Integer)


class Project(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "projects"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    location: Mapped[str] = mapped_column(String(200), default="")
    instruments_needed: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "owner_name": self.owner.name,
            "title": self.title,
            "description": self.description,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "timezone": self.timezone,
            "location": self.location,
            "instruments_needed": list(self.instruments_needed),
            "created_at": self.created_at.isoformat(),
        }


class BookingRequest(db.Model):  # type: ignore[name-defined,misc]
    """A producer's or band manager's request to a musician, with an offer.

    The ``proposed_*`` columns hold an open reschedule proposal (a counter proposal); the
    other side accepts it (the terms move over) or declines it (the columns are cleared).
    """

    __tablename__ = "booking_requests"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("offer_amount >= 0", name="offer_not_negative"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined', 'cancelled', 'expired')", name="status_known"),
        # The musician's engagements and inbox; the expiry job's scan.
        Index("ix_booking_requests_musician_status", "musician_id", "status", "starts_at"),
        Index("ix_booking_requests_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    musician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    instrument: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offer_amount: Mapped[int] = mapped_column(Integer)
    offer_currency: Mapped[str] = mapped_column(String(3))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    proposed_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    proposed_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    proposed_offer_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proposed_offer_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was declined or cancelled
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    project: Mapped[Project] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    musician: Mapped[User] = relationship(foreign_keys=[musician_id])

    def has_proposal(self) -> bool:
        return self.proposed_by is not None

    def effective_status(self, now: datetime) -> str:
        """A pending request past its deadline is expired, even before the job records it."""
        return "expired" if self.status == "pending" and self.expires_at <= now else self.status

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        proposal = None
        if self.proposed_by is not None:
            assert self.proposed_starts_at is not None and self.proposed_ends_at is not None
            proposal = {
                "proposed_by": self.proposed_by,
                "starts_at": self.proposed_starts_at.isoformat(),
                "ends_at": self.proposed_ends_at.isoformat(),
                "offer": {"amount": self.proposed_offer_amount, "currency": self.proposed_offer_currency},
            }
        return {
            "id": self.id,
            "project_id": self.project_id,
            "project": {
                "id": self.project.id,
                "title": self.project.title,
                "location": self.project.location,
                "timezone": self.project.timezone,
            },
            "requester_id": self.requester_id,
            "requester": {"id": self.requester.id, "name": self.requester.name},
            "musician_id": self.musician_id,
            "musician": {"id": self.musician.id, "name": self.musician.name},
            "instrument": self.instrument,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "offer": {"amount": self.offer_amount, "currency": self.offer_currency},
            "message": self.message,
            "status": self.effective_status(now or utcnow()),
            "expires_at": self.expires_at.isoformat() if self.status == "pending" else None,
            "reschedule": proposal,
            "reason": self.reason,
            "cancelled_by": self.cancelled_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "responded_at": self.responded_at.isoformat() if self.responded_at else None,
        }
