"""/api/musicians/me, /api/musicians/{id} and reviews: parse, call the use cases, shape the answer.

Routes join the blueprint of ``musicians.api.common`` (one blueprint for the area)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_jwt_extended import jwt_required

from control_plane.accounts.auth import current_user
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.musicians.api.common import bp, ensure_allowed
from control_plane.musicians.models import MusicianProfile
from control_plane.musicians.queries import profile_json, profile_of, reviews_of
from control_plane.musicians.schemas import ProfileBody, ReviewBody, ReviewQuery
from control_plane.musicians.services.profiles import ProfileFields, save_profile
from control_plane.musicians.services.refusals import MusiciansRefused
from control_plane.musicians.services.reviews import review_engagement
from control_plane.musicians.services.roles import ensure_may_keep_a_profile

__all__: list[str] = []  # nothing to import: the routes join ``common.bp`` when this module loads


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
    ensure_allowed(ensure_may_keep_a_profile, user)
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
    try:
        profile = save_profile(db.session, user, fields)
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify(profile_json(profile))


@api_route(bp, "/musicians/me", "GET", "The caller's musician profile", responses={200: "OK", 404: "No profile yet"})
@jwt_required()
def get_profile() -> Response:
    profile = profile_of(db.session, current_user().id)
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
    profile = profile_of(db.session, musician_id)
    if profile is None:
        raise ApiProblem(404, "musician-not-found", f"Musician {musician_id} has no profile")
    return jsonify(profile_json(profile))


# --- reviews -----------------------------------------------------------------------------


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
    except MusiciansRefused as refused:
        db.session.rollback()
        raise refused_problem(refused) from None
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
    rows = db.session.scalars(reviews_of(musician_id, query.cursor).limit(query.limit + 1)).all()
    items = rows[: query.limit]
    next_cursor = str(items[-1].id) if len(rows) > query.limit else None
    return jsonify({"items": [row.to_json() for row in items], "next_cursor": next_cursor})
