"""The supervisor behind `downbeat up`, with real child processes."""

from __future__ import annotations

import sys
import time

from downbeat.supervisor import Child, Supervisor


def test_children_are_prefixed_restarted_after_a_crash_and_stopped() -> None:
    lines: list[str] = []
    supervisor = Supervisor(out=lines.append)
    crasher = supervisor.start(Child("crasher", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"]))
    sleeper = supervisor.start(Child("sleeper", [sys.executable, "-c", "import time; print('up'); time.sleep(60)"]))
    first_pid = crasher.process.pid if crasher.process else None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and crasher.restarts < 2:
        supervisor.watch_once()
        time.sleep(0.1)
    supervisor.stop_all(timeout=5)
    assert crasher.restarts >= 2
    assert crasher.process is None or crasher.process.pid != first_pid
    assert any(line.startswith("crasher") and line.endswith("boom") for line in lines)
    assert any("crasher exited with 3; restarting in 1s" in line for line in lines)
    assert any(line.startswith("sleeper") and line.endswith("up") for line in lines)
    assert sleeper.process is not None and sleeper.process.returncode is not None  # stopped, not orphaned
