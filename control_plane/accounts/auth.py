"""Who is calling: issuing tokens, deciding whether a presented token is still good, role
checks, and the viewer of a page.

This is the one module other areas' routes and pages use for authentication; it sits in the
top layer of the accounts area, beside ``api.py`` and ``pages.py``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Response, g, redirect, request
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    get_jwt_identity,
    set_access_cookies,
    set_refresh_cookies,
    verify_jwt_in_request,
)
from simple_websocket import Server

from contracts.sockets import AUTH
from control_plane.accounts.models import TokenFamily, User
from control_plane.accounts.queries import family_is_revoked
from control_plane.accounts.services.logins import rotate_refresh_token
from control_plane.accounts.services.refusals import AccountsRefused
from control_plane.accounts.services.roles import HOSTING_ROLES, known_roles, missing_role
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db, jwt
from control_plane.kits.http.pages import here, page
from control_plane.kits.http.problems import ApiProblem, problem_response
from control_plane.kits.realtime.protocol import AUTH_TIMEOUT_S, SocketRefused, parse

__all__ = [
    "HOSTING_ROLES",
    "authenticate_socket",
    "consume_refresh_token",
    "current_user",
    "ensure_roles",
    "issue_tokens",
    "login_required",
    "register_jwt_callbacks",
    "require_live_token",
    "require_roles",
    "revoked_token_problem",
    "set_auth_cookies",
    "token_is_revoked",
    "viewer",
    "viewer_context",
]

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def issue_tokens(user: User, family_id: str | None = None) -> dict[str, str]:
    """A fresh access/refresh pair; a new login starts a new family."""
    if family_id is None:
        family_id = str(uuid.uuid4())
        db.session.add(TokenFamily(id=family_id, user_id=user.id))
    claims = {"fam": family_id}
    return {
        "access_token": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh_token": create_refresh_token(identity=str(user.id), additional_claims=claims),
    }


def set_auth_cookies(response: Response, tokens: dict[str, str]) -> Response:
    set_access_cookies(response, tokens["access_token"])
    set_refresh_cookies(response, tokens["refresh_token"])
    return response


def consume_refresh_token(grace_s: int) -> str:
    """Mark the presented refresh token used and return its family for the new pair; a token
    presented again after ``grace_s`` seconds is a replay: 401 ``refresh-token-reused`` and the
    login ends (the rule: ``services.logins.rotate_refresh_token``)."""
    claims = get_jwt()
    try:
        return rotate_refresh_token(
            db.session,
            jti=str(claims["jti"]),
            family_id=str(claims.get("fam", "")),
            expires=datetime.fromtimestamp(claims["exp"], UTC),
            grace=timedelta(seconds=grace_s),
            now=utcnow,  # this module's clock, read when the rule asks for it
        )
    except AccountsRefused as refused:
        raise ApiProblem(refused.status, refused.code, refused.detail, title=refused.title) from None


def current_user() -> User:
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        raise ApiProblem(401, "unknown-user", "The account behind this token no longer exists")
    return user


def token_is_revoked(claims: dict[str, Any]) -> bool:
    """Whether the login behind these claims was ended (or never existed)."""
    return family_is_revoked(db.session, claims.get("fam"))


def revoked_token_problem() -> ApiProblem:
    return ApiProblem(401, "token-revoked", "The token was revoked (logged out)", title="Unauthorized")


def require_live_token(claims: dict[str, Any]) -> None:
    """The check ``jwt_required`` makes, for views that skip it to make it in their own SQL."""
    if token_is_revoked(claims):
        raise revoked_token_problem()


def register_jwt_callbacks() -> None:
    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        return token_is_revoked(payload)

    def _unauthorized(detail: str, code: str = "unauthorized") -> Response:
        return problem_response(ApiProblem(401, code, detail, title="Unauthorized"))

    @jwt.unauthorized_loader
    def _missing(reason: str) -> Response:
        return _unauthorized(f"Authentication required: {reason}")

    @jwt.invalid_token_loader
    def _invalid(reason: str) -> Response:
        # The decoder's reason ("Invalid header string: 'utf-8' codec ...") helps nobody and
        # describes the parser: the client only needs to know the token is no good.
        log.info("invalid token: %s", reason)
        return _unauthorized(
            "The token is not valid (malformed, or not issued by Downbeat); log in again", "invalid-token"
        )

    @jwt.expired_token_loader
    def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The token has expired; refresh it or log in again", "token-expired")

    @jwt.revoked_token_loader
    def _revoked_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return problem_response(revoked_token_problem())

    @jwt.needs_fresh_token_loader
    def _fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("A fresh login is required")


# --- roles ------------------------------------------------------------------------------
# Who may do what is decided in ``services.roles`` (use cases of every area ask it too). Views
# say which roles they need with ``@require_roles(...)``; code that knows the user already calls
# ``ensure_roles``. Both answer 403 problem+json naming the roles that would do.


def ensure_roles(user: User, *roles: str, action: str = "do this") -> None:
    """Refuse with 403 unless the user holds at least one of ``roles``."""
    refusal = missing_role(user, roles, action)
    if refusal is not None:
        raise ApiProblem(403, "forbidden", refusal, title="Forbidden", required_roles=list(roles))


def require_roles(*roles: str, action: str = "do this") -> Callable[[F], F]:
    """Decorator: a valid access token (401 otherwise) of a user holding any of ``roles`` (403)."""
    known_roles(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            ensure_roles(current_user(), *roles, action=action)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# --- who is looking at a page -----------------------------------------------------------

_NO_VIEWER = object()


def viewer() -> User | None:
    """The logged-in user from the JWT cookies; an expired, revoked or invalid token is 'logged out'."""
    cached: object = g.get("_downbeat_viewer", _NO_VIEWER)
    if cached is not _NO_VIEWER:
        return cached if isinstance(cached, User) else None
    user: User | None = None
    try:
        verify_jwt_in_request(optional=True)
        if get_jwt_identity() is not None:
            user = current_user()
    except Exception:  # any token problem means the visitor is not logged in
        user = None
    g._downbeat_viewer = user
    return user


def login_required(view: F) -> F:
    """Pages only: the logged-in viewer, else a refresh round trip or the login page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if viewer() is not None:
            return view(*args, **kwargs)
        if request.cookies.get("refresh_token_cookie") and request.cookies.get("csrf_refresh_token"):
            # The access token expired but a refresh token may still be good: let the browser
            # rotate it (it holds the CSRF cookie) and come back, or fall through to /login.
            return page("refreshing.html", title="Signing you in…", next_path=here())
        return redirect(f"/login?next={quote(here(), safe='/')}")

    return wrapper  # type: ignore[return-value]


def viewer_context() -> dict[str, Any]:
    """Every template's ``user`` and ``can_host`` (registered as a context processor)."""
    user = viewer()
    return {"user": user, "can_host": bool(user and user.has_any_role(*HOSTING_ROLES))}


# --- who is on a socket -----------------------------------------------------------------


def authenticate_socket(ws: Server) -> tuple[User, dict[str, Any]]:
    """The first message of every socket: ``{type: auth, token}`` with a live access token."""
    message = parse(ws.receive(timeout=AUTH_TIMEOUT_S))
    if message["type"] != AUTH or not isinstance(message.get("token"), str):
        raise SocketRefused("auth-required", "first message must be {type: auth, token}")
    try:
        claims = decode_token(message["token"])
    except Exception:
        raise SocketRefused("invalid-token", "token is invalid or expired") from None
    if claims.get("type") != "access" or token_is_revoked(claims):
        raise SocketRefused("invalid-token", "token is revoked or not an access token")
    user = db.session.get(User, int(claims["sub"]))
    if user is None:
        raise SocketRefused("invalid-token", "unknown user")
    db.session.expunge(user)
    db.session.remove()  # hand the connection back; sockets live long
    return user, message
