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
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.models import RevokedToken, TokenFamily, User
from control_plane.accounts.schemas import ROLES
from control_plane.accounts.services.logins import revoke_family
from control_plane.kits.db.raw_sql import postgres_connection
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db, jwt
from control_plane.kits.http.pages import here, page
from control_plane.kits.http.problems import ApiProblem, problem_response
from control_plane.kits.realtime.protocol import AUTH_TIMEOUT_S, SocketRefused, parse

__all__ = [
    "FAMILY_IS_LIVE_SQL",
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
    "roles_phrase",
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
    """Mark the presented refresh token used and return its family for the new pair.

    The primary key on ``revoked_tokens.jti`` lets exactly one rotation win even when two
    arrive at once. A token presented again within ``grace_s`` seconds of its first use is the
    same client racing itself (two tabs, a retried request whose answer was lost): it gets a
    fresh pair in the same family. Later, it is a replay (theft): the whole family is revoked.
    """
    claims = get_jwt()
    jti, family_id = str(claims["jti"]), str(claims.get("fam", ""))
    used_at = _first_use(jti, family_id, datetime.fromtimestamp(claims["exp"], UTC), utcnow())
    if used_at is None:
        return family_id
    # Timed from when this request learnt of the first use, not from when it started: a request
    # that began a moment before its twin, then lost the race, must not count as "earlier" than
    # the use it lost to (with no grace window, both tabs were then let through).
    if utcnow() - used_at < timedelta(seconds=grace_s):
        return family_id
    revoke_family(db.session, family_id)
    db.session.commit()
    raise ApiProblem(401, "refresh-token-reused", "This refresh token was already used; please log in again")


def _first_use(jti: str, family_id: str, expires: datetime, now: datetime) -> datetime | None:
    """None if this is the token's first use (now recorded), else when it was first used."""
    existing = db.session.get(RevokedToken, jti)
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(RevokedToken(jti=jti, family_id=family_id, expires_at=expires, used_at=now))
            return None
        except IntegrityError:
            # A concurrent rotation of the same token committed first (PostgreSQL blocks on
            # the key, then fails here); read what it recorded.
            existing = db.session.get(RevokedToken, jti, populate_existing=True)
        if existing is None:  # pragma: no cover - the row cannot vanish while its family lives
            raise ApiProblem(401, "refresh-token-reused", "This refresh token was already used")
    # Rows from before migration 0006 carry no time: treat them as used long ago.
    return existing.used_at or datetime.min.replace(tzinfo=UTC)


def current_user() -> User:
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        raise ApiProblem(401, "unknown-user", "The account behind this token no longer exists")
    return user


def token_is_revoked(claims: dict[str, Any]) -> bool:
    family_id = claims.get("fam")
    if not family_id:
        return True
    # One query on every authenticated request: an unknown or revoked family both refuse.
    # It runs on every authenticated request, so on PostgreSQL it skips SQLAlchemy's
    # statement machinery (see control_plane/kits/db/raw_sql.py).
    raw = postgres_connection(db.session)
    if raw is not None:
        row = raw.execute(_FAMILY_STATE_SQL, (family_id,)).fetchone()
    else:
        row = db.session.execute(select(TokenFamily.revoked_at).where(TokenFamily.id == family_id)).first()
    return row is None or row[0] is not None


_FAMILY_STATE_SQL = "SELECT revoked_at FROM token_families WHERE id = %s"

# The same check as one boolean for a statement of a hot path (psycopg named parameter
# ``token_family``): true only for a known family that was never revoked.
FAMILY_IS_LIVE_SQL = "COALESCE((SELECT revoked_at IS NULL FROM token_families WHERE id = %(token_family)s), false)"


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
# Roles are self-declared at registration (several at once) and decide what a user may do.
# Views say which roles they need with ``@require_roles(...)``; code that knows the user
# already calls ``ensure_roles``. Both answer 403 problem+json naming the roles that would do.


def roles_phrase(roles: tuple[str, ...]) -> str:
    """("creator", "facilitator") -> "creators or facilitators"."""
    plural = [role.replace("_", " ") + "s" for role in roles]
    return plural[0] if len(plural) == 1 else ", ".join(plural[:-1]) + " or " + plural[-1]


def ensure_roles(user: User, *roles: str, action: str = "do this") -> None:
    """Refuse with 403 unless the user holds at least one of ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:  # a typo here would silently lock everyone out
        raise ValueError(f"unknown roles {sorted(unknown)}")
    if not user.has_any_role(*roles):
        raise ApiProblem(
            403,
            "forbidden",
            f"Only {roles_phrase(roles)} may {action}",
            title="Forbidden",
            required_roles=list(roles),
        )


def require_roles(*roles: str, action: str = "do this") -> Callable[[F], F]:
    """Decorator: a valid access token (401 otherwise) of a user holding any of ``roles`` (403)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_roles needs known roles, got {roles!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            ensure_roles(current_user(), *roles, action=action)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# --- who is looking at a page -----------------------------------------------------------

HOSTING_ROLES = ("creator", "facilitator")
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
    if message["type"] != "auth" or not isinstance(message.get("token"), str):
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
