"""/api/auth/* and /api/me: parse, call the account use cases, shape the answer."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask_jwt_extended import create_access_token, get_jwt, jwt_required, unset_jwt_cookies

from control_plane.accounts.auth import (
    consume_refresh_token,
    current_user,
    issue_tokens,
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
)
from control_plane.accounts.services import credentials
from control_plane.accounts.services.accounts import register_account, update_account
from control_plane.accounts.services.logins import revoke_family
from control_plane.accounts.services.passwords import HASHING_KEY, PasswordHashing
from control_plane.accounts.services.refusals import AccountsRefused, WrongPassword
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import refused_problem
from control_plane.kits.http.validation import parse_body
from downbeat.settings import Settings

__all__ = ["BLUEPRINTS", "bp"]

bp = Blueprint("accounts", __name__, url_prefix="/api")

_LIMITED = {429: "Too many attempts (Retry-After says when to try again)"}


def _settings() -> Settings:
    settings = current_settings()
    return settings


def _hashing() -> PasswordHashing:
    """The app's password hashing profile (bound by ``init_app``), for the use cases that hash
    or verify."""
    hashing: PasswordHashing = current_app.extensions[HASHING_KEY]
    return hashing


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
    try:
        user = register_account(db.session, data, _hashing())
    except AccountsRefused as refused:
        raise refused_problem(refused) from None
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
    try:
        user = credentials.log_in(db.session, email, data.password, _hashing())
    except WrongPassword as refused:
        throttle.failed(email, address)
        raise refused_problem(refused) from None
    throttle.succeeded(email)
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
    revoke_family(db.session, get_jwt()["fam"])
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
    user = update_account(db.session, current_user(), data)
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
    try:
        credentials.change_password(db.session, user, data, _hashing(), keep_login=get_jwt()["fam"])
    except WrongPassword as refused:
        login_throttle().failed(user.email, client_address())
        raise refused_problem(refused) from None
    except AccountsRefused as refused:
        raise refused_problem(refused) from None
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
