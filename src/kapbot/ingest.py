"""Incremental ingestion: files -> chunks -> Chroma + keyword index, via LangChain's ``index()``.

What makes it safe to run at any time, and again after a crash:

- chunk ids are content hashes, and ``index()`` with a SQLite record manager skips every
  chunk whose id it has already written, so unchanged documents are never re-embedded;
- ``cleanup="scoped_full"`` deletes, at the end of a run, the old chunks of exactly the
  documents the run saw, so a changed document replaces its own chunks and no others;
- vectors are written before records, and each run first forgets records whose vectors
  are missing and last deletes vectors that have no record, so a run killed at any point
  is completed by the next one: every chunk exactly once;
- one ingest at a time per home folder (a file lock); a second one waits or says why not;
- the keyword index is rebuilt from the collection whenever the collection's ids change.

Example:
    >>> with Indexer.open(Settings.from_env()) as indexer:  # doctest: +SKIP
    ...     print(indexer.ingest().summary())
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import RecordManager, index

from kapbot.adaptation import STOCK, fitting_plan, passage_model
from kapbot.catalog import Catalog, open_record_manager
from kapbot.chunking import CHUNK, QUESTION, SENTENCE, document_records
from kapbot.corpus import Discovery, discover, source_id, source_path
from kapbot.errors import IndexBusyError, KapbotError, LoadError
from kapbot.guardrails import promise_sentences
from kapbot.keyword import KeywordIndex
from kapbot.loaders import load_file
from kapbot.records import FileError, IngestReport, SourceInfo
from kapbot.retrieval import keyword_index
from kapbot.settings import Settings
from kapbot.store import ChunkStore

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What ingestion reports while it works (the CLI shows a progress bar)."""

    def start(self, total: int, description: str, unit: str = "chunk") -> None: ...

    def advance(self, n: int) -> None: ...

    def close(self) -> None: ...

    def message(self, text: str) -> None: ...


class SilentProgress:
    def start(self, total: int, description: str, unit: str = "chunk") -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass

    def message(self, text: str) -> None:
        log.info(text)


class _CountingEmbeddings(Embeddings):
    """Passes through to the model, embeds planned texts a window at a time, and reports
    how many texts were embedded.

    The model is loaded on first use, so runs that embed nothing (an unchanged corpus,
    ``kapbot sources``, ``kapbot remove``) never pay for loading it.

    ``index()`` asks for vectors one write batch at a time, in the order of its
    documents; a batch mixes long chunks with their short sentences, and the model pads
    every text of a batch to the longest. Given the texts ``index()`` is about to ask
    for (:meth:`plan`), each model call takes the next ``window`` of them instead, which
    the model sorts by length, so batches pad little; the vectors wait in memory until
    asked for. (Embedding the next window in a background thread while the caller writes
    was measured slower: the model already keeps both cores busy.)
    """

    def __init__(self, load: Callable[[], Embeddings], progress: Progress, window: int) -> None:
        self._load = load
        self._inner: Embeddings | None = None
        self.progress = progress
        self.window = window
        self._pending: deque[str] = deque()
        self._uses: Counter[str] = Counter()
        self._ready: dict[str, list[float]] = {}

    @property
    def inner(self) -> Embeddings:
        if self._inner is None:
            self._inner = self._load()
        return self._inner

    def plan(self, texts: Sequence[str]) -> None:
        """The texts about to be asked for, in order (replaces any earlier plan)."""
        self._uses = Counter(texts)
        self._pending = deque(self._uses)
        self._ready = {}

    def _next_window(self, first: Sequence[str] = ()) -> list[str]:
        batch = dict.fromkeys(first)
        while self._pending and len(batch) < self.window:
            text = self._pending.popleft()
            # Skip what is embedded already: waiting in ``_ready``, or used up (gone from
            # ``_uses``): texts asked for ahead of the plan's order (the store writes each kind
            # of record apart) were embedded as ``first`` and are still in the queue.
            if text not in self._ready and text in self._uses:
                batch[text] = None
        return list(batch)

    def _embed(self, texts: list[str]) -> dict[str, list[float]]:
        return dict(zip(texts, self.inner.embed_documents(texts), strict=True))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._ready]
        if missing:
            self._ready.update(self._embed(self._next_window(missing)))
        vectors = [self._ready[t] for t in texts]
        for text in texts:
            self._uses[text] -= 1
            if self._uses[text] <= 0:
                self._ready.pop(text, None)
                del self._uses[text]
        self.progress.advance(len(texts))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def reset(self) -> None:
        """Load the model afresh on next use (the index's model has changed)."""
        self._inner = None


