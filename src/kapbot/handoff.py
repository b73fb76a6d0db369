"""A patient asks a person to call or write back: the request, checked (pure), and the
clinic's webhook (the one I/O function, at the edge).

Only what a call back needs is taken: a first name, a phone number or e-mail address, the
best time and the patient's consent to be contacted. Nothing of the conversation goes with
it, and the form asks for no health details.

Example:
    >>> CallbackRequest.checked("Sam", "555-201-3344", "Mornings", consent=True).contact
    '555-201-3344'
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.request
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)

BEST_TIMES = ("Any time", "Mornings", "Afternoons", "Evenings")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")


class InvalidRequest(ValueError):
    """What is wrong with a callback request, in words for the patient."""


@dataclass(frozen=True)
class CallbackRequest:
    """A request for the clinic to call or write back."""

    name: str
    contact: str
    best_time: str

    @classmethod
    def checked(cls, name: str, contact: str, best_time: str, consent: bool) -> CallbackRequest:
        """The request, or :class:`InvalidRequest` saying what to fix."""
        name = " ".join((name or "").split())
        contact = (contact or "").strip()
        if not consent:
            raise InvalidRequest("Please tick the box to agree that the clinic may contact you.")
        if not name or len(name) > 60 or any(ch.isdigit() for ch in name):
            raise InvalidRequest("Please give a first name (letters only).")
        digits = sum(ch.isdigit() for ch in contact)
        if not (_EMAIL.match(contact) or (_PHONE.match(contact) and 7 <= digits <= 15)):
            raise InvalidRequest("Please give a phone number or an e-mail address.")
        if best_time not in BEST_TIMES:
            best_time = BEST_TIMES[0]
        return cls(name, contact, best_time)


@dataclass
class RateLimit:
    """At most ``limit`` requests per key (a browser session, an address) in ``window``
    seconds; the clock is passed in."""

    limit: int
    window: float
    _seen: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str, now: float) -> bool:
        """Count a request for ``key``; whether it is within the limit."""
        with self._lock:
            recent = [t for t in self._seen.get(key, []) if now - t < self.window]
            if len(recent) >= self.limit:
                self._seen[key] = recent
                return False
            self._seen[key] = [*recent, now]
            return True

    def forget(self, key: str) -> None:
        """``key`` starts afresh."""
        with self._lock:
            self._seen.pop(key, None)


def post_webhook(url: str, request: CallbackRequest, created: str, timeout: float = 5.0) -> bool:
    """POST the request as JSON to the clinic's webhook; whether it was accepted (2xx).
    A failure is logged, never raised: the request is in the admin page's queue anyway."""
    if not url.startswith(("https://", "http://")):
        log.warning("the callback webhook is not an http(s) address; not posted")
        return False
    body = json.dumps({**asdict(request), "created": created}).encode("utf-8")
    post = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(post, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except Exception as exc:  # the patient's request is kept whatever the webhook does
        log.warning("the callback webhook failed (%s); the request is on the admin page", exc)
        return False
