"""The SQLite file of what is indexed: LangChain's record manager plus a sources table.

The record manager (``SQLRecordManager``) remembers which chunk ids were written for
which source, which is what lets ``index()`` skip unchanged chunks and clean up stale
ones. The ``sources`` table keeps what the record manager does not: when a document was
first added and last changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from langchain_core.indexing import RecordManager
from sqlalchemy.exc import OperationalError

from kapbot.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kapbot_sources (
    namespace TEXT NOT NULL,
    source TEXT NOT NULL,
    first_added TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (namespace, source)
)
"""


@dataclass(frozen=True)
class SourceTimes:
    first_added: str
    updated: str


def namespace(settings: Settings) -> str:
    """Record-manager namespace: one per store and collection."""
    where = settings.chroma_url or "embedded"
    return f"kapbot/{settings.collection}@{where}"


def open_record_manager(settings: Settings) -> RecordManager:
    from langchain_classic.indexes import SQLRecordManager

    settings.home.mkdir(parents=True, exist_ok=True)
    manager = SQLRecordManager(
        namespace(settings),
        db_url=f"sqlite:///{settings.records_db}",
        engine_kwargs={"connect_args": {"timeout": 60}},
    )
    try:
        manager.create_schema()
    except OperationalError as exc:
        # Two first ingests at once: both saw no table, the other process created it
        # first. The schema is there now; checking again creates nothing.
        if "already exists" not in str(exc):
            raise
        manager.create_schema()
    return manager


class Catalog:
    """When each source was first added and last updated."""

    def __init__(self, settings: Settings) -> None:
        settings.home.mkdir(parents=True, exist_ok=True)
        self._path = settings.records_db
        self._ns = namespace(settings)
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._path, timeout=60)
        try:
            with db:
                yield db
        finally:
            db.close()

    def touch(self, sources: list[str]) -> None:
        """Record that these sources were added or changed now."""
        now = _now()
        with self._connect() as db:
            db.executemany(
                "INSERT INTO kapbot_sources (namespace, source, first_added, updated) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (namespace, source) DO UPDATE SET updated = ?",
                [(self._ns, s, now, now, now) for s in sources],
            )

    def ensure(self, sources: list[str]) -> None:
        """Record sources that are indexed but not yet listed (after an interrupted run)."""
        now = _now()
        with self._connect() as db:
            db.executemany(
                "INSERT OR IGNORE INTO kapbot_sources (namespace, source, first_added, updated) "
                "VALUES (?, ?, ?, ?)",
                [(self._ns, s, now, now) for s in sources],
            )

    def forget(self, sources: list[str]) -> None:
        with self._connect() as db:
            db.executemany(
                "DELETE FROM kapbot_sources WHERE namespace = ? AND source = ?",
                [(self._ns, s) for s in sources],
            )

    def times(self) -> dict[str, SourceTimes]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT source, first_added, updated FROM kapbot_sources WHERE namespace = ?",
                (self._ns,),
            ).fetchall()
        return {source: SourceTimes(first, updated) for source, first, updated in rows}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
