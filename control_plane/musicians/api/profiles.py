"""/api/musicians/me, /api/musicians/{id} and reviews: parse, call the rules, shape the answer.

Routes join the blueprint of ``musicians.api.common`` (one blueprint for the area)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Response, jsonify
from flask_jwt_extended import jwt_required
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from control_plane.accounts.auth import current_user
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import ONE_LINE, TEXT, parse_body, parse_query
from control_plane.musicians.api.common import _dedupe, _require_role, bp
from control_plane.musicians.api.requests import Label, Money
from control_plane.musicians.models import MusicianProfile, MusicianReview
from control_plane.musicians.services import requests as rules
from control_plane.musicians.services.profiles import ProfileFields, portfolio_kind, portfolio_links, save_profile
from control_plane.musicians.services.reviews import review_engagement

__all__ = ["profile_json"]


def _portfolio_link(url: str) -> str:
    portfolio_kind(url)  # ValueError says what is wrong; pydantic names the item (links.2)
    return url


PortfolioLink = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(_portfolio_link)
]


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str = Field(default="", max_length=120, pattern=ONE_LINE)
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS84 degrees; give lat and lon together")
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give lat and lon together, or neither")
        return self


class Rate(Money):
    per: Literal["hour", "session"] = "session"


class ProfileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instruments: list[Label] = Field(default_factory=list, max_length=20)
    genres: list[Label] = Field(default_factory=list, max_length=20)
    bio: str = Field(default="", max_length=5000, pattern=TEXT)
    location: Location = Field(default_factory=Location)
    rate: Rate | None = Field(default=None, description="amount in minor units (2500 = 25.00 EUR)")
    links: list[PortfolioLink] = Field(
        default_factory=list, max_length=10, description="Spotify, SoundCloud or Bandcamp pages (https)"
    )
    photo_url: str | None = Field(default=None, max_length=500, description="https URL of a picture")

    _unique = field_validator("instruments", "genres")(_dedupe)

    @field_validator("links")
    @classmethod
    def _same_link_once(cls, links: list[str]) -> list[str]:
        return list(dict.fromkeys(links))

    @field_validator("photo_url")
    @classmethod
    def _photo(cls, url: str | None) -> str | None:
        if url is None or url.strip() == "":
            return None
        url = url.strip()
        if not url.startswith("https://") or any(ch.isspace() for ch in url) or len(url) <= len("https://"):
            raise ValueError("must be an https:// URL of a picture")
        return url


def profile_json(profile: MusicianProfile) -> dict[str, Any]:
    body = profile.to_json()
    body["portfolio"] = portfolio_links(profile.links)
    return body


def _profile(user_id: int) -> MusicianProfile | None:
    return db.session.scalars(
        select(MusicianProfile)
        .where(MusicianProfile.user_id == user_id)
        .options(selectinload(MusicianProfile.instruments), selectinload(MusicianProfile.user))
    ).first()


@api_route(
    bp,
    "/musicians/me",
    "PUT",
    "Create or replace the caller's musician profile",
    body=ProfileBody,
    responses={200: "Saved", 403: "Not a musician", 422: "Invalid fields (each named in errors)"},
)
@jwt_required()
def put_profile() -> Response:
    user = current_user()
    _require_role(user, "musician", what="have a musician profile")
    data = parse_body(ProfileBody)
    fields = ProfileFields(
        instruments=data.instruments,
        genres=data.genres,
        bio=data.bio,
        city=data.location.city.strip(),
        lat=data.location.lat,
        lon=data.location.lon,
        rate_amount=data.rate.amount if data.rate else None,
        rate_currency=data.rate.currency if data.rate else "EUR",
        rate_per=data.rate.per if data.rate else "session",
        links=data.links,
        photo_url=data.photo_url,
    )
    profile = save_profile(db.session, user, fields)
    db.session.commit()
    return jsonify(profile_json(profile))


@api_route(bp, "/musicians/me", "GET", "The caller's musician profile", responses={200: "OK", 404: "No profile yet"})
@jwt_required()
def get_profile() -> Response:
    profile = _profile(current_user().id)
    if profile is None:
        raise ApiProblem(404, "profile-not-found", "You have no musician profile yet; PUT /api/musicians/me")
    return jsonify(profile_json(profile))


@api_route(
    bp,
    "/musicians/<int:musician_id>",
    "GET",
    "A musician's public profile",
    responses={200: "OK", 404: "No such musician profile"},
    auth=False,
)
def get_public_profile(musician_id: int) -> Response:
    profile = _profile(musician_id)
    if profile is None:
        raise ApiProblem(404, "musician-not-found", f"Musician {musician_id} has no profile")
    return jsonify(profile_json(profile))


# --- reviews -----------------------------------------------------------------------------


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=2000, pattern=TEXT)


class ReviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: int | None = Field(default=None, ge=1, description="id of the last review seen")


@api_route(
    bp,
    "/requests/<int:request_id>/review",
    "POST",
    "The requester reviews an accepted engagement that has ended (once per request)",
    body=ReviewBody,
    responses={
        201: "Reviewed; the musician's rating includes it",
        403: "Only the requester reviews",
        404: "Not found",
        409: "not-reviewable, engagement-not-ended or already-reviewed",
        422: "Invalid fields",
    },
)
@jwt_required()
def review(request_id: int) -> tuple[Response, int]:
    user = current_user()
    data = parse_body(ReviewBody)
    try:
        created = review_engagement(db.session, user, request_id, data.stars, data.text.strip(), utcnow())
    except rules.RequestRefused as refused:
        db.session.rollback()
        raise ApiProblem(refused.status, refused.code, refused.detail, errors=refused.errors) from None
    db.session.commit()
    return jsonify(created.to_json()), 201


@api_route(
    bp,
    "/musicians/<int:musician_id>/reviews",
    "GET",
    "A musician's reviews, newest first",
    query=ReviewQuery,
    responses={200: "OK", 404: "No such musician profile"},
    auth=False,
)
def list_reviews(musician_id: int) -> Response:
    query = parse_query(ReviewQuery)
    if db.session.get(MusicianProfile, musician_id) is None:
        raise ApiProblem(404, "musician-not-found", f"Musician {musician_id} has no profile")
    stmt = (
        select(MusicianReview)
        .where(MusicianReview.musician_id == musician_id)
        .options(selectinload(MusicianReview.reviewer))
        .order_by(MusicianReview.id.desc())
    )
    if query.cursor is not None:
        stmt = stmt.where(MusicianReview.id < query.cursor)
    rows = db.session.scalars(stmt.limit(query.limit + 1)).all()
    items = rows[: query.limit]
    next_cursor = str(items[-1].id) if len(rows) > query.limit else None
    return jsonify({"items": [row.to_json() for row in items], "next_cursor": next_cursor})
