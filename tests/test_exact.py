"""The in-memory exact search (pure numpy, no model)."""

from __future__ import annotations

import math

import pytest
from langchain_core.documents import Document

from kapbot.exact import ExactIndex


def _doc(cid: str) -> Document:
    return Document(id=cid, page_content=f"text of {cid}", metadata={"source": f"{cid}.md"})


RECORDS = [
    (_doc("east"), [1.0, 0.0]),
    (_doc("north"), [0.0, 2.0]),  # not unit length: cosine, not dot product
    (_doc("north-east"), [1.0, 1.0]),
    (_doc("west"), [-3.0, 0.0]),
]


@pytest.fixture(scope="module")
def index() -> ExactIndex:
    return ExactIndex.build(RECORDS)


def test_nearest_first_with_cosine_similarity(index: ExactIndex) -> None:
    hits = index.search([0.9, 0.1], k=4)

    assert [d.id for d, _ in hits] == ["east", "north-east", "north", "west"]
    x, y = 0.9 / math.hypot(0.9, 0.1), 0.1 / math.hypot(0.9, 0.1)
    expected = [x, (x + y) / math.sqrt(2), y, -x]
    assert [s for _, s in hits] == pytest.approx(expected, abs=1e-6)


def test_k_limits_and_larger_k_returns_all(index: ExactIndex) -> None:
    assert [d.id for d, _ in index.search([0.0, 1.0], k=2)] == ["north", "north-east"]
    assert len(index.search([0.0, 1.0], k=50)) == len(RECORDS)


def test_query_length_does_not_matter(index: ExactIndex) -> None:
    short, long = index.search([0.3, 0.4], k=4), index.search([3.0, 4.0], k=4)

    assert [d.id for d, _ in short] == [d.id for d, _ in long]
    assert [s for _, s in short] == pytest.approx([s for _, s in long])


def test_ties_are_broken_by_id() -> None:
    twins = ExactIndex.build([(_doc("b"), [1.0, 0.0]), (_doc("a"), [2.0, 0.0])])

    assert [d.id for d, _ in twins.search([1.0, 0.0], k=2)] == ["a", "b"]
    assert [d.id for d, _ in twins.search([1.0, 0.0], k=1)] == ["a"]


@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_k_finds_nothing(index: ExactIndex, k: int) -> None:
    assert index.search([1.0, 0.0], k=k) == []


def test_zero_query_finds_nothing(index: ExactIndex) -> None:
    assert index.search([0.0, 0.0], k=3) == []


def test_empty_index_finds_nothing() -> None:
    empty = ExactIndex.build([])

    assert len(empty) == 0
    assert empty.search([1.0, 0.0], k=3) == []


def test_a_zero_record_is_kept_and_ranks_at_zero() -> None:
    index = ExactIndex.build([(_doc("zero"), [0.0, 0.0]), (_doc("west"), [-1.0, 0.0])])

    assert [(d.id, round(s, 6)) for d, s in index.search([1.0, 0.0], k=2)] == [
        ("zero", 0.0),
        ("west", -1.0),
    ]
