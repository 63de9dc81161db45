"""The refund policy: pure arithmetic, tested without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["RefundDecision", "RefundPolicy", "decide_refund"]


@dataclass(frozen=True)
class RefundPolicy:
    full_hours: int  # full refund when cancelled at least this many hours before the start
    partial_hours: int  # partial refund from then until this many hours before
    partial_percent: int  # 0..100


@dataclass(frozen=True)
class RefundDecision:
    amount: int
    rule: str


def decide_refund(
    paid: int, policy: RefundPolicy, starts_at: datetime, now: datetime, *, by_owner: bool = False
) -> RefundDecision:
    """Minor units to refund. An owner cancelling the session always refunds in full."""
    if paid <= 0:
        return RefundDecision(0, "nothing paid")
    if by_owner:
        return RefundDecision(paid, "session cancelled by its owner: full refund")
    hours_left = (starts_at - now).total_seconds() / 3600
    if hours_left >= policy.full_hours:
        return RefundDecision(paid, f"full refund (cancelled {policy.full_hours} h or more before the start)")
    if hours_left >= policy.partial_hours and policy.partial_percent > 0:
        # Round down: never refund a fraction of a cent more than the policy says.
        amount = paid * policy.partial_percent // 100
        return RefundDecision(amount, f"{policy.partial_percent}% refund (less than {policy.full_hours} h before)")
    return RefundDecision(0, f"no refund (less than {policy.partial_hours} h before the start)")
