"""Messages lose and double nothing when a process dies mid-conversation (issue 15, "Faults").

The real processes (control plane under gunicorn, outbox relay, notification service) run
with their own broker and Redis (``tests.support.private_stack``), so the kills here reach
nothing else. Clients act as the browser does: a send that meets a connection error is sent
again with the same ``client_id``; a socket that drops is opened again, and once the server
has it subscribed (its ``epoch`` frame) the conversation is fetched ``?after=`` the newest id
it fetched over HTTP (as conversation.js does: live copies of two messages may arrive out of
id order, so the newest id *shown* is no safe anchor), dropping ids already shown.

- The notification service SIGKILLed and restarted while two people with open sockets talk
  in a group: the store holds every message once, each open socket sent every message once
  although the channel carried each at least twice (fast path, durable path, and again for
  events the restarted service read a second time), and the offline third member's inbox
  holds exactly one mention per message.
- The control plane SIGKILLed (gunicorn's whole process group) and restarted while two
  people talk in a direct conversation, the kill aimed at the moment a send is committed (so
  in most runs its answer and its fast-path publish are lost): every ``client_id`` is stored once and every retry
  got that first message back, no socket connection sent an id twice, and after reconnecting
  and catching up each client shows exactly the stored conversation, in id order.

Waits are bounded polls on facts (acknowledged sends, stored rows, copies seen on Redis); a
"fence" published on the user's channel after the durable path has finished proves that a
socket has forwarded everything that came before it, so "no duplicate" is not a timeout.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import itertools
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import websocket

from contracts.channels import user_channel
from tests.support.people import register_person
from tests.support.private_stack import PrivateStack, private_stack
from tests.support.stack import http_json

pytestmark = pytest.mark.e2e
PROCESSES = ("control-plane", "relay", "notifications")
PACE_S = 0.1  # each person sends about ten messages a second
BEFORE_KILL = 15  # messages acknowledged before the kill
AFTER_RESTART = 15  # messages acknowledged after the restarted process is ready
FENCE_BASE = 900_000_000  # the fences' up_to: far beyond any message id of this test
WAIT_S = 60.0


@pytest.fixture(scope="module")
def crash_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    # Tokens outlive the module; the limits are the test defaults (far above ten a second).
    env = {"DOWNBEAT_AUTH__ACCESS_TOKEN_MINUTES": "60"}
    with private_stack(tmp_path_factory.mktemp("messages-faults"), PROCESSES, env) as stack:
        yield stack


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _uid(person: dict[str, Any]) -> int:
    return int(person["user"]["id"])


def _conversation(stack: PrivateStack, owner: dict[str, Any], body: dict[str, Any]) -> int:
    status, answer = http_json("POST", f"{stack.base}/api/conversations", body, token=owner["access_token"])
    assert status in (200, 201), answer
    return int(answer["id"])


def _history(stack: PrivateStack, person: dict[str, Any], conversation_id: int, after: int = 0) -> list[dict[str, Any]]:
    """Every message after ``after``, in id order (paging with ``?after=``)."""
    items: list[dict[str, Any]] = []
    while True:
        status, page = http_json(
            "GET",
            f"{stack.base}/api/conversations/{conversation_id}/messages?after={after}&limit=200",
            token=person["access_token"],
        )
        assert status == 200, page
        items += page["items"]
        if not page["has_more"]:
            return items
        after = page["items"][-1]["id"]


def _stored(stack: PrivateStack, conversation_id: int) -> list[tuple[int, str]]:
    """(id, client_id) of every row of the conversation, straight from the store."""
    with contextlib.closing(sqlite3.connect(stack.data_dir / "downbeat.db", timeout=30)) as conn:
        rows = conn.execute(
            "SELECT id, client_id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        ).fetchall()
    return [(int(i), str(c)) for i, c in rows]


# --- Redis: every copy the user channels carry -------------------------------------------


class ChannelTap:
    """Subscribed to the members' channels before anything is sent: counts the copies of each
    message that reach each channel (fast path, and durable path with ``redelivered``)."""

    def __init__(self, redis_url: str, user_ids: list[int]) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self._pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(*(user_channel(u) for u in user_ids))
        self.fast: dict[int, Counter[int]] = {u: Counter() for u in user_ids}
        self.durable: dict[int, Counter[int]] = {u: Counter() for u in user_ids}
        self._confirmed = 0
        self._expected = len(user_ids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_for(lambda: self._confirmed >= self._expected, "the Redis tap's subscriptions", 10)

    def _read(self) -> None:
        while not self._stop.is_set():
            item = self._pubsub.get_message(timeout=0.2)
            if item is None:
                continue
            if item["type"] == "subscribe":
                self._confirmed += 1
                continue
            if item["type"] != "message":
                continue
            uid = int(item["channel"].decode().rsplit(":", 1)[1])
            message = json.loads(item["data"])
            if message.get("type") == "message":
                copies = self.durable if message.get("redelivered") else self.fast
                copies[uid][int(message["message"]["id"])] += 1

    def fence(self, user_id: int, conversation_id: int, number: int) -> int:
        """Publish a marker on the user's channel after everything else; a socket that has
        forwarded it has forwarded every copy published before it (one channel, one order)."""
        up_to = FENCE_BASE + number
        text = json.dumps({"type": "read", "conversation_id": conversation_id, "user_id": user_id, "up_to": up_to})
        self.client.publish(user_channel(user_id), text)
        return up_to

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pubsub.close()
        self.client.close()


# --- a person: sends like the browser, reads like the browser ----------------------------


@dataclass
class Sent:
    client_id: str
    message_id: int
    status: int  # 201: stored by this call; 200: a retry found the message stored before
    attempts: int
    acked_at: float
    took_s: float  # the answered attempt, from writing the request to the answer


@dataclass
class Sender:
    """Sends one message after another at a steady pace; a connection error or a 5xx is sent
    again with the same client_id until the server answers."""

    stack: PrivateStack
    person: dict[str, Any]
    conversation_id: int
    prefix: str
    mention: str = ""
    sent: list[Sent] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    in_flight: threading.Event = field(default_factory=threading.Event)  # a request is on its way
    current: str = ""  # the client_id of the last request sent
    error: BaseException | None = None

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        try:
            number = 0
            while not self.stop.is_set():
                self.sent.append(self._send(f"{self.prefix}-{number}", f"{self.mention}message {number}"))
                number += 1
                time.sleep(PACE_S)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _send(self, client_id: str, text: str) -> Sent:
        url = f"{self.stack.base}/api/conversations/{self.conversation_id}/messages"
        token = self.person["access_token"]
        deadline = time.monotonic() + WAIT_S
        attempts = 0
        while True:
            attempts += 1
            self.current = client_id
            self.in_flight.set()
            began = time.monotonic()
            try:
                status, body = http_json("POST", url, {"body": text, "client_id": client_id}, token)
            except (OSError, http.client.HTTPException):
                status, body = 0, None  # refused, reset, or cut mid-answer: the browser resends
            finally:
                self.in_flight.clear()
            if status in (200, 201):
                now = time.monotonic()
                return Sent(client_id, int(body["id"]), status, attempts, now, now - began)
            assert status == 0 or status >= 500, (status, body)
            assert time.monotonic() < deadline, f"{client_id} not accepted within {WAIT_S} s"
            time.sleep(0.05)


class Tab:
    """One /ws/notifications connection, read in a thread; returns once the server has it
    subscribed to the user's channel (the ``epoch`` frame comes after the subscription)."""

    def __init__(self, stack: PrivateStack, person: dict[str, Any], conversation_id: int) -> None:
        self.conversation_id = conversation_id
        self.ids: list[int] = []  # conversation messages, as this connection sent them
        self.messages: list[dict[str, Any]] = []
        self.fences: set[int] = set()
        self.leaked: list[dict[str, Any]] = []  # frames carrying the internal ``redelivered`` flag
        self.closed = threading.Event()
        self._subscribed = threading.Event()
        self._ws = websocket.create_connection(stack.base.replace("http", "ws") + "/ws/notifications", timeout=60)
        self._ws.send(json.dumps({"type": "auth", "token": person["access_token"], "since": None, "epoch": None}))
        self._ws.settimeout(None)  # a quiet moment is no reason to stop reading; close() ends it
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._subscribed.wait(30):
            raise AssertionError("the socket sent no epoch frame within 30 s")

    def _read(self) -> None:
        try:
            while raw := self._ws.recv():
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "epoch":
                    self._subscribed.set()
                elif kind == "read" and frame.get("up_to", 0) >= FENCE_BASE:
                    self.fences.add(int(frame["up_to"]))
                elif kind == "message" and frame["message"]["conversation_id"] == self.conversation_id:
                    if "redelivered" in frame:
                        self.leaked.append(frame)
                    self.ids.append(int(frame["message"]["id"]))
                    self.messages.append(frame["message"])
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            self.closed.set()
            self._subscribed.set()

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self._ws.close()
        self._thread.join(5)


