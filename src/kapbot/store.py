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
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlparse

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from kapbot.chunking import CHUNK, QUESTION, SENTENCE
from kapbot.errors import IndexUnavailableError
from kapbot.settings import Settings

log = logging.getLogger(__name__)

# Chroma refuses pages larger than this in one get().
_PAGE = 5000


def collection_names(base: str) -> dict[str, str]:
    """The Chroma collection of each record kind: passages keep the configured name."""
    return {CHUNK: base, SENTENCE: f"{base}-sentences", QUESTION: f"{base}-questions"}


class _ByKind(VectorStore):
    """One LangChain vector store for ``index()``, one Chroma collection per record kind.

    Passages, their sentences and curated questions live in collections of their own, so
    a search for one kind walks that kind's HNSW graph alone. (In one shared collection a
    ``where={"kind": ...}`` filter made Chroma check the filter record by record: a
    sentence search took 430 ms at 10,000 passages, against 4 ms unfiltered.)
    """

    def __init__(self, stores: dict[str, VectorStore]) -> None:
        self.stores = stores

    @property
    def embeddings(self) -> Embeddings | None:
        return self.stores[CHUNK].embeddings

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids: list[str | None] = list(kwargs.pop("ids", None) or [d.id for d in documents])
        groups: dict[str, list[tuple[Document, str | None]]] = {}
        for doc, key in zip(documents, ids, strict=True):
            kind = str(doc.metadata.get("kind", CHUNK))
            groups.setdefault(kind if kind in self.stores else CHUNK, []).append((doc, key))
        added: list[str] = []
        for kind, pairs in groups.items():
            keys = [k for _, k in pairs]
            if kind == CHUNK:
                added += self.stores[kind].add_documents(
                    [d for d, _ in pairs], ids=keys if all(keys) else None, **kwargs
                )
            else:
                added += self._add_with_text_in_metadata(kind, [d for d, _ in pairs], keys)
        return added

    def _add_with_text_in_metadata(
        self, kind: str, docs: list[Document], keys: list[str | None]
    ) -> list[str]:
        """Write sentences, pairs and curated questions with their text in the metadata
        (:data:`TEXT_KEY`) rather than as Chroma documents: an embedded Chroma indexes every
        document for full-text search, which kapbot does not use (its keyword index is its
        own), and that took two thirds of the time of writing these short records."""
        store = self.stores[kind]
        assert store.embeddings is not None
        ids = [k or str(uuid.uuid4()) for k in keys]
        vectors = store.embeddings.embed_documents([d.page_content for d in docs])
        store._collection.upsert(  # type: ignore[attr-defined]
            ids=ids,
            embeddings=vectors,
            metadatas=[{**d.metadata, TEXT_KEY: d.page_content} for d in docs],
        )
        return ids

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        metas = metadatas or [{} for _ in texts]
        docs = [Document(page_content=t, metadata=m) for t, m in zip(texts, metas, strict=True)]
        return self.add_documents(docs, ids=ids, **kwargs)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        for store in self.stores.values():
            store.delete(ids, **kwargs)
        return True

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return self.stores[CHUNK].similarity_search(query, k=k, **kwargs)

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[Any, Any]] | None = None,
        **kwargs: Any,
    ) -> _ByKind:
        # A view over a ChunkStore's collections is never built from loose texts.
        raise TypeError("a store view is opened with ChunkStore.open, not built from texts")


