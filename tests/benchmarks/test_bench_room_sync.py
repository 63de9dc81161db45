"""Listening-room sync: six headless Chromium clients in one room, each behind its own delaying,
jittering proxy and with its own skewed page clock (harness in tests/e2e/test_room_sync.py).

Reports, per phase (join, play, seek, late join, host hand-over + seek), the offset between
clients' audible playheads against the shared machine clock: p50/p95/max over every client pair
once settled (2 s after the command), and the time until every pair stays within 10 ms.
Goal: p95 < 10 ms within 2 s. References: Snapcast's native clients < 0.2 ms; Jellyfin SyncPlay
corrects only beyond 60 ms."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.benchmarks.report import report
from tests.e2e.conftest import launch_chromium
from tests.e2e.test_room_sync import AUDIO_ARGS, GOAL_MS, Scenario, phase_rows
from tests.support.stack import Stack

pytestmark = pytest.mark.benchmark

# (one-way delay ms, jitter ms, page clock skew ms) per client: LAN to a poor mobile link.
NETWORK = [
    (1.0, 0.5, 0.0),
    (5.0, 2.0, 120.0),
    (15.0, 5.0, -250.0),
    (30.0, 10.0, 60.0),
    (60.0, 20.0, -500.0),
    (100.0, 30.0, 900.0),
    (20.0, 15.0, -40.0),
    (45.0, 5.0, 300.0),
]
CLIENTS = int(os.environ.get("BENCH_SYNC_CLIENTS", "6"))
WINDOW_S = float(os.environ.get("BENCH_SYNC_WINDOW_S", "5"))
SETTLE_S = 2.0


def test_bench_room_sync(stack: Stack, tmp_path: Path) -> None:
    network = NETWORK[: max(2, min(CLIENTS, len(NETWORK)))]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, AUDIO_ARGS)
        scenario = Scenario(stack, browser, tmp_path, network)
        try:
            scenario.setup()
            phases = scenario.run(window_s=WINDOW_S)
        finally:
            scenario.close()
            browser.close()

    rows = phase_rows(phases, settle_s=SETTLE_S)
    columns = [
        "phase",
        "clients",
        "pairs",
        "p50 ms",
        "p95 ms",
        "max ms",
        "converged s",
        "raw p95 ms",
        "goal",
        "met",
    ]
    table = []
    for row in rows:
        converged = row["converged_s"]
        met = row["p95"] < GOAL_MS and converged is not None and converged <= SETTLE_S
        table.append(
            [
                row["phase"],
                len(network),
                row["n"],
                round(row["p50"], 2),
                round(row["p95"], 2),
                round(row["max"], 2),
                "never" if converged is None else round(converged, 2),
                round(row["raw_p95"], 2) if row["raw_p95"] == row["raw_p95"] else "-",
                f"p95<{GOAL_MS:g} ms in {SETTLE_S:g} s",
                "yes" if met else "no",
            ]
        )
    links = ", ".join(f"{d:g}±{j:g} ms/{s:+g} ms skew" for d, j, s in network)
    notes = (
        f"Links (one-way delay ± jitter each direction / page clock skew): {links}.\n"
        "'join (clock)' compares the clients' estimates of server time (no audio yet); the other phases "
        "compare audible playheads (getOutputTimestamp, filtered mapping; 'raw' uses single stamps).\n"
        "References: Snapcast native < 0.2 ms; Jellyfin SyncPlay corrects only beyond 60 ms.\n"
        "All clients share one machine (2 cores, shared with other work): numbers are under contention."
    )
    report("room_sync", columns, table, notes)
    for row in rows:
        assert row["n"] > 0, f"{row['phase']}: nothing measured"