class Browser:
    """A conversation page: keeps a socket open (opening a new one when it drops), catches up
    with ``?after=`` the newest id fetched over HTTP once each new socket is subscribed, and
    shows each id once (a copy of an id already shown is dropped, and counted)."""

    def __init__(self, stack: PrivateStack, person: dict[str, Any], conversation_id: int) -> None:
        self.stack, self.person, self.conversation_id = stack, person, conversation_id
        self.shown: dict[int, dict[str, Any]] = {}
        self.tabs: list[Tab] = []
        self.dropped = 0  # copies of ids already shown (socket after catch-up, or the other way)
        self.caught_up = 0  # messages that arrived through a catch-up fetch
        # Ids commit in order within a conversation, so what HTTP answered is gap-free up to
        # here; live copies are not (two posts' publishes can cross).
        self.fetched_newest = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._connect()  # the first socket is open before anything is sent
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def tab(self) -> Tab:
        return self.tabs[-1]

    def _show(self, message: dict[str, Any], fetched: bool) -> None:
        with self._lock:
            if message["id"] in self.shown:
                self.dropped += 1
            else:
                self.shown[message["id"]] = message
                self.caught_up += int(fetched)

    def _connect(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                self.tabs.append(Tab(self.stack, self.person, self.conversation_id))
                return
            except (OSError, websocket.WebSocketException):
                assert time.monotonic() < deadline, "could not open a socket again"
                time.sleep(0.1)

    def _catch_up(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                for message in _history(self.stack, self.person, self.conversation_id, after=self.fetched_newest):
                    self._show(message, fetched=True)
                    self.fetched_newest = max(self.fetched_newest, message["id"])
                return
            except (OSError, http.client.HTTPException):
                assert time.monotonic() < deadline, "could not catch up"
                time.sleep(0.1)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                tab, seen = self.tab, 0
                while not (tab.closed.is_set() or self._stop.is_set()):
                    for message in tab.messages[seen:]:
                        self._show(message, fetched=False)
                        seen += 1
                    time.sleep(0.01)
                for message in tab.messages[seen:]:
                    self._show(message, fetched=False)
                if self._stop.is_set():
                    return
                self._connect()
                self._catch_up()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for tab in self.tabs:
            tab.close()


# --- checks shared by both scenarios ---------------------------------------------------------


def _shows_all(browser: Browser, count: int) -> bool:
    return len(browser.shown) >= count


def _overtaken(ids: list[int]) -> list[int]:
    """Ids that arrived after a larger one on the same connection."""
    return [b for a, b in itertools.pairwise(ids) if b < a]


def _reconnected(browser: Browser) -> bool:
    return len(browser.tabs) >= 2 and not browser.tab.closed.is_set()


def _sent_all(senders: list[Sender]) -> list[Sent]:
    return [s for sender in senders for s in sender.sent]


def _run_conversation(senders: list[Sender], fault: Callable[[], None]) -> tuple[int, int]:
    """Start the senders, call ``fault`` after BEFORE_KILL acknowledged sends, keep sending
    until AFTER_RESTART more are acknowledged, stop. Returns the acknowledged counts at the
    fault's start and end."""
    threads = [s.start() for s in senders]

    def acked() -> int:
        return len(_sent_all(senders))

    wait_for(lambda: acked() >= BEFORE_KILL, f"{BEFORE_KILL} acknowledged sends")
    at_fault = acked()
    fault()
    at_ready = acked()
    wait_for(lambda: acked() >= at_ready + AFTER_RESTART, f"{AFTER_RESTART} sends after the restart")
    for sender in senders:
        sender.stop.set()
    for thread in threads:
        thread.join(WAIT_S)
    for sender in senders:
        assert sender.error is None, repr(sender.error)
    return at_fault, at_ready


def _check_store(stack: PrivateStack, conversation_id: int, sent: list[Sent]) -> list[int]:
    """Each client_id stored once, each send acknowledged with that row; returns the ids."""
    rows = _stored(stack, conversation_id)
    per_client = Counter(c for _, c in rows)
    assert [c for c, n in per_client.items() if n > 1] == []  # no duplicate row
    assert set(per_client) == {s.client_id for s in sent}  # nothing lost, nothing extra
    stored = dict((c, i) for i, c in rows)
    assert {s.client_id: s.message_id for s in sent} == stored  # every retry got the first message
    return [i for i, _ in rows]


def _wait_durable(tap: ChannelTap, user_ids: list[int], ids: list[int]) -> None:
    """The durable path has re-published every message to every member's channel."""
    wait_for(
        lambda: all(set(ids) <= set(tap.durable[u]) for u in user_ids),
        "the durable copy of every message on every member's channel",
    )


def _fence(tap: ChannelTap, tabs: dict[int, Tab], conversation_id: int) -> None:
    """Each open tab has forwarded everything its channel carried so far."""
    for number, (uid, tab) in enumerate(tabs.items()):
        up_to = tap.fence(uid, conversation_id, number)
        wait_for(functools.partial(set.__contains__, tab.fences, up_to), f"the fence on user {uid}'s socket")


# --- scenario A: the notification service dies -----------------------------------------------


def test_notification_service_sigkill_mid_conversation_loses_and_doubles_nothing(crash_stack: PrivateStack) -> None:
    stack = crash_stack
    ana = register_person(stack.base, ["user"], "Ana Fault")
    ben = register_person(stack.base, ["user"], "Ben Fault")
    cleo = register_person(stack.base, ["user"], "Cleo Away")  # never online
    cid = _conversation(stack, ana, {"kind": "group", "title": "Fault drill", "member_ids": [_uid(ben), _uid(cleo)]})
    members = [_uid(ana), _uid(ben), _uid(cleo)]
    tap = ChannelTap(stack.redis_url, members)
    tabs = {_uid(ana): Tab(stack, ana, cid), _uid(ben): Tab(stack, ben, cid)}
    # Every message names Cleo: each one is a notification of its own for her (a mention is
    # never folded into a burst), so her inbox must hold exactly one per message.
    senders = [
        Sender(stack, ana, cid, "ana", mention="@Cleo Away "),
        Sender(stack, ben, cid, "ben", mention="@Cleo Away "),
    ]
    downtime: dict[str, float] = {}

    def kill_notifications() -> None:
        wait_for(lambda: bool(_inbox_mentions(stack, cleo, cid)), "a first notification stored before the kill")
        downtime["killed"] = time.monotonic()
        stack.crash("notifications")
        stack.restart("notifications")
        downtime["ready"] = time.monotonic()

    try:
        at_fault, _ = _run_conversation(senders, kill_notifications)
        sent = _sent_all(senders)
        during = [s for s in sent if downtime["killed"] <= s.acked_at <= downtime["ready"]]
        assert during, "no message was sent while the notification service was down: nothing was tested"

        ids = _check_store(stack, cid, sent)
        assert [m["id"] for m in _history(stack, ana, cid)] == ids  # the API reads the same, in id order

        _wait_durable(tap, members, ids)
        _fence(tap, tabs, cid)
        for uid, tab in tabs.items():
            assert not tab.closed.is_set()
            assert tab.leaked == []  # browsers never see the internal flag
            copies = Counter(tab.ids)
            assert [i for i, n in copies.items() if n > 1] == []  # each message sent once ...
            assert sorted(copies) == ids  # ... and every one of them
            offered = tap.fast[uid] + tap.durable[uid]
            assert all(offered[i] >= 2 for i in ids)  # though the channel carried each twice or more

        mentions = _inbox_mentions(stack, cleo, cid)
        assert [m for m, n in Counter(mentions).items() if n > 1] == []  # no duplicate notification
        assert sorted(mentions) == ids  # and one for each message
        for person in (ana, ben):  # online people hear messages on their socket, not in the inbox
            assert _inbox_mentions(stack, person, cid, kinds=("message.received", "message.mentioned")) == []
        twice = sum(1 for i in ids if tap.durable[_uid(ana)][i] > 1)
        print(
            f"\n{len(ids)} messages ({at_fault} before the kill, {len(during)} while the service was down, "
            f"restart took {downtime['ready'] - downtime['killed']:.1f} s); durable copies published twice "
            f"after the restart: {twice}; Cleo's inbox: {len(mentions)} mentions"
        )
    finally:
        for sender in senders:
            sender.stop.set()
        for tab in tabs.values():
            tab.close()
        tap.close()


def _inbox_mentions(
    stack: PrivateStack, person: dict[str, Any], cid: int, kinds: tuple[str, ...] = ("message.mentioned",)
) -> list[int]:
    """The message ids of the person's notifications about the conversation (whole inbox);
    a 503 (the service busy or restarting) is asked again, within WAIT_S."""
    found: list[int] = []
    since = 0
    deadline = time.monotonic() + WAIT_S
    while True:
        status, page = http_json(
            "GET", f"{stack.base}/api/notifications?since={since}&limit=500", token=person["access_token"]
        )
        if status == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            continue
        assert status == 200, page
        for item in page["items"]:
            if item["kind"] in kinds and item["data"].get("conversation_id") == cid:
                found.append(int(item["data"]["message_id"]))
        if not page["next_cursor"]:
            return found
        since = int(page["next_cursor"])


# --- scenario B: the control plane dies ------------------------------------------------------


def _wait_commit_of_a_send(stack: PrivateStack, cid: int, senders: list[Sender]) -> None:
    """Returns as soon as the row of a send still in flight is committed (a tight poll of the
    store, so the kill that follows lands before the answer in most runs)."""
    deadline = time.monotonic() + 10
    with contextlib.closing(sqlite3.connect(stack.data_dir / "downbeat.db", timeout=30)) as conn:
        while time.monotonic() < deadline:
            for sender in senders:
                client_id = sender.current
                if not sender.in_flight.is_set():
                    continue
                found = conn.execute(
                    "SELECT 1 FROM messages WHERE conversation_id = ? AND client_id = ?", (cid, client_id)
                ).fetchone()
                if found is not None:
                    return
            time.sleep(0.0005)
    raise AssertionError("no send in flight was committed within 10 s")


def test_control_plane_sigkill_mid_conversation_loses_and_doubles_nothing(crash_stack: PrivateStack) -> None:
    stack = crash_stack
    dana = register_person(stack.base, ["user"], "Dana Crash")
    eli = register_person(stack.base, ["user"], "Eli Crash")
    cid = _conversation(stack, dana, {"kind": "direct", "member_ids": [_uid(eli)]})
    members = [_uid(dana), _uid(eli)]
    tap = ChannelTap(stack.redis_url, members)
    browsers = {_uid(dana): Browser(stack, dana, cid), _uid(eli): Browser(stack, eli, cid)}
    senders = [Sender(stack, dana, cid, "dana"), Sender(stack, eli, cid, "eli")]

    def kill_control_plane() -> None:
        # Aimed at the moment a send is committed: the server dies inside that request, after
        # its commit and (most often) before its answer and its fast-path publish, the window
        # the retry with the same client_id and the durable path exist for.
        _wait_commit_of_a_send(stack, cid, senders)
        stack.crash("control-plane")
        stack.restart("control-plane")

    try:
        at_fault, at_ready = _run_conversation(senders, kill_control_plane)
        sent = _sent_all(senders)
        retried = [s for s in sent if s.attempts > 1]
        assert retried, "no send met the dead server: nothing was tested"

        ids = _check_store(stack, cid, sent)
        for browser in browsers.values():
            wait_for(functools.partial(_reconnected, browser), "a socket open again after the crash")
            wait_for(functools.partial(_shows_all, browser, len(ids)), "every message shown after the reconnect")
        _wait_durable(tap, members, ids)
        _fence(tap, {uid: b.tab for uid, b in browsers.items()}, cid)

        for browser in browsers.values():
            assert browser.error is None, repr(browser.error)
            # Exactly the stored conversation, each message once. (Should one ever be missing: a
            # live copy that overtook a smaller id on its socket, just before the socket died,
            # makes ``?after=`` the newest id shown skip that smaller id; the page itself
            # anchors at the newest id fetched over HTTP. The message names both.)
            assert sorted(browser.shown) == ids, (
                f"missing {sorted(set(ids) - set(browser.shown))}, "
                f"overtaken on a socket: {[_overtaken(tab.ids) for tab in browser.tabs]}"
            )
            assert [browser.shown[i]["client_id"] for i in ids] == [c for _, c in _stored(stack, cid)]
            for tab in browser.tabs:  # no connection, before or after the crash, sent an id twice
                assert [i for i, n in Counter(tab.ids).items() if n > 1] == []
        found_stored = [s for s in retried if s.status == 200]
        took = sorted(s.took_s * 1000 for s in sent if s.attempts == 1)
        print(
            f"\nsend p50 {took[len(took) // 2]:.1f} ms; "
            f"{len(ids)} messages ({at_fault} acknowledged before the kill, {at_ready} when the server was back); "
            f"{len(retried)} sends retried, {len(found_stored)} of them found stored by the dead server; "
            + "; ".join(
                f"user {uid}: {len(b.tabs)} sockets, {b.caught_up} caught up by ?after=, {b.dropped} copies dropped"
                for uid, b in browsers.items()
            )
        )
    finally:
        for sender in senders:
            sender.stop.set()
        for browser in browsers.values():
            browser.close()
        tap.close()
