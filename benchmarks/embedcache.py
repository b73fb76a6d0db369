"""An on-disk embedding cache for the benchmarks: one SQLite file of float32 vectors.

LangChain's ``CacheBackedEmbeddings`` over a ``LocalFileStore`` writes one file per text
holding the vector as JSON (about 12 KB each): a million files and about 12 GB for the
100k-chunk curve. This store keeps the same keys in one SQLite table and the vectors as
float32 bytes (1.5 KB for 384 dimensions); the model's vectors are float32 already, so
nothing is lost.

Example:
    >>> embedder = cache_backed(model, Path(".kapbot-bench/cache"), "all-MiniLM-L6-v2")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path

from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_classic.storage import EncoderBackedStore
from langchain_core.embeddings import Embeddings
from langchain_core.stores import BaseStore

_CHUNK = 500  # keys per SQL statement (well under SQLite's variable limit)


class SQLiteByteStore(BaseStore[str, bytes]):
    """A ``ByteStore`` in one SQLite file (safe to share between threads)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
        )

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                part = list(keys[start : start + _CHUNK])
                marks = ",".join("?" * len(part))
                rows = self._db.execute(f"SELECT key, value FROM kv WHERE key IN ({marks})", part)
                found.update(rows)
        return [found.get(k) for k in keys]

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", key_value_pairs)
            self._db.execute("COMMIT")

    def mdelete(self, keys: Sequence[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM kv WHERE key = ?", [(k,) for k in keys])

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM kv WHERE key >= ? ORDER BY key", (prefix or "",)
            ).fetchall()
        for (key,) in rows:
            if prefix and not key.startswith(prefix):
                break
            yield key

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])


def _to_bytes(vector: list[float]) -> bytes:
    return array("f", vector).tobytes()


def _from_bytes(data: bytes) -> list[float]:
    return array("f", data).tolist()


def cache_backed(model: Embeddings, folder: Path, namespace: str) -> CacheBackedEmbeddings:
    """``model`` behind a document-embedding cache in ``folder/embeddings.sqlite``.

    Keys are ``namespace`` plus the text's SHA-256, so another model needs another
    namespace. Queries are not cached.
    """

    def key(text: str) -> str:
        return namespace + hashlib.sha256(text.encode("utf-8")).hexdigest()

    store = EncoderBackedStore[str, list[float]](
        SQLiteByteStore(folder / "embeddings.sqlite"), key, _to_bytes, _from_bytes
    )
    return CacheBackedEmbeddings(model, store)
