from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from control_plane.catalog.services.refund_policy import RefundPolicy, decide_refund

START = datetime(2031, 1, 10, 18, tzinfo=UTC)
POLICY = RefundPolicy(full_hours=48, partial_hours=24, partial_percent=50)


@pytest.mark.parametrize(
    ("hours_before", "expected"),
    [(100, 2500), (48, 2500), (47.9, 1250), (24, 1250), (23.9, 0), (0, 0), (-5, 0)],
)
def test_refund_windows(hours_before: float, expected: int) -> None:
    now = START - timedelta(hours=hours_before)
    assert decide_refund(2500, POLICY, START, now).amount == expected


def test_partial_refunds_round_down_and_owner_cancellation_refunds_in_full() -> None:
    now = START - timedelta(hours=30)
    assert decide_refund(999, POLICY, START, now).amount == 499
    assert decide_refund(999, POLICY, START, START, by_owner=True).amount == 999
    assert decide_refund(0, POLICY, START, now).amount == 0
