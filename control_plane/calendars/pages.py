"""Pages of the calendars area: the viewer's week (drawn from /api/calendar)."""

from __future__ import annotations

from control_plane.accounts.auth import login_required
from control_plane.kits.http.pages import page, page_blueprint

__all__ = ["bp"]

bp = page_blueprint("calendars_pages", __name__)


@bp.get("/calendar")
@login_required
def calendar() -> str:
    return page("calendar.html", title="My week")
