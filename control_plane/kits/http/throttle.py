"""Failed logins slow down, per account and per client address.

Each failure counts against both keys; past a threshold every further failure locks that key
for ``base * 2^k`` seconds (capped), so a guesser's rate falls exponentially while an honest
person who mistyped a few times never notices. Counters live in the same storage as the rate
limits (Redis; in-process memory only when tests configure it) and expire after a window.
A success clears the account's counter, not the address's (one good login must not unlock a
guesser working through many accounts from one address).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from limits.storage import Storage

__all__ = ["LockoutPolicy", "LoginThrottle"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    base_s: int
    max_s: int
    window_s: int

    def lock_seconds(self, failures: int) -> int:
        """Lock after the ``failures``-th failure (0 while under the threshold)."""
        if failures < self.threshold:
            return 0
        exponent = min(failures - self.threshold, 30)  # 2^30 s is far past any cap
        return int(min(self.base_s * 2**exponent, self.max_s))


class LoginThrottle:
    def __init__(self, storage: Storage, account: LockoutPolicy, address: LockoutPolicy) -> None:
        self._storage = storage
        self._policies = {"account": account, "address": address}

    @staticmethod
    def _key(kind: str, value: str) -> str:
        # Hashed: storage keys should not carry email addresses in clear text.
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        return f"downbeat:login:{kind}:{digest}"

    def retry_after(self, email: str, address: str) -> int:
        """Seconds until a login for this account from this address may be tried (0: now)."""
        try:
            waits = [self._wait(self._key(kind, value)) for kind, value in (("account", email), ("address", address))]
        except Exception:  # storage down: fail open (logged) rather than lock everyone out
            log.exception("login throttle storage unavailable; not throttling")
            return 0
        return max(waits)

    def _wait(self, key: str) -> int:
        failures = self._storage.get(f"{key}:failures")
        if failures == 0:
            return 0
        lock = f"{key}:lock:{failures}"
        if self._storage.get(lock) == 0:
            return 0
        return max(1, math.ceil(self._storage.get_expiry(lock) - time.time()))

    def failed(self, email: str, address: str) -> None:
        try:
            for kind, value in (("account", email), ("address", address)):
                policy, key = self._policies[kind], self._key(kind, value)
                failures = self._storage.incr(f"{key}:failures", policy.window_s)
                seconds = policy.lock_seconds(failures)
                if seconds:
                    # One lock key per failure count: its own expiry is the lock's end.
                    self._storage.incr(f"{key}:lock:{failures}", seconds)
        except Exception:
            log.exception("login throttle storage unavailable; failure not counted")

    def succeeded(self, email: str) -> None:
        try:
            self._storage.clear(f"{self._key('account', email)}:failures")
        except Exception:
            log.exception("login throttle storage unavailable; counter not cleared")
