"""The journal: patient feedback and the questions kapbot could not answer, in SQLite.

One file under ``KAPBOT_HOME`` (``journal.sqlite``), with numbered migrations so older
files are upgraded in place. Feedback rows keep the question, the answer and its
citations as the patient saw them; content gaps keep questions that got "our materials
don't cover that", so the content team sees what to write next; call-back requests keep
what a person needs to call back. Identifiers in feedback and gaps are redacted
(kapbot.redact), the file is readable by its owner only, rows older than the retention
period are deleted. Crisis messages are never recorded here.

Example:
    >>> journal = Journal(Path("/tmp/kb/journal.sqlite"))  # doctest: +SKIP
    >>> journal.add_feedback(FeedbackRecord(question="q", answer="a", rating=1))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kapbot.redact import redact

MIGRATIONS = (
    # 1: feedback and content gaps
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created TEXT NOT NULL,
        rating INTEGER,            -- 1 thumbs up, -1 thumbs down, NULL comment only
        comment TEXT NOT NULL DEFAULT '',
        question TEXT NOT NULL,
        history TEXT NOT NULL DEFAULT '[]',
        answer TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'answer',
        citations TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created TEXT NOT NULL,
        question TEXT NOT NULL,
        query TEXT NOT NULL DEFAULT '',
        similarity REAL NOT NULL DEFAULT 0
    );
    """,
    # 2: how many crisis replies were shown each day (a count: nothing of any message)
    """
    CREATE TABLE crisis_days (
        day TEXT PRIMARY KEY,      -- YYYY-MM-DD, UTC
        replies INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 3: requests for a person to call or write back (no conversation text)
    """
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created TEXT NOT NULL,
        name TEXT NOT NULL,
        contact TEXT NOT NULL,
        best_time TEXT NOT NULL,
        done TEXT                  -- when a person dealt with it; NULL: waiting
    );
    """,
)


@dataclass(frozen=True)
class FeedbackRecord:
    """A patient's rating (and optional comment) of one answer."""

    question: str
    answer: str
    rating: int | None = None
    comment: str = ""
    kind: str = "answer"
    history: tuple[dict[str, str], ...] = ()
    citations: tuple[dict[str, Any], ...] = ()
    created: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        if self.rating not in (None, 1, -1):
            raise ValueError(f"rating must be 1, -1 or None, got {self.rating!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "rating": self.rating,
            "comment": self.comment,
            "question": self.question,
            "history": list(self.history),
            "answer": self.answer,
            "kind": self.kind,
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class Gap:
    """A question kapbot abstained on, with how often it was asked."""

    question: str
    count: int
    last_asked: str
    similarity: float = 0.0


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Journal:
    """Reads and writes the journal file; safe to share between threads."""

    def __init__(self, path: Path, retention_days: int = 30) -> None:
        self.path = path
        self.retention_days = retention_days
        self._purged_on = ""
        path.parent.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only (SQLite gives its journal files the same mode).
        path.touch(mode=0o600, exist_ok=True)
        os.chmod(path, 0o600)
        self._lock = threading.Lock()
        with self._connect() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS, start=1):
                if number > version:
                    db.executescript(script)
                    db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            try:
                with db:
                    yield db
            finally:
                db.close()

    def purge(self, days: int | None = None) -> int:
        """Delete feedback, unanswered questions and call-back requests older than ``days``
        (default: the retention period); returns how many rows went. The per-day crisis
        counts hold nothing of any message and are kept."""
        days = self.retention_days if days is None else days
        cutoff = (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0).isoformat()
        with self._connect() as db:
            gone = db.execute("DELETE FROM feedback WHERE created <= ?", (cutoff,)).rowcount
            gone += db.execute("DELETE FROM gaps WHERE created <= ?", (cutoff,)).rowcount
            gone += db.execute("DELETE FROM callbacks WHERE created <= ?", (cutoff,)).rowcount
        self._purged_on = _now()[:10]
        return int(gone)

    def _daily_purge(self) -> None:
        if self._purged_on != _now()[:10]:
            self.purge()

    def add_feedback(self, record: FeedbackRecord) -> int:
        """Store a rating, identifiers redacted; returns its row id (to attach a comment
        later)."""
        self._daily_purge()
        history = [
            {**turn, "content": redact(str(turn.get("content", "")))} for turn in record.history
        ]
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created, rating, comment, question, history, answer, "
                "kind, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.created or _now(),
                    record.rating,
                    redact(record.comment),
                    redact(record.question),
                    json.dumps(history, ensure_ascii=False),
                    redact(record.answer),
                    record.kind,
                    json.dumps(list(record.citations), ensure_ascii=False),
                ),
            )
            return int(cursor.lastrowid or 0)

    def update_feedback(
        self, row_id: int, *, rating: int | None = None, comment: str | None = None
    ) -> None:
        """Change the rating and/or comment of a stored feedback row."""
        with self._connect() as db:
            if rating is not None:
                db.execute("UPDATE feedback SET rating = ? WHERE id = ?", (rating, row_id))
            if comment is not None:
                db.execute(
                    "UPDATE feedback SET comment = ? WHERE id = ?", (redact(comment), row_id)
                )

    def feedback(self, limit: int = 1000) -> list[FeedbackRecord]:
        """Newest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, created, rating, comment, question, history, answer, kind, citations "
                "FROM feedback ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            FeedbackRecord(
                id=row[0],
                created=row[1],
                rating=row[2],
                comment=row[3],
                question=row[4],
                history=tuple(json.loads(row[5])),
                answer=row[6],
                kind=row[7],
                citations=tuple(json.loads(row[8])),
            )
            for row in rows
        ]

    def add_gap(self, question: str, query: str = "", similarity: float = 0.0) -> None:
        """Record a question the materials did not cover (identifiers redacted)."""
        self._daily_purge()
        with self._connect() as db:
            db.execute(
                "INSERT INTO gaps (created, question, query, similarity) VALUES (?, ?, ?, ?)",
                (_now(), redact(question), redact(query), similarity),
            )

    def add_callback(self, name: str, contact: str, best_time: str) -> tuple[int, str]:
        """Queue a request for a person to call or write back; its id and time. The
        contact details are the point of it, so they are kept as given, until the retention
        period has passed."""
        self._daily_purge()
        created = _now()
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO callbacks (created, name, contact, best_time) VALUES (?, ?, ?, ?)",
                (created, name, contact, best_time),
            )
            return int(cursor.lastrowid or 0), created

    def callbacks(self, limit: int = 500) -> list[tuple[int, str, str, str, str, str]]:
        """Requests, waiting ones first, then newest first: (id, created, name, contact,
        best time, done or "")."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, created, name, contact, best_time, coalesce(done, '') FROM callbacks "
                "ORDER BY done IS NOT NULL, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5])) for r in rows]

    def mark_callback_done(self, row_id: int) -> bool:
        """Mark a request dealt with; whether there was such a waiting request."""
        with self._connect() as db:
            changed = db.execute(
                "UPDATE callbacks SET done = ? WHERE id = ? AND done IS NULL", (_now(), row_id)
            ).rowcount
        return bool(changed)

    def count_crisis_reply(self) -> None:
        """Add one to today's count of crisis replies (nothing else is stored)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO crisis_days (day, replies) VALUES (?, 1) "
                "ON CONFLICT(day) DO UPDATE SET replies = replies + 1",
                (_now()[:10],),
            )

    def crisis_days(self, limit: int = 90) -> list[tuple[str, int]]:
        """Crisis replies per day, newest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT day, replies FROM crisis_days ORDER BY day DESC LIMIT ?", (limit,)
            ).fetchall()
        return [(str(day), int(n)) for day, n in rows]

    def gaps(self, limit: int = 500) -> list[Gap]:
        """Abstained questions, most often asked first (the same wording counts once)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT lower(trim(question)) AS q, max(question), count(*), max(created), "
                "max(similarity) FROM gaps GROUP BY q "
                "ORDER BY count(*) DESC, max(created) DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            Gap(
                question=row[1],
                count=row[2],
                last_asked=row[3],
                similarity=float(row[4] or 0.0),
            )
            for row in rows
        ]
