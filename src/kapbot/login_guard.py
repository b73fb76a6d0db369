"""Wrong admin passwords, counted per address: a lockout after a few (pure).

After ``limit`` wrong passwords from one address within ``window`` seconds, that address is
refused for ``lockout`` seconds, even with the right password; a successful login clears
its count. The clock is passed in, so the rule is tested without waiting.

Example:
    >>> guard = LoginGuard(limit=2, window=60, lockout=300)
    >>> guard.failed("10.0.0.1", now=0.0); guard.failed("10.0.0.1", now=1.0)
    >>> guard.locked("10.0.0.1", now=2.0), guard.locked("10.0.0.1", now=302.0)
    (True, False)
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field


def same_secret(given: str, expected: str) -> bool:
    """The password check, in constant time (no timing tells how much of it was right)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass
class LoginGuard:
    """Failures per address, and until when each address is locked out."""

    limit: int = 5
    window: float = 300.0
    lockout: float = 900.0
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked(self, address: str, now: float) -> bool:
        """Whether ``address`` is refused at ``now``."""
        with self._lock:
            return self._until.get(address, 0.0) > now

    def failed(self, address: str, now: float) -> bool:
        """Count a wrong password; returns whether this one locks the address out."""
        with self._lock:
            recent = [t for t in self._failures.get(address, []) if now - t < self.window]
            recent.append(now)
            self._failures[address] = recent
            if len(recent) >= self.limit:
                self._until[address] = now + self.lockout
                self._failures[address] = []
                return True
            return False

    def succeeded(self, address: str) -> None:
        """A right password: the address starts afresh."""
        with self._lock:
            self._failures.pop(address, None)
            self._until.pop(address, None)
