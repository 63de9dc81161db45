"""Pages of the messages area: the conversation list and one conversation (``/messages`` and
``/messages/<id>``, the same page with the conversation opened).

Like every page, they only read: who may look. The browser sends, edits and reads through
/api/conversations and hears changes on /ws/notifications. A conversation someone may not
read is the same 404 page whether it exists or not.
"""

from __future__ import annotations

from control_plane.accounts.auth import login_required, viewer
from control_plane.kits.extensions import db
from control_plane.kits.http.pages import page, page_blueprint
from control_plane.messages.queries import conversation_access

__all__ = ["bp"]

bp = page_blueprint("messages_pages", __name__)


@bp.get("/messages")
@login_required
def conversations() -> str:
    return page("messages.html", title="Messages", conversation_id=None)


@bp.get("/messages/<int:conversation_id>")
@login_required
def conversation(conversation_id: int) -> tuple[str, int] | str:
    user = viewer()
    if user is None or conversation_access(db.session, conversation_id, user.id) is None:
        return page("404.html", title="Not found"), 404
    return page("messages.html", title="Messages", conversation_id=conversation_id)
