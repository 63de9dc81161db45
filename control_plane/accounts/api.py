"""/api/auth/* and /api/me: parse, call the account rules, shape the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, jsonify
from flask_jwt_extended import create_access_token, get_jwt, jwt_required, unset_jwt_cookies
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.auth import (
    consume_refresh_token,
    current_user,
    issue_tokens,
    revoke_family,
    revoke_other_families,
    set_auth_cookies,
    viewer_context,
)
from control_plane.accounts.limits import (
    client_address,
    init_abuse_limits,
    limit_login,
    limit_refresh,
    limit_register,
    login_throttle,
    too_many,
)
from control_plane.accounts.models import User
from control_plane.accounts.schemas import (
    AuthAnswer,
    ChangePassword,
    InvalidEmail,
    Login,
    Register,
    SocketToken,
    TokenPair,
    UpdateMe,
    UserOut,
    normalise_email,
    password_problems,
)
from control_plane.accounts.services.passwords import (
    HASHING_KEY,
    PasswordHashing,
    hash_password,
    needs_rehash,
    verify_password,
)
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import field_problem, parse_body
from downbeat.settings import Settings

__all__ = ["BLUEPRINTS", "bp"]

bp = Blueprint("accounts", __name__, url_prefix="/api")

_LIMITED = {429: "Too many attempts (Retry-After says when to try again)"}
_EMAIL_TAKEN = "An account with this email already exists"


def _email_taken() -> ApiProblem:
    return ApiProblem(409, "email-taken", _EMAIL_TAKEN, errors={"email": ["is already registered: log in instead"]})


def _settings() -> Settings:
    settings = current_settings()
    return settings


def _session_answer(user: User, tokens: dict[str, str], status: int) -> Response:
    response = jsonify({**tokens, "user": user.to_json()})
    response.status_code = status
    return set_auth_cookies(response, tokens)


@api_route(
    bp,
    "/auth/register",
    "POST",
    "Create an account with one or more roles",
    body=Register,
    auth=False,
    response=AuthAnswer,
    responses={
        201: "Created; tokens also set as HttpOnly cookies",
        409: "Email taken",
        422: "Invalid fields",
        **_LIMITED,
    },
)
@limit_register
def register() -> Response:
    data = parse_body(Register)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == data.email)) is not None:
        raise _email_taken()
    user = User(
        email=data.email,
        password_hash=hash_password(data.password),
        name=data.name,
        roles=data.roles,
        timezone=data.timezone,
        avatar_url=data.avatar_url,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same email registered concurrently
        db.session.rollback()
        raise _email_taken() from None
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
    response=AuthAnswer,
    responses={200: "Logged in; tokens also set as HttpOnly cookies", 401: "Wrong email or password", **_LIMITED},
)
@limit_login
def login() -> Response:
    data = parse_body(Login)
    try:
        email = normalise_email(data.email)
    except InvalidEmail:
        email = data.email.strip().lower()  # cannot match an account; still costs a hash check
    throttle, address = login_throttle(), client_address()
    wait = throttle.retry_after(email, address)
    if wait:
        return too_many(wait, f"Too many failed logins; try again in {wait} s", "login-locked")
    user = db.session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, data.password) or user is None:
        throttle.failed(email, address)
        raise ApiProblem(401, "invalid-credentials", "Wrong email or password")
    throttle.succeeded(email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(data.password)
    tokens = issue_tokens(user)
    db.session.commit()
    return _session_answer(user, tokens, 200)


@api_route(
    bp,
    "/auth/refresh",
    "POST",
    "Rotate the refresh token (Bearer refresh token, or the refresh cookie with X-CSRF-TOKEN)",
    response=TokenPair,
    responses={200: "New tokens", 401: "Refused: expired, revoked or reused", **_LIMITED},
)
@limit_refresh
@jwt_required(refresh=True)
def refresh() -> Response:
    family_id = consume_refresh_token(_settings().auth.refresh_reuse_grace_s)
    user = current_user()
    tokens = issue_tokens(user, family_id=family_id)
    db.session.commit()
    response = jsonify(tokens)
    return set_auth_cookies(response, tokens)


@api_route(
    bp,
    "/auth/logout",
    "POST",
    "Log out: every access and refresh token of this login stops working at once",
    responses={204: "Logged out"},
)
@jwt_required(verify_type=False)  # an access or a refresh token: logging out must not need a refresh first
def logout() -> Response:
    revoke_family(get_jwt()["fam"])
    db.session.commit()
    response = Response(status=204)
    unset_jwt_cookies(response)
    return response


@api_route(
    bp,
    "/auth/socket-token",
    "POST",
    "A short-lived token for the first WebSocket message",
    response=SocketToken,
    responses={200: "Token"},
)
@jwt_required()
def socket_token() -> Response:
    """Pages authenticate with HttpOnly cookies; sockets need a token in their first message."""
    user = current_user()
    token = create_access_token(
        identity=str(user.id), additional_claims={"fam": get_jwt()["fam"]}, expires_delta=timedelta(minutes=2)
    )
    return jsonify({"token": token, "user": user.to_json()})


@api_route(bp, "/me", "GET", "The current user", response=UserOut)
@jwt_required()
def me() -> Response:
    return jsonify(current_user().to_json())


@api_route(
    bp,
    "/me",
    "PATCH",
    "Update profile fields (name, timezone, avatar_url, roles)",
    body=UpdateMe,
    response=UserOut,
    responses={200: "Updated", 422: "Invalid"},
)
@jwt_required()
def update_me() -> Response:
    data = parse_body(UpdateMe)
    user = current_user()
    changes: dict[str, Any] = data.model_dump(include=data.model_fields_set)
    for key, value in changes.items():
        setattr(user, key, value)
    db.session.commit()
    return jsonify(user.to_json())


@api_route(
    bp,
    "/me/password",
    "POST",
    "Change the password; every other login of this account ends",
    body=ChangePassword,
    responses={204: "Changed", 403: "Current password wrong", 422: "New password refused", **_LIMITED},
)
@limit_login
@jwt_required()
def change_password() -> Response:
    data = parse_body(ChangePassword)
    user = current_user()
    if not verify_password(user.password_hash, data.current_password):
        login_throttle().failed(user.email, client_address())
        raise ApiProblem(403, "invalid-credentials", "The current password is wrong")
    problems = password_problems(data.new_password, user.email)
    if problems:
        raise field_problem({"new_password": problems})
    user.password_hash = hash_password(data.new_password)
    # A changed password must shut out whoever knew the old one: end every other login.
    revoke_other_families(user.id, keep=get_jwt()["fam"])
    db.session.commit()
    return Response(status=204)


BLUEPRINTS: tuple[Blueprint, ...] = (bp,)


def init_app(app: Flask, settings: Settings) -> None:
    """Binds the accounts area to an app: password hashing cost, abuse limits, and the viewer
    in every template."""
    auth = settings.auth
    app.extensions[HASHING_KEY] = PasswordHashing(
        auth.argon2_time_cost, auth.argon2_memory_kib, auth.argon2_parallelism
    )
    init_abuse_limits(app, settings)
    app.context_processor(viewer_context)
