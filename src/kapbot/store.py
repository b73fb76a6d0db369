"""The vector store: the only module that imports chromadb and langchain-chroma.

By default an embedded ``PersistentClient`` under ``settings.chroma_dir``; with
``settings.chroma_url`` a Chroma server through ``HttpClient``. Everything else in kapbot
talks to :class:`ChunkStore`, so swapping the backend touches this file only.

Example:
    >>> store = ChunkStore.open(Settings.from_env(), load_embeddings())  # doctest: +SKIP
    >>> store.similarity_search("what does KAP cost?", k=3)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from kapbot.chunking import CHUNK
from kapbot.errors import IndexUnavailableError
from kapbot.settings import Settings

log = logging.getLogger(__name__)

# Chroma refuses pages larger than this in one get().
_PAGE = 5000


class ChunkStore:
    """Chunks with their embeddings in one Chroma collection (cosine distance)."""

    def __init__(self, vectorstore: VectorStore, label: str) -> None:
        self.vectorstore = vectorstore
        self.label = label

    @classmethod
    def open(cls, settings: Settings, embeddings: Embeddings) -> ChunkStore:
        """Connect to the configured Chroma and get or create the collection.

        Raises:
            IndexUnavailableError: the server cannot be reached or the folder cannot be used.
        """
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            client: chromadb.api.ClientAPI
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(
                    path=str(settings.chroma_dir), settings=chroma_settings
                )
            vectorstore = Chroma(
                client=client,
                collection_name=settings.collection,
                embedding_function=embeddings,
                collection_configuration={"hnsw": {"space": "cosine"}},
            )
        except (ValueError, OSError, chromadb.errors.ChromaError) as exc:
            raise IndexUnavailableError(
                f"Cannot open the Chroma index at {settings.store_label}: {exc}"
            ) from exc
        return cls(vectorstore, settings.store_label)

    @classmethod
    def in_memory(cls, embeddings: Embeddings, name: str) -> ChunkStore:
        """A throw-away collection in memory (for baselines measured beside kapbot)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        vectorstore = Chroma(
            client=client,
            collection_name=name,
            embedding_function=embeddings,
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        return cls(vectorstore, f"memory:{name}")

    @property
    def _collection(self):  # type: ignore[no-untyped-def]
        return self.vectorstore._collection  # type: ignore[attr-defined]

    def _call(self, what: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run a Chroma call, turning connection failures into a clear error."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if _is_connection_error(exc):
                raise IndexUnavailableError(
                    f"The Chroma index at {self.label} is unreachable while trying to {what}: {exc}"
                ) from exc
            raise

    def count(self) -> int:
        """Number of chunks (passages)."""
        return len(self.ids())

    def is_empty(self) -> bool:
        return int(self._call("count records", self._collection.count)) == 0

    def ids(self, kind: str | None = CHUNK) -> list[str]:
        """Ids of the chunks (or of the records of another ``kind``; None: all records)."""
        where = {"kind": kind} if kind else None
        out: list[str] = []
        offset = 0
        while True:
            page = self._call(
                "list ids",
                self._collection.get,
                where=where,
                include=[],
                limit=_PAGE,
                offset=offset,
            )
            out += page["ids"]
            if len(page["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def iter_chunks(self) -> Iterator[Document]:
        """Every chunk with its text and metadata, in pages."""
        offset = 0
        while True:
            page = self._call(
                "read chunks",
                self._collection.get,
                where={"kind": CHUNK},
                include=["documents", "metadatas"],
                limit=_PAGE,
                offset=offset,
            )
            for cid, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                yield Document(id=cid, page_content=text or "", metadata=dict(meta or {}))
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def source_stats(self) -> dict[str, tuple[str, int]]:
        """For each indexed source: its title and number of chunks."""
        stats: dict[str, tuple[str, int]] = {}
        offset = 0
        while True:
            page = self._call(
                "list documents",
                self._collection.get,
                where={"kind": CHUNK},
                include=["metadatas"],
                limit=_PAGE,
                offset=offset,
            )
            for meta in page["metadatas"]:
                source = str((meta or {}).get("source", ""))
                title, count = stats.get(source, (str((meta or {}).get("title", "")), 0))
                stats[source] = (title, count + 1)
            if len(page["ids"]) < _PAGE:
                return stats
            offset += _PAGE

    def get(self, ids: Sequence[str]) -> list[Document]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        if not ids:
            return []
        page = self._call(
            "read chunks", self._collection.get, ids=list(ids), include=["documents", "metadatas"]
        )
        found = {
            cid: Document(id=cid, page_content=text or "", metadata=dict(meta or {}))
            for cid, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            )
        }
        return [found[i] for i in ids if i in found]

    def ids_for_source(self, source: str, kind: str | None = None) -> list[str]:
        """Ids of a document's records (all kinds, or one)."""
        where: dict[str, Any] = {"source": source}
        if kind:
            where = {"$and": [where, {"kind": kind}]}
        page = self._call("find a document's chunks", self._collection.get, where=where, include=[])
        return list(page["ids"])

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _PAGE):
            self._call(
                "delete chunks", self._collection.delete, ids=list(ids[start : start + _PAGE])
            )

    def embed_query(self, text: str) -> list[float]:
        return self.vectorstore.embeddings.embed_query(text)  # type: ignore[union-attr]

    def similarity_search(self, query: str, k: int = 4) -> list[tuple[Document, float]]:
        """Dense search: chunks with cosine similarity (1 - distance), best first."""
        return self.search_by_vector(self.embed_query(query), k)

    def search_by_vector(
        self, vector: Sequence[float], k: int, kind: str = CHUNK
    ) -> list[tuple[Document, float]]:
        """Records of ``kind`` nearest to ``vector``, with cosine similarity, best first."""
        if k <= 0:
            return []
        result = self._call(
            "search",
            self._collection.query,
            query_embeddings=[list(vector)],
            where={"kind": kind},
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (
                Document(id=cid, page_content=text or "", metadata=dict(meta or {})),
                1.0 - float(dist),
            )
            for cid, text, meta, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]


def _is_connection_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        marker in text
        for marker in ("connect", "connection refused", "timed out", "timeout", "unreachable")
    )
