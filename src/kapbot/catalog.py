"""The SQLite file of what is indexed: LangChain's record manager plus a sources table.

The record manager (``SQLRecordManager``) remembers which chunk ids were written for
which source, which is what lets ``index()`` skip unchanged chunks and clean up stale
ones. Its ``update`` is replaced by one prepared statement run for every key
(``executemany``): LangChain's builds one INSERT with a row of bound values per key, and
compiling that took a sixth of a cached ingest. The ``sources`` table keeps what the
record manager does not: when a document was first added and last changed.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from langchain_core.indexing import RecordManager
from sqlalchemy.exc import OperationalError

from kapbot.settings import Settings

if TYPE_CHECKING:
    from langchain_classic.indexes import SQLRecordManager

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


_UPSERT = (
    "INSERT INTO upsertion_record (uuid, key, namespace, group_id, updated_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key, namespace) "
    "DO UPDATE SET updated_at = excluded.updated_at, group_id = excluded.group_id"
)


@cache
def _record_manager_class() -> type[SQLRecordManager]:
    """``SQLRecordManager`` with a faster ``update`` (LangChain is imported on first use)."""
    from langchain_classic.indexes import SQLRecordManager

    class FastSQLRecordManager(SQLRecordManager):
        def update(
            self,
            keys: Sequence[str],
            *,
            group_ids: Sequence[str | None] | None = None,
            time_at_least: float | None = None,
        ) -> None:
            """Upsert ``keys`` with the database's time, as ``SQLRecordManager.update``
            does (the same checks, the same rows), in one ``executemany``."""
            if group_ids is None:
                group_ids = [None] * len(keys)
            if len(keys) != len(group_ids):
                raise ValueError(
                    f"Number of keys ({len(keys)}) does not match number of "
                    f"group_ids ({len(group_ids)})"
                )
            update_time = self.get_time()
            if time_at_least and update_time < time_at_least:
                # The guard LangChain keeps against clocks going backwards: stale
                # records are found by time, so a wrong time could delete live ones.
                raise AssertionError(f"Time sync issue: {update_time} < {time_at_least}")
            rows: list[tuple[Any, ...]] = [
                (str(uuid.uuid4()), key, self.namespace, group, update_time)
                for key, group in zip(keys, group_ids, strict=True)
            ]
            with self._make_session() as session:
                session.connection().exec_driver_sql(_UPSERT, rows)  # type: ignore[arg-type]
                session.commit()

    return FastSQLRecordManager


def open_record_manager(settings: Settings) -> RecordManager:
    settings.home.mkdir(parents=True, exist_ok=True)
    manager = _record_manager_class()(
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