_SQL_BATCH = 10_000  # keys per record-manager query: SQLite caps one statement's variables


def known_keys(records: RecordManager, keys: Sequence[str]) -> list[bool]:
    """``records.exists(keys)``, asked in batches (a large corpus has a million records)."""
    return [
        found
        for start in range(0, len(keys), _SQL_BATCH)
        for found in records.exists(keys[start : start + _SQL_BATCH])
    ]


def delete_keys(records: RecordManager, keys: Sequence[str]) -> None:
    """``records.delete_keys(keys)``, in batches."""
    for start in range(0, len(keys), _SQL_BATCH):
        records.delete_keys(list(keys[start : start + _SQL_BATCH]))


def _chunk_key(doc: Document) -> str:
    # The chunker already gave each chunk its content hash; index() must use that id.
    if not doc.id:
        raise ValueError("chunk without id reached index()")
    return doc.id


class Indexer:
    """Adds, updates and removes documents in the index."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        records: RecordManager,
        progress: Progress | None = None,
        embedder: _CountingEmbeddings | None = None,
        passage_embedder: _CountingEmbeddings | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.records = records
        self.embedder = embedder
        self.passage_embedder = passage_embedder
        self._label: str | None = None  # the passage model the index names, when read
        self.catalog = Catalog(settings)
        self.progress: Progress = progress or SilentProgress()

    @classmethod
    def open(
        cls,
        settings: Settings,
        embeddings: Embeddings | None = None,
        progress: Progress | None = None,
    ) -> Indexer:
        """Open the index for changes.

        Args:
            settings: Configuration.
            embeddings: The packaged model, already loaded, to share (default: loaded
                when first needed). Passages are embedded by the model the index was
                built with, fitted to the documents of its first build when
                ``settings.adapt`` is on (:mod:`kapbot.adaptation`).
            progress: Where to report progress.
        """
        from kapbot.embeddings import DeferredEmbeddings, load_embeddings

        progress = progress or SilentProgress()
        opened: list[Indexer] = []

        def packaged() -> Embeddings:
            return embeddings or load_embeddings(
                settings.embed_batch_size, models_dir=settings.models_dir
            )

        def passages() -> Embeddings:
            label = opened[0].store.model_label()
            return passage_model(settings.models_dir, label, packaged(), settings.embed_batch_size)

        embedder = _CountingEmbeddings(packaged, progress, settings.embed_window)
        passage_embedder = _CountingEmbeddings(passages, progress, settings.embed_window)
        # Passages go to the fitted model's embedder, or with everything else to the
        # packaged model's when the index has no fitted model (a text is embedded once).
        store = ChunkStore.open(
            settings, embedder, DeferredEmbeddings(lambda: opened[0].passage_side)
        )
        indexer = cls(
            settings, store, open_record_manager(settings), progress, embedder, passage_embedder
        )
        opened.append(indexer)
        return indexer

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the home folder's ingest lock; wait up to ``lock_timeout`` for it."""
        from filelock import FileLock, Timeout

        self.settings.home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.settings.lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            wait = self.settings.lock_timeout
            if wait <= 0:
                raise IndexBusyError(
                    f"Another ingest is running on {self.settings.home}; "
                    "try again when it has finished."
                ) from None
            self.progress.message(
                f"Another ingest is running on {self.settings.home}; waiting up to {wait:.0f}s..."
            )
            try:
                lock.acquire(timeout=wait)
            except Timeout:
                raise IndexBusyError(
                    f"Another ingest kept {self.settings.home} busy for {wait:.0f}s; "
                    "try again when it has finished."
                ) from None
        try:
            yield
        finally:
            lock.release()

    # -- ingest ---------------------------------------------------------------------

    def _load(self, found: Discovery, report: IngestReport) -> list[tuple[str, list[Document]]]:
        """Load and chunk every file; bad files become errors in the report."""
        loaded: list[tuple[str, list[Document]]] = []
        for path in found.files:
            source = source_id(path, self.settings.corpus_dir)
            try:
                doc = load_file(path, source=source, max_bytes=self.settings.max_file_bytes)
            except LoadError as exc:
                report.errors.append(FileError(str(path), str(exc)))
                continue
            for sentence in promise_sentences(doc.page_content):
                report.warnings.append(
                    f"{path}: promise language (kapbot will never quote it as a promise): "
                    f"“{sentence[:100]}”"
                )
            records, unmatched = document_records(
                doc,
                max_chars=self.settings.chunk_max_chars,
                min_chars=self.settings.chunk_min_chars,
            )
            for faq in unmatched:
                report.warnings.append(
                    f"{path}: question “{faq.question[:80]}” skipped: its quote "
                    f"“{faq.quote[:80]}” is not in the document"
                )
            loaded.append((source, records))
        return loaded

    def ingest(
        self, paths: Sequence[Path] | None = None, *, prune: bool = False, rebuild: bool = False
    ) -> IngestReport:
        """Bring the index in line with the files under ``paths`` (default: the corpus).

        Args:
            paths: Files and folders to ingest.
            prune: Also remove indexed documents that are gone from the given folders.
            rebuild: First empty the index, so that the embedding model is chosen (and
                fitted) anew and every document is embedded again; see :meth:`rebuild`.

        Returns:
            What changed; ``report.errors`` lists files that could not be ingested
            (their previously indexed chunks, if any, are left as they were).
        """
        paths = list(paths) if paths else [self.settings.corpus_dir]
        found = discover(paths)
        report = IngestReport(errors=list(found.errors), notices=list(found.notices))
        loaded = self._load(found, report)
        if rebuild and not loaded:
            raise KapbotError("Nothing to rebuild the index from: no document could be loaded.")
        with self.locked():
            if rebuild:
                self._empty()
            self._forget_records_without_vectors()
            self._use_model(loaded, report)
            before = set(self.store.ids())
            records: list[Document] = []
            for source, doc_records in loaded:
                existing = set(self.records.list_keys(group_ids=[source]))
                current = {r.id for r in doc_records}
                if not existing:
                    report.added.append(source)
                elif existing == current:
                    report.skipped.append(source)
                else:
                    report.updated.append(source)
                records += doc_records
            known = known_keys(self.records, [r.id or "" for r in records])
            self.progress.start(sum(not k for k in known), "Embedding")
            self._plan([r for r, k in zip(records, known, strict=True) if not k])
            try:
                index(
                    records,
                    self.records,
                    self.store.vectorstore,
                    cleanup="scoped_full",
                    source_id_key="source",
                    key_encoder=_chunk_key,
                    batch_size=self.settings.index_batch_size,
                )
            finally:
                self.progress.close()
                self._plan([])
            if prune:
                seen = {source for source, _ in loaded} | {
                    source_id(Path(e.path), self.settings.corpus_dir) for e in report.errors
                }
                gone = [
                    s
                    for s in self.store.source_stats()
                    if s not in seen and self._under(s, found.folders)
                ]
                self._remove(gone, report)
            self._delete_vectors_without_records()
            after = set(self.store.ids())
            loaded_chunks = {r.id for _, rs in loaded for r in rs if r.metadata["kind"] == CHUNK}
            report.chunks_added = len(after - before)
            report.chunks_deleted = len(before - after)
            report.chunks_skipped = len(loaded_chunks & before & after)
            self.catalog.touch(report.added + report.updated)
            self.catalog.ensure(report.skipped)
            self.sync_keyword()
            if report.added or report.updated or report.deleted or after != before:
                self.store.mark_changed()
        return report

    def rebuild(self) -> IngestReport:
        """Empty the index and ingest again every document it held (and the corpus
        folder), fitting the embedding model anew to them (``settings.adapt``).

        The documents' files are the source of truth, so nothing is lost; while it runs,
        the index is incomplete.
        """
        return self.ingest(self._indexed_paths(), rebuild=True)

    def _indexed_paths(self) -> list[Path]:
        """The corpus folder and every indexed document's file outside it."""
        corpus = self.settings.corpus_dir
        indexed = [source_path(s, corpus) for s in self.store.source_stats()]
        outside = [p for p in indexed if p.exists() and not p.resolve().is_relative_to(corpus)]
        return [corpus, *outside]

    def fit_in_place(self) -> IngestReport:
        """For an index whose passages the packaged model embedded: fit a model to its
        documents (as the first build of :meth:`rebuild` would, from the same files) and
        embed the passages again with it, in place.

        The index answers throughout: the minutes of fitting hold no lock, and the
        passages' vectors are then replaced under the ingest lock before the index names
        the fitted model, which tells serving processes to switch to it
        (:meth:`kapbot.bot.Bot.follow_changes`). Sentences and curated questions keep
        the packaged model's vectors, as in any build. Does nothing (a notice says why)
        when the index is empty or already names a fitted model.
        """
        report = IngestReport()
        if self.store.is_empty() or (self.store.model_label() or STOCK) != STOCK:
            report.notices.append("Nothing to fit: the index is empty or already fitted.")
            return report
        found = discover(self._indexed_paths())
        records = [r for _, rs in self._load(found, report) for r in rs]
        label = self._fit(
            [r for r in records if r.metadata.get("kind") == CHUNK],
            [r for r in records if r.metadata.get("kind") == QUESTION],
            report,
        )
        if label == STOCK:
            return report
        with self.locked():
            if (self.store.model_label() or STOCK) != STOCK:
                return report  # another process fitted one meanwhile
            if self.embedder is None:
                raise RuntimeError("this Indexer was opened without embedders")
            chunks = list(self.store.iter_chunks())
            models, batch = self.settings.models_dir, self.settings.embed_batch_size
            model = passage_model(models, label, self.embedder.inner, batch)
            vectors = model.embed_documents([c.page_content for c in chunks])
            self.store.set_vectors(CHUNK, [c.id or "" for c in chunks], vectors)
            self.store.set_model_label(label)
            self._follow(label)
            self.store.mark_changed()
        return report

    def _empty(self) -> None:
        self.store.delete(sorted(self.store.ids(kind=None)))
        delete_keys(self.records, self.records.list_keys())

    @property
    def passage_side(self) -> Embeddings:
        """What embeds passages: the fitted model's embedder, or the packaged model's."""
        if self._label is None:
            self._label = self.store.model_label() or STOCK
        chosen = self.passage_embedder if self._label != STOCK else self.embedder
        if chosen is None:
            raise RuntimeError("this Indexer was opened without embedders")
        return chosen

    def _plan(self, records: list[Document]) -> None:
        """Tell each embedder which texts it is about to be asked for, in order."""
        texts = [r.page_content for r in records]
        if self.embedder is None or self.passage_embedder is None:
            return
        if self.passage_side is self.embedder:
            self.embedder.plan(texts)
            return
        kinds = [r.metadata.get("kind") for r in records]
        self.passage_embedder.plan([t for t, k in zip(texts, kinds, strict=True) if k == CHUNK])
        self.embedder.plan([t for t, k in zip(texts, kinds, strict=True) if k != CHUNK])

    def _use_model(self, loaded: list[tuple[str, list[Document]]], report: IngestReport) -> None:
        """On a first build (an empty index), choose the model that embeds the passages:
        one fitted to these documents (``settings.adapt``), or the packaged one."""
        if not all(self.store.is_empty(kind) for kind in (CHUNK, SENTENCE, QUESTION)):
            self._follow(self.store.model_label() or STOCK)
            return
        chosen = STOCK
        if self.settings.adapt:
            records = [r for _, rs in loaded for r in rs]
            chosen = self._fit(
                [r for r in records if r.metadata.get("kind") == CHUNK],
                [r for r in records if r.metadata.get("kind") == QUESTION],
                report,
            )
        if chosen != self.store.model_label():
            self.store.set_model_label(chosen)
        self._follow(chosen)

    def _follow(self, label: str) -> None:
        """Embed passages with the model ``label`` from now on. Read under the ingest lock
        on every ingest: another process may have rebuilt the index with another model
        since this Indexer (the admin page's lives as long as the server) last looked."""
        if label != self._label:
            self._label = label
            if self.passage_embedder is not None:
                self.passage_embedder.reset()

    def _fit(self, chunks: list[Document], questions: list[Document], report: IngestReport) -> str:
        plan = fitting_plan(chunks, limit=self.settings.adapt_pairs, questions=questions)
        if plan is None:
            report.notices.append(
                "Too little text to fit the embedding model to; using the packaged model."
            )
            return STOCK
        folder = self.settings.models_dir / plan.name
        if folder.is_dir():
            report.notices.append(
                f"Embedding model: {plan.name} (already fitted to these documents)."
            )
            return plan.name
        from kapbot.embeddings import ensure_exported
        from kapbot.fitting import fit_model

        self.progress.start(plan.size, "Fitting the model to the documents", unit="pair")
        try:
            fit_model(plan.steps, folder, progress=self.progress.advance)
        finally:
            self.progress.close()
        ensure_exported(self.settings.models_dir, folder)
        report.notices.append(
            f"Embedding model: {plan.name}, fitted to these documents "
            f"({plan.pairs} pairs, {len(plan.steps)} steps)."
        )
        return plan.name

    def _under(self, source: str, folders: list[Path]) -> bool:
        path = source_path(source, self.settings.corpus_dir).resolve()
        return any(path.is_relative_to(folder) for folder in folders)

    # -- removal --------------------------------------------------------------------

    def remove(self, sources: Sequence[str]) -> IngestReport:
        """Remove documents (by source id or by path) from both indexes."""
        report = IngestReport()
        with self.locked():
            indexed = self.store.source_stats()
            targets = []
            for name in sources:
                source = (
                    name if name in indexed else source_id(Path(name), self.settings.corpus_dir)
                )
                if source in indexed:
                    targets.append(source)
                else:
                    report.errors.append(
                        FileError(name, "is not indexed (see `kapbot sources` for what is)")
                    )
            self._remove(targets, report)
            self.sync_keyword()
            if report.deleted:
                self.store.mark_changed()
        return report

    def _remove(self, sources: list[str], report: IngestReport) -> None:
        for source in sources:
            keys = self.records.list_keys(group_ids=[source])
            chunks = self.store.ids_for_source(source, kind=CHUNK)
            ids = sorted(set(keys) | set(self.store.ids_for_source(source)))
            self.store.delete(ids)
            delete_keys(self.records, keys)
            report.chunks_deleted += len(chunks)
            report.deleted.append(source)
        self.catalog.forget(sources)

    # -- consistency ----------------------------------------------------------------

    def _forget_records_without_vectors(self) -> None:
        """Records whose chunk is missing from the store (e.g. a wiped server) are dropped,
        so ``index()`` writes those chunks again instead of skipping them."""
        missing = set(self.records.list_keys()) - set(self.store.ids(kind=None))
        if missing:
            log.warning("%d indexed chunks were missing from the store; re-adding", len(missing))
            delete_keys(self.records, sorted(missing))

    def _delete_vectors_without_records(self) -> None:
        """Vectors no record knows of (left by an interrupted run) are deleted."""
        orphans = set(self.store.ids(kind=None)) - set(self.records.list_keys())
        if orphans:
            log.warning("deleting %d chunks left by an interrupted run", len(orphans))
            self.store.delete(sorted(orphans))

    def sync_keyword(self) -> KeywordIndex:
        """The keyword index for the collection as it is now (rebuilt if out of step)."""
        return keyword_index(self.settings.keyword_dir, self.store)

    # -- listing --------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        """Every indexed document with its chunk count and when it was added."""
        times = self.catalog.times()
        lint: dict[str, list[str]] = {}
        for chunk in self.sync_keyword().docs:
            found = lint.setdefault(str(chunk.metadata.get("source", "")), [])
            found += [s for s in promise_sentences(chunk.page_content) if s not in found]
        out = []
        for source, (title, count) in sorted(self.store.source_stats().items()):
            t = times.get(source)
            out.append(
                SourceInfo(
                    source=source,
                    title=title,
                    chunks=count,
                    added=t.first_added if t else "",
                    updated=t.updated if t else "",
                    warnings=tuple(lint.get(source, ())),
                )
            )
        return out


def ensure_index(settings: Settings, progress: Progress | None = None) -> IngestReport | None:
    """Build the index from the corpus folder when it is empty (or has passages without
    their sentences: an index of the older one-collection layout); None when it was not."""
    indexer = Indexer.open(settings, progress=progress)
    if not indexer.store.is_empty() and not indexer.store.is_empty(SENTENCE):
        indexer.sync_keyword()
        return None
    if not indexer.store.is_empty():  # rebuild the sentences of what is indexed
        paths = [source_path(s, settings.corpus_dir) for s in indexer.store.source_stats()]
        return indexer.ingest([p for p in paths if p.exists()])
    if not settings.corpus_dir.is_dir():
        raise KapbotError(
            f"The index is empty and the corpus folder {settings.corpus_dir} does not exist; "
            "set KAPBOT_CORPUS_DIR or run `kapbot ingest PATH`."
        )
    return indexer.ingest([settings.corpus_dir])