class ChunkStore:
    """Passages, sentences and curated questions with their embeddings in Chroma
    (cosine distance), one collection per kind."""

    def __init__(self, vectorstore: _ByKind, label: str) -> None:
        self.vectorstore = vectorstore
        self.label = label

    @classmethod
    def open(
        cls, settings: Settings, embeddings: Embeddings, passages: Embeddings | None = None
    ) -> ChunkStore:
        """Connect to the configured Chroma and get or create the collections.

        Args:
            settings: Where the index is.
            embeddings: The model that embeds queries, sentences and curated questions.
            passages: The model that embeds passages (default: ``embeddings``); its
                ``embed_query`` must be ``embeddings``' (see :mod:`kapbot.adaptation`).

        Raises:
            IndexUnavailableError: the server cannot be reached or the folder cannot be used.
        """
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from filelock import FileLock, Timeout

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
                # Chroma creates its SQLite tables when it first opens a folder; two
                # processes doing that at once (two ingests on a new home) collide
                # ("table collections already exists"), so opening is one at a time.
                with FileLock(str(settings.chroma_dir) + ".open.lock", settings.lock_timeout):
                    client = chromadb.PersistentClient(
                        path=str(settings.chroma_dir), settings=chroma_settings
                    )
            collections = _retry_locked(
                lambda: _collections(client, settings.collection, embeddings, _HNSW, passages)
            )
            store = cls(collections, settings.store_label)
            store._split_old_layout()
        except (ValueError, OSError, Timeout, chromadb.errors.ChromaError) as exc:
            raise IndexUnavailableError(
                f"Cannot open the Chroma index at {settings.store_label}: {exc}"
            ) from exc
        return store

    @classmethod
    def in_memory(cls, embeddings: Embeddings, name: str) -> ChunkStore:
        """Throw-away collections in memory (for baselines measured beside kapbot)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        return cls(_collections(client, name, embeddings), f"memory:{name}")

    def _collection(self, kind: str = CHUNK):  # type: ignore[no-untyped-def]
        return self.vectorstore.stores[kind]._collection  # type: ignore[attr-defined]

    def _split_old_layout(self) -> None:
        """Stores written before one-collection-per-kind kept sentences and questions
        with the passages: drop them there. The next ingest finds their records without
        vectors and writes them again, into their own collections."""
        chunks = self._collection(CHUNK)
        old = {"kind": {"$ne": CHUNK}}
        if self._call("check the index layout", chunks.get, where=old, limit=1, include=[])["ids"]:
            log.warning(
                "The index at %s keeps sentences beside passages (an older layout); "
                "moving them: run `kapbot ingest` to rebuild them.",
                self.label,
            )
            self._call("move old records", chunks.delete, where=old)

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

    def _fresh_metadata(self, what: str) -> dict[str, Any]:
        """The chunk collection's metadata, asked afresh: another process may have
        changed it since this one opened the index."""
        chroma = self.vectorstore.stores[CHUNK]
        fresh = self._call(
            what,
            chroma._client.get_collection,  # type: ignore[attr-defined]
            self._collection(CHUNK).name,
        )
        return dict(fresh.metadata or {})

    def _set_metadata(self, what: str, key: str, value: str) -> None:
        collection = self._collection(CHUNK)
        meta = {**self._fresh_metadata(what), key: value}
        _retry_locked(lambda: self._call(what, collection.modify, metadata=meta))

    def model_label(self) -> str | None:
        """The name of the embedding model the index's vectors came from (None when the
        index predates fitted models: the packaged model)."""
        value = self._fresh_metadata("read the index's model").get(MODEL_KEY)
        return str(value) if value else None

    def set_model_label(self, label: str) -> None:
        """Record which embedding model the index's vectors come from."""
        self._set_metadata("record the index's model", MODEL_KEY, label)

    def generation(self) -> str | None:
        """A token that changes whenever the index's documents change (see
        :meth:`mark_changed`); None for an index no change has marked yet."""
        value = self._fresh_metadata("check the index for changes").get(GENERATION_KEY)
        return str(value) if value else None

    def mark_changed(self) -> None:
        """Record that documents were added, updated or removed, so that processes
        serving from this index (``kapbot serve``) reload what they keep in memory."""
        self._set_metadata("record a change of the index", GENERATION_KEY, uuid.uuid4().hex)

    def count(self, kind: str = CHUNK) -> int:
        """Number of chunks (passages), or of the records of another ``kind``."""
        return int(self._call("count records", self._collection(kind).count))

    def is_empty(self, kind: str = CHUNK) -> bool:
        return self.count(kind) == 0

    def _pages(
        self, what: str, kind: str, include: list[str], where: dict[str, Any] | None = None
    ) -> Iterator[Any]:
        offset = 0
        while True:
            page = self._call(
                what,
                self._collection(kind).get,
                where=where,
                include=include,
                limit=_PAGE,
                offset=offset,
            )
            yield page
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def ids(self, kind: str | None = CHUNK) -> list[str]:
        """Ids of the chunks (or of the records of another ``kind``; None: all records)."""
        kinds = [kind] if kind else list(self.vectorstore.stores)
        return [i for k in kinds for page in self._pages("list ids", k, []) for i in page["ids"]]

    def iter_chunks(self) -> Iterator[Document]:
        """Every chunk with its text and metadata, in pages."""
        for page in self._pages("read chunks", CHUNK, ["documents", "metadatas"]):
            for cid, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                yield _record(cid, text, meta)

    def source_stats(self) -> dict[str, tuple[str, int]]:
        """For each indexed source: its title and number of chunks."""
        stats: dict[str, tuple[str, int]] = {}
        for page in self._pages("list documents", CHUNK, ["metadatas"]):
            for meta in page["metadatas"]:
                source = str((meta or {}).get("source", ""))
                title, count = stats.get(source, (str((meta or {}).get("title", "")), 0))
                stats[source] = (title, count + 1)
        return stats

    def get(self, ids: Sequence[str]) -> list[Document]:
        """Records of any kind by id, in the order asked (missing ids are left out)."""
        found: dict[str, Document] = {}
        for kind in self.vectorstore.stores:
            for start in range(0, len(ids), _PAGE):
                page = self._call(
                    "read chunks",
                    self._collection(kind).get,
                    ids=list(ids[start : start + _PAGE]),
                    include=["documents", "metadatas"],
                )
                for cid, text, meta in zip(
                    page["ids"], page["documents"], page["metadatas"], strict=True
                ):
                    found[cid] = _record(cid, text, meta)
        return [found[i] for i in ids if i in found]

    def with_vectors(
        self, kind: str, sources: Collection[str] | None
    ) -> Iterator[tuple[Document, Sequence[float]]]:
        """The records of ``kind`` from the documents ``sources`` (None: every record),
        each with its vector."""
        if sources is not None and not sources:
            return
        where = None if sources is None else {"source": {"$in": sorted(sources)}}
        for page in self._pages(
            "read vectors", kind, ["documents", "metadatas", "embeddings"], where
        ):
            for cid, text, meta, vector in zip(
                page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True
            ):
                yield _record(cid, text, meta), vector

    def questions_by_chunk(self) -> dict[str, list[str]]:
        """The curated questions of each chunk (chunk id -> question texts)."""
        out: dict[str, list[str]] = {}
        for page in self._pages("read questions", QUESTION, ["documents", "metadatas"]):
            for cid, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                question = _record(cid, text, meta)
                out.setdefault(str(question.metadata.get("parent", "")), []).append(
                    question.page_content
                )
        return out

    def ids_for_source(self, source: str, kind: str | None = None) -> list[str]:
        """Ids of a document's records (all kinds, or one)."""
        kinds = [kind] if kind else list(self.vectorstore.stores)
        return [
            i
            for k in kinds
            for page in self._pages("find a document's chunks", k, [], {"source": source})
            for i in page["ids"]
        ]

    def set_vectors(
        self, kind: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Replace the vectors of these records of ``kind``; their texts and metadata stay."""
        for start in range(0, len(ids), _PAGE):
            self._call(
                "write vectors",
                self._collection(kind).update,
                ids=list(ids[start : start + _PAGE]),
                embeddings=[list(v) for v in vectors[start : start + _PAGE]],
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _PAGE):
            part = list(ids[start : start + _PAGE])
            for kind in self.vectorstore.stores:
                self._call("delete chunks", self._collection(kind).delete, ids=part)

    def embed_query(self, text: str) -> list[float]:
        return self.vectorstore.embeddings.embed_query(text)  # type: ignore[union-attr]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several messages in one forward pass (by the model that embeds queries)."""
        if len(texts) == 1:
            return [self.embed_query(texts[0])]
        model = self.vectorstore.stores[SENTENCE].embeddings
        assert model is not None
        return model.embed_documents(texts)

    def similarity_search(self, query: str, k: int = 4) -> list[tuple[Document, float]]:
        """Dense search: chunks with cosine similarity (1 - distance), best first."""
        return self.search_by_vector(self.embed_query(query), k)

    def search_by_vector(
        self, vector: Sequence[float], k: int, kind: str = CHUNK
    ) -> list[tuple[Document, float]]:
        """Records of ``kind`` nearest to ``vector``, with cosine similarity, best first.

        A record another process deleted can linger in this process's copy of the
        embedded vector index (it reads its vectors once) with no text or metadata left:
        it is left out."""
        if k <= 0:
            return []
        result = self._call(
            "search",
            self._collection(kind).query,
            query_embeddings=[list(vector)],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (_record(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
            if text is not None or meta is not None
        ]


_T = TypeVar("_T")
MODEL_KEY = "kapbot_model"  # collection metadata: the embedding model of the vectors
GENERATION_KEY = "kapbot_generation"  # collection metadata: changes with the documents
# Sentences, pairs and curated questions keep their text in this metadata key, not as a
# Chroma document (see ``_ByKind._add_with_text_in_metadata``); passages are documents.
TEXT_KEY = "kapbot_text"
# A wider HNSW search than Chroma's default 100 candidates: the sentence search asks for 40
# neighbours, and at ef 100 an occasional right sentence was missed (measured on evals/).
_HNSW = {"space": "cosine", "ef_search": 200}


def _record(cid: str, text: str | None, meta: Any) -> Document:
    """A record read back from Chroma, its text from the document or the metadata (records
    written before the text moved to the metadata have it as the document)."""
    metadata = dict(meta or {})
    stored = metadata.pop(TEXT_KEY, None)
    content = text if text is not None else stored
    return Document(id=cid, page_content=str(content or ""), metadata=metadata)


def _collections(
    client: Any,
    base: str,
    embeddings: Embeddings,
    hnsw: dict[str, Any] | None = None,
    passages: Embeddings | None = None,
) -> _ByKind:
    from langchain_chroma import Chroma

    configuration: Any = {"hnsw": hnsw or {"space": "cosine"}}
    return _ByKind(
        {
            kind: Chroma(
                client=client,
                collection_name=name,
                embedding_function=passages if kind == CHUNK and passages else embeddings,
                collection_configuration=configuration,
            )
            for kind, name in collection_names(base).items()
        }
    )


def _retry_locked(fn: Callable[[], _T], attempts: int = 20, wait: float = 0.5) -> _T:
    """``fn()``, tried again while another process holds the embedded store's SQLite
    database (an ingest recording its model while this one opens the collections)."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")


def _is_connection_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        marker in text
        for marker in ("connect", "connection refused", "timed out", "timeout", "unreachable")
    )
