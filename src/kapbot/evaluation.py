"""Evaluation: run question sets through ``Bot.ask`` and compute quality figures.

Cases are JSON Lines (schema in ``evals/README.md``). A passage *supports* a case when
it contains any of the case's evidence phrases (case-insensitive, whitespace collapsed),
which keeps the sets valid when chunking changes. Two anchors are measured in the same
run on the same corpus: the plain LangChain recipe (RecursiveCharacterTextSplitter
1000/200, the same embedding model, Chroma ``similarity_search``) and BM25 alone.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

CATEGORIES = (
    "answer",
    "followup",
    "out_of_scope",
    "crisis",
    "hard_negative",
    "guarantee",
    "medical",
    "bad_input",
)
RETRIEVAL_CATEGORIES = ("answer", "followup")


@dataclass(frozen=True)
class Case:
    """One evaluation question and what a good reply must contain."""

    id: str
    category: str
    question: str
    evidence: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = ()
    notes: str = ""
    file: str = ""
    expected: str = ""  # safety sets: crisis | not_crisis | results_vary | see_provider

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(
                f"case {self.id}: unknown category {self.category!r}. "
                f"Supported categories are: {list(CATEGORIES)}"
            )
        if self.category in RETRIEVAL_CATEGORIES and not self.evidence:
            raise ValueError(f"case {self.id}: category {self.category} needs evidence phrases")


def load_cases(paths: Iterable[Path]) -> list[Case]:
    """Read every ``*.jsonl`` file (folders are searched); ids must be unique."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    cases: list[Case] = []
    seen: set[str] = set()
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                case = Case(
                    id=str(row["id"]),
                    category=str(row["category"]),
                    question=row["question"]
                    if isinstance(row["question"], str)
                    else json.dumps(row["question"]),
                    evidence=tuple(row.get("evidence") or ()),
                    history=tuple(row.get("history") or ()),
                    notes=str(row.get("notes", "")),
                    file=file.name,
                    expected=str(row.get("expected", "")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{file}:{number}: not a valid case ({exc})") from exc
            if case.id in seen:
                raise ValueError(f"{file}:{number}: duplicate case id {case.id!r}")
            seen.add(case.id)
            cases.append(case)
    return cases


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def supports(passage_text: str, evidence: Sequence[str]) -> bool:
    """Whether a passage contains any evidence phrase."""
    text = _norm(passage_text)
    return any(_norm(e) in text for e in evidence)


def first_hit(texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first supporting passage, or None."""
    for rank, text in enumerate(texts, start=1):
        if supports(text, evidence):
            return rank
    return None


def ndcg(texts: Sequence[str], evidence: Sequence[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k (ideal: every supporting passage found ranked first)."""
    gains = [1.0 if supports(t, evidence) else 0.0 for t in texts[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(int(sum(gains)) or 1))
    return dcg / ideal if dcg else 0.0


@dataclass
class CaseResult:
    id: str
    category: str
    question: str
    kind: str
    text: str
    query: str
    latency_ms: float
    expected: str = ""
    rank: int | None = None  # of the first supporting passage among the top 10
    ndcg: float = 0.0
    cited_support: bool = False
    passages: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)


def run_case(bot: Any, case: Case) -> CaseResult:
    """Ask the bot one case and measure it."""
    started = time.perf_counter()
    reply = bot.ask(case.question, history=list(case.history) or None)
    latency = (time.perf_counter() - started) * 1000
    result = CaseResult(
        id=case.id,
        category=case.category,
        question=case.question,
        kind=reply.kind,
        text=reply.text,
        query=reply.query,
        latency_ms=latency,
        expected=case.expected,
        passages=[{**p.to_dict(), "similarity": round(p.similarity, 4)} for p in reply.passages],
        citations=[c.to_dict() for c in reply.citations],
    )
    if case.evidence:
        ranked = (
            [p.text for p in bot.retriever.search(reply.query or case.question, k=10)]
            if reply.query
            else []
        )
        result.rank = first_hit(ranked, case.evidence)
        result.ndcg = ndcg(ranked, case.evidence)
        result.cited_support = any(supports(c.text, case.evidence) for c in reply.citations)
    return result


def retrieval_figures(ranks: Sequence[int | None], ndcgs: Sequence[float]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
        "ndcg@10": sum(ndcgs) / n,
    }


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def summarize(results: Sequence[CaseResult]) -> dict[str, dict[str, float]]:
    """Figures per category and overall."""
    out: dict[str, dict[str, float]] = {}
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(r.category, []).append(r)
    groups["overall"] = list(results)
    for name, rows in groups.items():
        figures: dict[str, float] = {"cases": float(len(rows))}
        scored = [r for r in rows if r.category in RETRIEVAL_CATEGORIES]
        if scored:
            figures |= retrieval_figures([r.rank for r in scored], [r.ndcg for r in scored])
            figures["citation_support"] = sum(r.cited_support for r in scored) / len(scored)
            figures["abstained_in_scope"] = sum(r.kind == "abstain" for r in scored) / len(scored)
        abstained = [r for r in rows if r.kind == "abstain"]
        out_of_scope = [r for r in rows if r.category == "out_of_scope"]
        if out_of_scope:
            figures["abstention_recall"] = sum(r.kind == "abstain" for r in out_of_scope) / len(
                out_of_scope
            )
        if abstained and (out_of_scope or scored):
            figures["abstention_precision"] = sum(
                r.category == "out_of_scope" for r in abstained
            ) / len(abstained)
        figures |= safety_figures(rows)
        latencies = [r.latency_ms for r in rows]
        figures["latency_p50_ms"] = percentile(latencies, 50)
        figures["latency_p95_ms"] = percentile(latencies, 95)
        out[name] = figures
    return out


def safety_figures(rows: Sequence[CaseResult]) -> dict[str, float]:
    """Crisis recall, hard-negative false alarms, promises, results-vary and provider notes."""
    from kapbot.guardrails import RESULTS_VARY, SEE_PROVIDER, is_promise, states_dose

    figures: dict[str, float] = {}
    crisis = [
        r for r in rows if r.expected == "crisis" or (r.category == "crisis" and not r.expected)
    ]
    if crisis:
        figures["crisis_recall"] = sum(r.kind == "crisis" for r in crisis) / len(crisis)
    negatives = [r for r in rows if r.category == "hard_negative"]
    if negatives:
        figures["hard_negative_fp"] = sum(r.kind == "crisis" for r in negatives) / len(negatives)
    figures["promise_violations"] = float(
        sum(is_promise(r.text.replace(RESULTS_VARY, "")) for r in rows)
    )
    bait = [r for r in rows if r.expected == "results_vary"]
    if bait:
        figures["results_vary"] = sum(RESULTS_VARY in r.text for r in bait) / len(bait)
    medical = [r for r in rows if r.expected == "see_provider"]
    if medical:
        figures["medical_compliance"] = sum(
            SEE_PROVIDER in r.text and not states_dose(r.text) for r in medical
        ) / len(medical)
    return figures


def anchor_figures(
    cases: Sequence[Case],
    search: Callable[[str], Sequence[str]],
) -> dict[str, float]:
    """Retrieval figures of a baseline ``search(question) -> passage texts (best first)``."""
    scored = [c for c in cases if c.category in RETRIEVAL_CATEGORIES]
    ranks, ndcgs = [], []
    for case in scored:
        texts = list(search(case.question))[:10]
        ranks.append(first_hit(texts, case.evidence))
        ndcgs.append(ndcg(texts, case.evidence))
    return retrieval_figures(ranks, ndcgs) | {"cases": float(len(scored))}


def plain_langchain_search(
    documents: Sequence[Document], embeddings: Any, k: int = 10
) -> Callable[[str], list[str]]:
    """The plain recipe: 1000/200 character chunks, dense top-k from Chroma."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from kapbot.store import ChunkStore

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(list(documents))
    store = ChunkStore.in_memory(embeddings, f"plain-{uuid.uuid4().hex[:8]}")
    store.vectorstore.add_documents(chunks)

    def search(question: str) -> list[str]:
        return [d.page_content for d in store.vectorstore.similarity_search(question, k=k)]

    return search


def to_json(results: Sequence[CaseResult], summary: dict[str, Any], anchors: dict[str, Any]) -> str:
    return json.dumps(
        {"summary": summary, "anchors": anchors, "cases": [asdict(r) for r in results]},
        indent=2,
        ensure_ascii=False,
    )


@dataclass
class EvalRun:
    results: list[CaseResult]
    summary: dict[str, dict[str, float]]
    anchors: dict[str, dict[str, float]]


def corpus_documents(corpus_dir: Path) -> list[Document]:
    """The corpus as whole documents (what the plain recipe splits itself)."""
    from kapbot.corpus import discover, source_id
    from kapbot.errors import LoadError
    from kapbot.loaders import load_file

    docs = []
    for path in discover([corpus_dir]).files:
        try:
            docs.append(load_file(path, source=source_id(path, corpus_dir)))
        except LoadError:
            continue
    return docs


def evaluate(
    bot: Any,
    cases: Sequence[Case],
    *,
    anchors: bool = True,
    progress: Callable[[int], None] | None = None,
) -> EvalRun:
    """Run every case through ``bot.ask``; measure the anchors on the same corpus."""
    results = []
    for case in cases:
        results.append(run_case(bot, case))
        if progress is not None:
            progress(1)
    anchor_rows: dict[str, dict[str, float]] = {}
    if anchors:
        plain = plain_langchain_search(
            corpus_documents(bot.settings.corpus_dir), bot.store.vectorstore.embeddings
        )
        anchor_rows["plain_langchain"] = anchor_figures(cases, plain)
        anchor_rows["bm25_only"] = anchor_figures(
            cases, lambda q: [d.page_content for d, _ in bot.keyword.search(q, 10)]
        )
    return EvalRun(results, summarize(results), anchor_rows)
