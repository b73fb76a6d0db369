"""Wrong admin passwords, counted per address: a lockout after a few (pure).

After ``limit`` wrong passwords from one address within ``window`` seconds, that address is
refused for ``lockout`` seconds, even with the right password; a successful login clears
its count. The clock is passed in, so the rule is tested without waiting.

Example:
    >>> guard = LoginGuard(limit=2, window=60, lockout=300)
    >>> guard.failed("10.0.0.1", now=0.0), guard.failed("10.0.0.1", now=1.0)
    (False, True)
    >>> guard.locked("10.0.0.1", now=2.0), guard.locked("10.0.0.1", now=302.0)
    (True, False)
"""

from __future__ import annotations

import hmac
import threading

from kapbot.handoff import RateLimit


def same_secret(given: str, expected: str) -> bool:
    """The password check, in constant time (no timing tells how much of it was right)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class LoginGuard:
    """Failures per address (a sliding window, as for call-back requests), and until when
    each address is locked out."""

    def __init__(self, limit: int = 5, window: float = 300.0, lockout: float = 900.0) -> None:
        self.lockout = lockout
        # The limit-th failure within the window is the one the window refuses.
        self._failures = RateLimit(limit=limit - 1, window=window)
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked(self, address: str, now: float) -> bool:
        """Whether ``address`` is refused at ``now``."""
        with self._lock:
            return self._until.get(address, 0.0) > now

    def failed(self, address: str, now: float) -> bool:
        """Count a wrong password; returns whether this one locks the address out."""
        if self._failures.allow(address, now):
            return False
        self._failures.forget(address)
        with self._lock:
            self._until[address] = now + self.lockout
        return True

    def succeeded(self, address: str) -> None:
        """A right password: the address starts afresh."""
        self._failures.forget(address)
        with self._lock:
            self._until.pop(address, None)
