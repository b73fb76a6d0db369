"""Hybrid retrieval: dense (Chroma) and keyword (BM25) candidates, fused.

``HybridRetriever`` is a LangChain ``BaseRetriever``, so it composes with the ecosystem;
kapbot itself calls :meth:`HybridRetriever.search`, which returns typed passages.

Example:
    >>> retriever = HybridRetriever(store=store, keyword=keyword, settings=settings)  # doctest: +SKIP
    >>> [p.source for p in retriever.search("does insurance cover KAP?")]  # doctest: +SKIP
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from kapbot.chunking import CHUNK, QUESTION, SENTENCE
from kapbot.emphasis import CommonWords, emphasise
from kapbot.exact import ExactIndex
from kapbot.followup import has_context
from kapbot.glossary import by_meaning
from kapbot.keyword import KeywordIndex, load_in_step
from kapbot.records import Passage
from kapbot.scope import scope_pattern, sources_in_scope
from kapbot.settings import Settings
from kapbot.store import ChunkStore


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: float = 60.0
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(d) = sum of weight / (k + rank), rank from 1.

    ``k`` (60 in Cormack et al., 2009) damps the advantage of the very first ranks, so
    a passage ranked well by both retrievers beats one ranked first by only one.
    """
    if len(rankings) != len(weights):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return _best_first(scores)


