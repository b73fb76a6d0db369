"""Evaluation metrics (pure) and one small evaluation run through the real bot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kapbot.evaluation import (
    Case,
    CaseResult,
    first_hit,
    load_cases,
    ndcg,
    percentile,
    summarize,
    supports,
)


def test_supports_ignores_case_and_whitespace() -> None:
    assert supports("The cost of\n  KAP varies.", ["cost of kap"])
    assert not supports("The cost of KAP varies.", ["insurance"])


def test_first_hit_and_ndcg() -> None:
    texts = ["nothing", "Insurance rarely pays", "insurance again"]
    assert first_hit(texts, ["insurance"]) == 2
    assert first_hit(texts, ["absent"]) is None
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg(texts, ["insurance"]) == pytest.approx(expected)
    assert ndcg(texts, ["absent"]) == 0.0


def test_percentile() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([], 95) == 0.0


def _result(category: str, kind: str, rank: int | None = None, cited: bool = False) -> CaseResult:
    return CaseResult("x", category, "q", kind, "t", "q", 10.0, rank=rank, cited_support=cited)


def test_summary_figures() -> None:
    results = [
        _result("answer", "answer", 1, True),
        _result("answer", "answer", 3, False),
        _result("answer", "abstain", None, False),
        _result("out_of_scope", "abstain"),
        _result("out_of_scope", "answer"),
    ]
    answer = summarize(results)["answer"]
    assert answer["hit@1"] == pytest.approx(1 / 3)
    assert answer["hit@5"] == pytest.approx(2 / 3)
    assert answer["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert answer["citation_support"] == pytest.approx(1 / 3)
    overall = summarize(results)["overall"]
    assert overall["abstention_recall"] == pytest.approx(0.5)
    assert overall["abstention_precision"] == pytest.approx(0.5)


def test_cases_are_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps({"id": "a", "category": "answer", "question": "q", "evidence": ["e"]}) + "\n"
    )
    assert load_cases([good])[0] == Case("a", "answer", "q", ("e",), file="good.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "b", "category": "nonsense", "question": "q"}) + "\n")
    with pytest.raises(ValueError, match="unknown category 'nonsense'"):
        load_cases([bad])
    dup = tmp_path / "dup.jsonl"
    dup.write_text(good.read_text() * 2)
    with pytest.raises(ValueError, match="duplicate case id"):
        load_cases([dup])
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"id": "c", "category": "answer", "question": "q"}) + "\n")
    with pytest.raises(ValueError, match="needs evidence"):
        load_cases([missing])


def test_bundled_sets_load() -> None:
    cases = load_cases([Path(__file__).resolve().parents[1] / "evals"])
    by_category: dict[str, int] = {}
    for case in cases:
        by_category[case.category] = by_category.get(case.category, 0) + 1
    assert by_category["answer"] >= 60
    assert by_category["followup"] >= 10
    assert by_category["out_of_scope"] >= 10


@pytest.mark.integration
def test_small_evaluation_run_with_anchors(built_indexer, settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from kapbot.bot import Bot
    from kapbot.evaluation import evaluate

    bot = Bot(settings, embeddings=embeddings)
    cases = [
        Case(
            "a1",
            "answer",
            "Does insurance cover Spravato?",
            ("Insurance coverage is more common with Spravato",),
        ),
        Case(
            "a2",
            "answer",
            "What are common side effects?",
            ("Potential common side effects of ketamine",),
        ),
        Case("o1", "out_of_scope", "Who won the football game last night?"),
    ]
    run = evaluate(bot, cases)
    assert [r.id for r in run.results] == ["a1", "a2", "o1"]
    assert run.results[2].kind == "abstain"
    assert run.summary["answer"]["cases"] == 2
    for anchor in ("plain_langchain", "bm25_only"):
        figures = run.anchors[anchor]
        assert figures["cases"] == 2
        assert 0.0 <= figures["hit@5"] <= 1.0
    assert run.anchors["plain_langchain"]["hit@5"] > 0  # the plain recipe really ran
