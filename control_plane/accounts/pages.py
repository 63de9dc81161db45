"""Pages of the accounts area: the landing page, log in and register.

They only read; the browser logs in and registers through /api/auth.
"""

from __future__ import annotations

from flask import request

from control_plane.accounts.schemas import ROLES
from control_plane.kits.http.pages import page, page_blueprint, safe_next

__all__ = ["bp"]

bp = page_blueprint("accounts_pages", __name__)


@bp.get("/")
def home() -> str:
    return page("home.html", title="Make music together")


@bp.get("/login")
def login() -> str:
    return page("login.html", title="Log in", next_path=safe_next(request.args.get("next")))


@bp.get("/register")
def register() -> str:
    return page("register.html", title="Create an account", roles=ROLES, next_path=safe_next(request.args.get("next")))
