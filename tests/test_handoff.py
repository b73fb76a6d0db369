"""Asking for a person: the request's checks and rate limit (pure), the queue in a real
SQLite journal, and the webhook posted to a real local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kapbot.handoff import CallbackRequest, InvalidRequest, RateLimit, post_webhook
from kapbot.journal import Journal


@pytest.mark.parametrize(
    ("name", "contact", "consent", "problem"),
    [
        ("Sam", "555-201-3344", False, "tick the box"),
        ("", "555-201-3344", True, "first name"),
        ("R2D2", "555-201-3344", True, "first name"),
        ("Sam", "call me", True, "phone number or an e-mail"),
        ("Sam", "12", True, "phone number or an e-mail"),
        ("Sam", "sam@", True, "phone number or an e-mail"),
    ],
)
def test_a_request_says_what_to_fix(name: str, contact: str, consent: bool, problem: str) -> None:
    with pytest.raises(InvalidRequest, match=problem):
        CallbackRequest.checked(name, contact, "Mornings", consent)


def test_a_valid_request_keeps_only_what_a_call_back_needs() -> None:
    wanted = CallbackRequest.checked("  Sam  Lee ", "sam@example.org", "whenever", consent=True)
    assert wanted == CallbackRequest("Sam Lee", "sam@example.org", "Any time")


def test_the_rate_limit_counts_per_key_within_its_window() -> None:
    limit = RateLimit(limit=2, window=60)
    assert limit.allow("a", 0.0) and limit.allow("a", 1.0)
    assert not limit.allow("a", 2.0) and limit.allow("b", 2.0)
    assert limit.allow("a", 61.5)  # the first has left the window


def test_requests_queue_in_the_journal_and_are_marked_done(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    first, _ = journal.add_callback("Sam", "555-201-3344", "Mornings")
    second, _ = journal.add_callback("Ana", "ana@example.org", "Evenings")
    assert [row[0] for row in journal.callbacks()] == [second, first]
    assert journal.mark_callback_done(second) and not journal.mark_callback_done(second)
    waiting, done = journal.callbacks()
    assert waiting[:5] == (first, waiting[1], "Sam", "555-201-3344", "Mornings") and not waiting[5]
    assert done[0] == second and done[5]
    assert journal.purge(days=0) == 2


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_gets_the_request_and_a_dead_one_fails_quietly() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/callbacks"
        wanted = CallbackRequest("Sam", "555-201-3344", "Mornings")
        assert post_webhook(url, wanted, "2026-12-07T10:00:00+00:00")
        assert _Hook.received == [
            {
                "name": "Sam",
                "contact": "555-201-3344",
                "best_time": "Mornings",
                "created": "2026-12-07T10:00:00+00:00",
            }
        ]
    finally:
        server.shutdown()
        server.server_close()
    assert not post_webhook(url, wanted, "now", timeout=2)  # nobody listens any more
    assert not post_webhook("file:///etc/passwd", wanted, "now")
