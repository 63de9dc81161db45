"""A room socket's inbox: other messages in order, only the newest visual frame per stream."""

from __future__ import annotations

import queue
import threading

import pytest

from control_plane.kits.realtime.hub import RoomFeed, visual_stream


def visual(stream: str, seq: int) -> str:
    return '{"type":"visual","stream_id":"%s","seq":%d}' % (stream, seq)  # noqa: UP031 - the wire form


def test_visual_frames_are_recognised_without_parsing() -> None:
    assert visual_stream(visual("ab12", 3)) == "ab12"
    assert visual_stream('{"type":"state","position_ms":0}') is None


def test_a_slow_socket_gets_the_newest_frame_per_stream_and_every_other_message_in_order() -> None:
    feed = RoomFeed()
    feed.put_nowait('{"type":"participants"}')
    for seq in range(50):
        feed.put_nowait(visual("s1", seq))
        feed.put_nowait(visual("s2", seq))
    feed.put_nowait('{"type":"queue"}')
    got = []
    while True:
        try:
            got.append(feed.get_nowait())
        except queue.Empty:
            break
    assert got == ['{"type":"participants"}', '{"type":"queue"}', visual("s1", 49), visual("s2", 49)]
    assert feed.skipped_visuals == 98


def test_ordered_messages_are_bounded_and_visuals_never_count_against_it() -> None:
    feed = RoomFeed(limit=2)
    feed.put_nowait("a")
    feed.put_nowait("b")
    with pytest.raises(queue.Full):
        feed.put_nowait("c")
    feed.put_nowait(visual("s1", 0))  # still accepted
    assert feed.qsize() == 3


def test_get_blocks_until_a_frame_arrives() -> None:
    feed = RoomFeed()
    with pytest.raises(queue.Empty):
        feed.get(timeout=0.01)
    threading.Timer(0.05, feed.put_nowait, args=(visual("s1", 1),)).start()
    assert feed.get(timeout=5) == visual("s1", 1)