def relative_score_fusion(
    scored: Sequence[Mapping[str, float]],
    weights: Sequence[float],
    floors: Sequence[float | None] = (),
) -> list[tuple[str, float]]:
    """Fuse scored candidate lists: each list's scores scaled to 0-1, then summed by weight.

    Within one list the best candidate scores 1 and the worst 0 (a list whose
    candidates all score the same gives each 1); a candidate a list did not return
    gets 0 from it. Unlike reciprocal rank fusion, the size of the gaps counts: a
    passage BM25 puts far ahead of the rest (the one passage naming a rare word) is
    not outvoted by three vector rankings that barely separate their first places.
    (Weaviate's "relative score fusion".) Ties are broken by id.

    A list given a floor in ``floors`` (its scores are similarities from the floor to 1)
    is scaled from the floor to 1 instead: a candidate only just over the floor counts
    for little even when it is the list's only one.
    """
    if len(scored) != len(weights):
        raise ValueError(f"{len(scored)} scored lists but {len(weights)} weights")
    fused: dict[str, float] = {}
    for i, (scores, weight) in enumerate(zip(scored, weights, strict=True)):
        if not scores:
            continue
        floor = floors[i] if i < len(floors) else None
        high, low = max(scores.values()), min(scores.values())
        for item, score in scores.items():
            if floor is not None:
                scaled = max(0.0, min(1.0, (score - floor) / (1.0 - floor))) if floor < 1 else 1.0
            else:
                scaled = (score - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + weight * scaled
    return _best_first(fused)


def demote_outside_scope(
    fused: Sequence[tuple[str, float]],
    source_of: Mapping[str, str],
    in_scope: Set[str],
    penalty: float,
) -> list[tuple[str, float]]:
    """``fused`` with ``penalty`` taken off each passage whose document (``source_of``
    its id) is not ``in_scope``, best first again."""
    return _best_first(
        {
            cid: score if source_of.get(cid, "") in in_scope else score - penalty
            for cid, score in fused
        }
    )


def reorder_within(
    fused: Sequence[tuple[str, float]], order: Sequence[str]
) -> list[tuple[str, float]]:
    """``fused`` with the places of the ids in ``order`` kept and filled in that order
    (each place keeps its score, so the list stays best first). Ids of ``order`` that
    are not in ``fused`` are ignored; ids of ``fused`` missing from ``order`` keep theirs.
    """
    present = {cid for cid, _ in fused}
    movable = [cid for cid in order if cid in present]
    moving = set(movable)
    replacements = iter(movable)
    return [(next(replacements) if cid in moving else cid, score) for cid, score in fused]


def _union(
    first: Sequence[tuple[Document, float]], second: Sequence[tuple[Document, float]]
) -> list[tuple[Document, float]]:
    """The hits of both lists, each once, best first."""
    hits = {d.id or "": (d, score) for d, score in (*first, *second)}
    return sorted(hits.values(), key=lambda hit: (-hit[1], hit[0].id or ""))


def _best_first(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Highest score first; ties broken by id, so the order never depends on input order."""
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def to_passage(
    doc: Document,
    score: float,
    similarity: float,
    matched: Sequence[tuple[str, float]] = (),
) -> Passage:
    meta = doc.metadata
    return Passage(
        id=doc.id or "",
        text=doc.page_content,
        source=str(meta.get("source", "")),
        score=score,
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        url=str(meta.get("url", "")),
        publisher=str(meta.get("publisher", "")),
        similarity=similarity,
        matched=tuple(matched),
        owner=str(meta.get("owner", "third_party")),
        section_path=str(meta.get("section_path", "")),
    )


def keyword_index(folder: Path, store: ChunkStore) -> KeywordIndex:
    """The keyword index in step with the store: its chunks, each with the curated
    questions that quote it (rebuilt when either set of ids changed)."""
    ids = store.ids() + store.ids(kind=QUESTION)
    return load_in_step(folder, ids, store.iter_chunks, store.questions_by_chunk)


@dataclass(frozen=True)
class ClinicIndex:
    """The in-scope documents' records, searched apart from the rest: passages and
    sentences by exact vector search, passages by BM25 among them alone."""

    passages: ExactIndex
    sentences: ExactIndex
    keyword: KeywordIndex


class HybridRetriever(BaseRetriever):
    """Dense + BM25 candidates, fused by relative score (or reciprocal rank) fusion."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ChunkStore
    keyword: KeywordIndex
    settings: Settings
    # The in-scope documents' records are searched apart (in memory) up to this many
    # passages; above it they are numerous enough to hold their own among the candidates.
    scope_memory_limit: int = 20_000
    # A kind of record with at most this many is searched in memory (an exact search over
    # its vectors, read from Chroma once), larger ones by Chroma's own index: a query on a
    # small collection costs Chroma milliseconds of overhead, a matrix product microseconds.
    memory_limit: int = 20_000
    # What embeds a message: its packaged model's vectors and the vectors to search the
    # passages with (``kapbot.embeddings.QueryEncoder.encode``); None: the store's model
    # gives both.
    encode: Callable[[list[str]], tuple[list[list[float]], list[list[float]]]] | None = None
    _in_scope: Set[str] | None = PrivateAttr(default=None)
    _scope_known: bool = PrivateAttr(default=False)
    _apart: ClinicIndex | None = PrivateAttr(default=None)
    _common: CommonWords | None = PrivateAttr(default=None)
    _memory: dict[str, ExactIndex | None] = PrivateAttr(default_factory=dict)

    def in_scope(self) -> Set[str] | None:
        """The documents inside the clinic's scope (``settings.scope_words``), or None
        when the scope changes no ranking: it is off, or every document is on the
        same side of it. Worked out once, from the keyword index's chunks (all of them),
        together with the in-memory search over those documents' records.
        """
        if not self._scope_known:
            s = self.settings
            pattern = scope_pattern(s.scope_words) if s.scope_penalty > 0 else None
            inside: Set[str] | None = None
            if pattern is not None:
                passages = [
                    (str(d.metadata.get("source", "")), d.page_content) for d in self.keyword.docs
                ]
                inside = sources_in_scope(passages, pattern)
                if not inside or inside == {source for source, _ in passages}:
                    inside = None
                elif sum(source in inside for source, _ in passages) <= self.scope_memory_limit:
                    self._apart = ClinicIndex(
                        passages=ExactIndex.build(self.store.with_vectors(CHUNK, inside)),
                        sentences=ExactIndex.build(self.store.with_vectors(SENTENCE, inside)),
                        keyword=KeywordIndex.build(
                            (d for d in self.keyword.docs if d.metadata.get("source") in inside),
                            self.store.questions_by_chunk(),
                        ),
                    )
            self._in_scope, self._scope_known = inside, True
        return self._in_scope

    def common_words(self) -> CommonWords:
        """The words most of the clinic's passages share (of all passages, when the
        scope does not apply), counted once."""
        if self._common is None:
            inside = self.in_scope()
            self._common = CommonWords.count(
                (
                    d.page_content
                    for d in self.keyword.docs
                    if inside is None or d.metadata.get("source") in inside
                ),
                self.settings.common_word_share,
            )
        return self._common

    def prepare(self) -> None:
        """Work out everything read from the whole index once (scope, common words, the
        records searched in memory), so that no patient's question waits for it."""
        self.in_scope()
        self.common_words()
        for kind in (CHUNK, SENTENCE, QUESTION):
            self.in_memory(kind)

    def in_memory(self, kind: str = CHUNK) -> ExactIndex | None:
        """The records of ``kind`` held in memory for searching, or None when there are
        more than ``memory_limit`` of them (or none): read once, like the keyword index."""
        if kind not in self._memory:
            count = self.store.count(kind)
            self._memory[kind] = (
                ExactIndex.build(self.store.with_vectors(kind, None))
                if 0 < count <= self.memory_limit
                else None
            )
        return self._memory[kind]

    def nearest(
        self, vector: Sequence[float], k: int, kind: str = CHUNK
    ) -> list[tuple[Document, float]]:
        """The ``k`` records of ``kind`` nearest to ``vector``, with cosine similarity."""
        index = self.in_memory(kind)
        if index is not None:
            return index.search(vector, k)
        return self.store.search_by_vector(vector, k, kind=kind)

    def query_texts(self, query: str) -> list[str]:
        """What to embed for ``query``: itself, then its distinctive words if it has
        any (not for a follow-up carrying the conversation's words: those name what
        it is about, and most of them are words every passage shares)."""
        if self.settings.distinctive_weight <= 0 or has_context(query):
            return [query]
        distinctive = self.common_words().distinctive(query)
        return [query] if distinctive is None else [query, distinctive]

    def query_vector(self, vectors: Sequence[Sequence[float]]) -> list[float]:
        """The search vector from the embeddings of :meth:`query_texts`."""
        return emphasise(vectors, self.settings.distinctive_weight)

    def query_vectors(self, query: str) -> tuple[list[float], list[float]]:
        """The search vectors of ``query``: for the sentence and question records, and
        for the passages (the query head's, when the passage model has one)."""
        texts = self.query_texts(by_meaning(query))
        if self.encode is None:
            own = passages = self.store.embed_queries(texts)
        else:
            own, passages = self.encode(texts)
        return self.query_vector(own), self.query_vector(passages)

    def _candidates(
        self,
        query: str,
        vector: Sequence[float],
        passage_vector: Sequence[float],
        inside: Set[str] | None,
    ) -> tuple[list[tuple[Document, float]], ...]:
        """Passages by vector, sentences by vector, passages by BM25: from the whole
        index, and, while the clinic's own documents are searched apart, from them too
        (other services' pages can fill every list of a large corpus and leave the
        clinic's passages unseen; a score is the same whichever search found it)."""
        s = self.settings
        dense = self.nearest(passage_vector, s.dense_candidates)
        sentences = self.nearest(vector, s.sentence_candidates, kind=SENTENCE)
        sparse = self.keyword.search(query, s.keyword_candidates)
        if inside is not None and self._apart is not None:
            dense = _union(dense, self._apart.passages.search(passage_vector, s.dense_candidates))
            sentences = _union(
                sentences, self._apart.sentences.search(vector, s.sentence_candidates)
            )
            sparse = _union(sparse, self.keyword.search(query, s.keyword_candidates, inside))
        return dense, sentences, sparse

    def search(
        self,
        query: str,
        k: int | None = None,
        vector: Sequence[float] | None = None,
        passage_vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` (default ``settings.top_k``), best first.

        ``vector`` (and ``passage_vector``, for the passages' own vectors; ``vector`` if
        not given) are the search vectors when the caller already has them
        (:meth:`query_vector`); otherwise the query and its distinctive words are
        embedded here (:meth:`query_vectors`).

        Four rankings are fused (``settings.fusion``): passages by their own vector, by
        their best sentence's vector, by their best curated question's vector
        (near-paraphrases only), and BM25. Each passage carries its fused score and its
        cosine similarity to the query: that of its best sentence or its whole text,
        whichever is higher (0 when only BM25 found it; the best similarity of any
        passage in the collection is always among the vector hits).

        When the clinic's scope applies (:meth:`in_scope`), passages of documents outside
        it lose ``settings.scope_penalty``; the clinic's own are always candidates and
        keep the order they would have in an index of the clinic's documents alone.
        """
        s = self.settings
        k = s.top_k if k is None else k
        if vector is None:
            vector, passage_vector = self.query_vectors(query)
        inside = self.in_scope()
        dense, sentences, sparse = self._candidates(
            query, vector, vector if passage_vector is None else passage_vector, inside
        )
        questions = [
            hit
            for hit in self.nearest(vector, s.question_candidates, kind=QUESTION)
            if hit[1] >= s.question_min_similarity
        ]
        # A view, not a copy: the keyword index holds every chunk (100k at scale).
        docs = ChainMap({d.id or "": d for d, _ in dense}, self.keyword.by_id)
        # Each ranking as {passage id: score}, best first.
        by_vector = {d.id or "": sim for d, sim in dense}
        by_sentence = self._parents(sentences, docs)
        rankings = [
            by_vector,
            by_sentence,
            self._parents(questions, docs),
            {d.id or "": score for d, score in sparse},
        ]
        fused = self._fuse(rankings)
        if inside is not None:
            source_of = {
                cid: str(docs[cid].metadata.get("source", "")) for cid, _ in fused if cid in docs
            }
            fused = demote_outside_scope(fused, source_of, inside, s.scope_penalty)
            if self._apart is not None:
                # Which clinic passage comes before which is decided among the clinic's
                # passages alone (BM25 with their own word weights), as if no other pages
                # were indexed; the places they take among the others are kept.
                mine = [
                    *(
                        {c: v for c, v in r.items() if source_of.get(c) in inside}
                        for r in rankings[:3]
                    ),
                    {
                        d.id or "": v
                        for d, v in self._apart.keyword.search(query, s.keyword_candidates)
                    },
                ]
                fused = reorder_within(fused, [cid for cid, _ in self._fuse(mine)])
        # A passage is as similar as its best sentence (or its whole text, if higher).
        # A question's similarity is to another question, not to the passage: abstention
        # judges the passage's own text and sentences only.
        similarity = dict(by_vector)
        for cid, sim in by_sentence.items():
            similarity[cid] = max(similarity.get(cid, 0.0), sim)
        matched: dict[str, list[tuple[str, float]]] = {}
        for record, sim in sentences:  # best first already
            matched.setdefault(str(record.metadata.get("parent", "")), []).append(
                (record.page_content, sim)
            )
        top = [(cid, score) for cid, score in fused if cid in docs][:k]
        return [
            to_passage(docs[cid], score, similarity.get(cid, 0.0), matched.get(cid, ()))
            for cid, score in top
        ]

    def _fuse(self, rankings: Sequence[Mapping[str, float]]) -> list[tuple[str, float]]:
        s = self.settings
        weights = [s.dense_weight, s.sentence_weight, s.question_weight, s.keyword_weight]
        if s.fusion == "rrf":
            return reciprocal_rank_fusion([list(r) for r in rankings], weights, k=s.rrf_k)
        return relative_score_fusion(rankings, weights)

    @staticmethod
    def _parents(
        hits: Sequence[tuple[Document, float]], docs: Mapping[str, Document]
    ) -> dict[str, float]:
        """Each passage's best record (sentence or question) similarity, best first."""
        best: dict[str, float] = {}
        for record, sim in hits:
            parent = str(record.metadata.get("parent", ""))
            if parent in docs:
                best[parent] = max(best.get(parent, sim), sim)
        return dict(sorted(best.items(), key=lambda pair: -pair[1]))

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return [
            Document(
                id=p.id,
                page_content=p.text,
                metadata={
                    "source": p.source,
                    "title": p.title,
                    "section": p.section,
                    "url": p.url,
                    "score": p.score,
                    "similarity": p.similarity,
                },
            )
            for p in self.search(query, kwargs.get("k"))
        ]
