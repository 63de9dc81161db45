"""/ws/projects/{id}/files: tells an open file page what changed on the project's files
(``{"type": "file.changed", "file_id", "change", ...}``); the page refetches through the API,
and refetches everything after a reconnect, so a message lost on the way costs freshness only.

The first message is ``{"type": "auth", "token"}`` as on every socket. A stranger hears the
same refusal as for a project that does not exist. Membership and the login are checked
again every few seconds, so someone removed from the project (or logged out) stops hearing.
"""

from __future__ import annotations

import queue
import time

from flask import Blueprint
from flask_jwt_extended import decode_token
from simple_websocket import ConnectionClosed, Server

from contracts.channels import project_files_channel
from control_plane.accounts.auth import authenticate_socket, token_is_revoked
from control_plane.files.queries import visible_project
from control_plane.kits.extensions import db, sock
from control_plane.kits.realtime.hub import RESYNC
from control_plane.kits.realtime.protocol import SocketRefused, answer_pings, hub, refuse

__all__ = ["bp", "files_socket"]

RECHECK_S = 3.0


def _may_see(project_id: int, user_id: int) -> bool:
    try:
        return visible_project(db.session, project_id, user_id) is not None
    finally:
        db.session.remove()  # sockets live long: hand the connection back at once


def files_socket(ws: Server, project_id: int) -> None:
    try:
        user, auth = authenticate_socket(ws)
        if not _may_see(project_id, user.id):
            raise SocketRefused("not-found", "no project here, or not one you can see")
    except SocketRefused as exc:
        refuse(ws, exc)
        return
    family = {"fam": str(decode_token(auth["token"]).get("fam", ""))}
    channel, own = project_files_channel(project_id), project_files_channel(project_id, user.id)
    live = hub().subscribe(channel)
    mine = hub().subscribe(own)
    try:
        ws.send('{"type": "ready"}')
        next_check = time.monotonic() + RECHECK_S
        while True:
            try:
                item = mine.get_nowait()
            except queue.Empty:
                try:
                    item = live.get(timeout=0.5)
                except queue.Empty:
                    item = None
            if item is RESYNC:
                ws.send('{"type": "file.changed", "file_id": null, "change": "resync"}')
            elif isinstance(item, bytes | str):
                ws.send(item if isinstance(item, str) else item.decode())
            answer_pings(ws)
            if time.monotonic() >= next_check:
                try:
                    revoked = token_is_revoked(family)
                finally:
                    db.session.remove()
                if revoked or not _may_see(project_id, user.id):
                    refuse(ws, SocketRefused("not-found", "you no longer see this project"))
                    return
                next_check = time.monotonic() + RECHECK_S
    except (ConnectionClosed, OSError):
        pass
    finally:
        hub().unsubscribe(channel, live)
        hub().unsubscribe(own, mine)


bp = Blueprint("files_sockets", __name__)
sock.route("/ws/projects/<int:project_id>/files", bp=bp)(files_socket)
