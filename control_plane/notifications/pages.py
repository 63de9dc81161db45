"""Pages of the notification area: the inbox, email preferences, and the local mail sink.

Like every page, they only read; the browser changes things through /api/notifications.
"""

from __future__ import annotations

from control_plane.accounts.auth import login_required
from control_plane.kits.extensions import current_settings
from control_plane.kits.http.pages import page, page_blueprint
from downbeat.mailsink import read_mails

__all__ = ["bp"]

bp = page_blueprint("notifications_pages", __name__)


@bp.get("/inbox")
@login_required
def inbox() -> str:
    return page("inbox.html", title="Inbox")


@bp.get("/settings/notifications")
@login_required
def notification_settings() -> str:
    return page("notification_prefs.html", title="Notification settings")


@bp.get("/mail")
@login_required
def mail() -> tuple[str, int] | str:
    """Development only: what the local mail sink received (every recipient's mail)."""
    settings = current_settings()
    if settings.env == "prod" or not settings.smtp.local_sink:
        return page("404.html", title="Not found"), 404
    return page("mail.html", title="Mail (local sink)", mails=read_mails(settings.mail_dir), folder=settings.mail_dir)
