"""/api/auth/* and /api/me."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask import Blueprint, Response, jsonify
from flask_jwt_extended import create_access_token, get_jwt, jwt_required, unset_jwt_cookies
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.models import ROLES, User
from control_plane.accounts.tokens import (
    consume_refresh_token,
    current_user,
    issue_tokens,
    revoke_family,
    set_auth_cookies,
)
from control_plane.api_spec import api_route
from control_plane.extensions import db
from control_plane.problems import ApiProblem
from control_plane.validation import parse_body

__all__ = ["bp"]

bp = Blueprint("accounts", __name__, url_prefix="/api")
_hasher = PasswordHasher()
# Verifying against a dummy hash keeps "unknown email" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=8, max_length=256)
    name: Name
    roles: list[str] = Field(default_factory=lambda: ["user"], min_length=1, max_length=len(ROLES))

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; choose from {list(ROLES)}")
        return sorted(set(roles), key=ROLES.index)


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class UpdateMe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        if zone is not None and zone not in available_timezones():
            raise ValueError("unknown IANA time zone")
        return zone


def _session_answer(user: User, tokens: dict[str, str], status: int) -> Response:
    response = jsonify({**tokens, "user": user.to_json()})
    response.status_code = status
    return set_auth_cookies(response, tokens)


@api_route(
    bp,
    "/auth/register",
    "POST",
    "Create an account",
    body=Register,
    auth=False,
    responses={201: "Created", 409: "Email taken", 422: "Invalid fields"},
)
def register() -> Response:
    data = parse_body(Register)
    email = data.email.lower()
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise ApiProblem(409, "email-taken", "An account with this email already exists", errors={"email": ["taken"]})
    user = User(email=email, password_hash=_hasher.hash(data.password), name=data.name, roles=data.roles)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ApiProblem(
            409, "email-taken", "An account with this email already exists", errors={"email": ["taken"]}
        ) from None
    tokens = issue_tokens(user)
    db.session.commit()
    return _session_answer(user, tokens, 201)


@api_route(
    bp,
    "/auth/login",
    "POST",
    "Log in",
    body=Login,
    auth=False,
    responses={200: "Logged in", 401: "Wrong email or password"},
)
def login() -> Response:
    data = parse_body(Login)
    user = db.session.scalar(select(User).where(User.email == data.email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, data.password)
    except VerificationError:
        user = None
    if user is None:
        raise ApiProblem(401, "invalid-credentials", "Wrong email or password")
    tokens = issue_tokens(user)
    db.session.commit()
    return _session_answer(user, tokens, 200)


@api_route(bp, "/auth/refresh", "POST", "Rotate the refresh token", responses={200: "New tokens", 401: "Refused"})
@jwt_required(refresh=True)
def refresh() -> Response:
    family_id = consume_refresh_token()
    user = current_user()
    tokens = issue_tokens(user, family_id=family_id)
    db.session.commit()
    response = jsonify(tokens)
    return set_auth_cookies(response, tokens)


@api_route(
    bp, "/auth/logout", "POST", "Log out: every token of this login stops working", responses={204: "Logged out"}
)
@jwt_required()
def logout() -> Response:
    revoke_family(get_jwt()["fam"])
    db.session.commit()
    response = Response(status=204)
    unset_jwt_cookies(response)
    return response


@api_route(
    bp, "/auth/socket-token", "POST", "A short-lived token for the first WebSocket message", responses={200: "Token"}
)
@jwt_required()
def socket_token() -> Response:
    """Pages authenticate with HttpOnly cookies; sockets need a token in their first message."""
    from datetime import timedelta

    user = current_user()
    token = create_access_token(
        identity=str(user.id), additional_claims={"fam": get_jwt()["fam"]}, expires_delta=timedelta(minutes=2)
    )
    return jsonify({"token": token, "user": user.to_json()})


@api_route(bp, "/me", "GET", "The current user")
@jwt_required()
def me() -> Response:
    return jsonify(current_user().to_json())


@api_route(bp, "/me", "PATCH", "Update profile fields", body=UpdateMe, responses={200: "Updated", 422: "Invalid"})
@jwt_required()
def update_me() -> Response:
    data = parse_body(UpdateMe)
    user = current_user()
    changes: dict[str, Any] = data.model_dump(exclude_none=True)
    for key, value in changes.items():
        setattr(user, key, value)
    db.session.commit()
    return jsonify(user.to_json())
