"""Unit tests for the fusion functions of kapbot.retrieval (pure functions)."""

from __future__ import annotations

import random

import pytest

from kapbot.retrieval import (
    demote_outside_scope,
    reciprocal_rank_fusion,
    relative_score_fusion,
    reorder_within,
)


def ids(fused: list[tuple[str, float]]) -> list[str]:
    return [item for item, _ in fused]


def test_hand_computed_scores() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], weights=(1, 1), k=60)
    assert ids(fused) == ["b", "a", "d", "c"]
    expected = {
        "b": 1 / 62 + 1 / 61,
        "a": 1 / 61,
        "d": 1 / 62,
        "c": 1 / 63,
    }
    assert dict(fused) == pytest.approx(expected, rel=1e-12)


def test_default_k_is_60() -> None:
    rankings = [["a", "b"], ["c", "a"]]
    assert reciprocal_rank_fusion(rankings, (1, 1)) == reciprocal_rank_fusion(
        rankings, (1, 1), k=60
    )


def test_k_is_used() -> None:
    rankings = [["a", "x", "b"], ["y", "b"]]
    sharp = reciprocal_rank_fusion(rankings, weights=(1, 1), k=0)
    assert dict(sharp) == pytest.approx({"a": 1.0, "y": 1.0, "b": 1 / 3 + 1 / 2, "x": 1 / 2})
    assert ids(sharp) == ["a", "y", "b", "x"]
    # A large k damps first places: agreement between the lists wins.
    assert ids(reciprocal_rank_fusion(rankings, weights=(1, 1), k=60))[0] == "b"


def test_item_in_both_lists_beats_item_first_in_one() -> None:
    dense = ["solo", "x1", "x2", "x3", "both"]
    keyword = ["y1", "y2", "both"]
    fused = reciprocal_rank_fusion([dense, keyword], weights=(1, 1))
    assert ids(fused)[0] == "both"
    scores = dict(fused)
    assert scores["both"] > scores["solo"] == scores["y1"]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ((1, 1), ["a", "b"]),  # exact tie: broken by id
        ((1, 2), ["b", "a"]),  # the second ranking puts b first and counts double
        ((2, 1), ["a", "b"]),
        ((0, 1), ["b", "a"]),
        ((1, 0), ["a", "b"]),
    ],
)
def test_weights_change_the_order(weights: tuple[float, float], expected: list[str]) -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=weights)
    assert ids(fused) == expected


def test_weight_scales_scores() -> None:
    fused = dict(reciprocal_rank_fusion([["a"], ["b"]], weights=(0.25, 3.0)))
    assert fused == pytest.approx({"a": 0.25 / 61, "b": 3.0 / 61})


@pytest.mark.parametrize(
    ("rankings", "weights"),
    [
        ([["a"]], (1, 1)),
        ([["a"], ["b"]], (1,)),
        ([], (1,)),
        ([["a"]], ()),
    ],
)
def test_mismatched_lengths_raise(rankings: list[list[str]], weights: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="rankings"):
        reciprocal_rank_fusion(rankings, weights)


@pytest.mark.parametrize(
    "rankings",
    [
        [["b"], ["a"]],
        [["a"], ["b"]],
        [["y", "x"], ["x", "y"]],
        [["c", "b", "a"], ["a", "b", "c"]],
    ],
)
def test_ties_are_broken_by_id(rankings: list[list[str]]) -> None:
    fused = reciprocal_rank_fusion(rankings, weights=(1, 1))
    scores = [score for _, score in fused]
    assert len(set(scores)) < len(scores) or len(fused) == 1  # there is a tie
    # Score descending, then id ascending; the same whichever list came first.
    assert fused == sorted(fused, key=lambda pair: (-pair[1], pair[0]))
    assert fused == reciprocal_rank_fusion(rankings[::-1], weights=(1, 1))


def test_result_is_deterministic_for_shuffled_ties() -> None:
    items = [f"doc{i:02d}" for i in range(20)]
    rng = random.Random(7)
    for _ in range(10):
        one = items[:]
        rng.shuffle(one)
        # Swap neighbours: the two items of each pair get exactly the same total score.
        two = [one[i ^ 1] for i in range(len(one))]
        fused = reciprocal_rank_fusion([one, two], weights=(1, 1))
        assert fused == reciprocal_rank_fusion([two, one], weights=(1, 1))
        expected = [name for i in range(0, 20, 2) for name in sorted(one[i : i + 2])]
        assert ids(fused) == expected
        scores = [score for _, score in fused]
        assert all(scores[i] == scores[i + 1] for i in range(0, 20, 2))


@pytest.mark.parametrize(
    ("rankings", "weights"),
    [([], ()), ([[]], (1,)), ([[], []], (1, 1))],
)
def test_empty_rankings_give_empty_list(
    rankings: list[list[str]], weights: tuple[float, ...]
) -> None:
    assert reciprocal_rank_fusion(rankings, weights) == []


def test_every_item_appears_once() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d"], ["e"]], weights=(1, 1, 1))
    assert sorted(ids(fused)) == ["a", "b", "c", "d", "e"]


# --- relative score fusion ---------------------------------------------------------------


def test_relative_score_fusion_hand_computed() -> None:
    dense = {"a": 0.9, "b": 0.8, "c": 0.5}  # scaled: a 1, b 0.75, c 0
    bm25 = {"b": 4.0, "d": 2.0}  # scaled: b 1, d 0
    fused = relative_score_fusion([dense, bm25], weights=(1, 2))
    assert dict(fused) == pytest.approx({"a": 1.0, "b": 0.75 + 2.0, "c": 0.0, "d": 0.0})
    assert ids(fused) == ["b", "a", "c", "d"]  # c and d tie at 0: broken by id


def test_a_ranking_far_surer_of_its_first_passage_outweighs_close_calls() -> None:
    # Three correlated vector rankings barely separate x from y; BM25 puts y far ahead
    # (the one passage naming a rare word). Rank fusion follows the three; score fusion
    # sees the gaps.
    vectors = [{"x": 0.62, "y": 0.61, "z": 0.40}] * 3
    bm25 = {"y": 3.3, "x": 1.7, "z": 1.6}
    assert ids(relative_score_fusion([*vectors, bm25], (1, 1, 1, 1)))[0] == "y"
    rank_fused = reciprocal_rank_fusion([list(r) for r in [*vectors, bm25]], (1, 1, 1, 1))
    assert ids(rank_fused)[0] == "x"


def test_relative_score_fusion_is_invariant_to_each_rankings_scale() -> None:
    one = {"a": 0.3, "b": 0.2, "c": 0.1}
    two = {"c": 9.0, "a": 5.0, "b": 1.0}
    scaled = {k: 10 * v + 7 for k, v in two.items()}
    plain = relative_score_fusion([one, two], (1, 1))
    rescaled = relative_score_fusion([one, scaled], (1, 1))
    assert ids(plain) == ids(rescaled) == ["a", "c", "b"]
    assert dict(plain) == pytest.approx(dict(rescaled))


def test_a_ranking_whose_candidates_tie_gives_each_full_credit() -> None:
    fused = dict(relative_score_fusion([{"a": 2.0, "b": 2.0}, {"c": 0.5}], (1, 0.5)))
    assert fused == pytest.approx({"a": 1.0, "b": 1.0, "c": 0.5})


def test_relative_score_fusion_edge_cases() -> None:
    assert relative_score_fusion([], ()) == []
    assert relative_score_fusion([{}, {}], (1, 1)) == []
    with pytest.raises(ValueError, match="scored lists"):
        relative_score_fusion([{"a": 1.0}], (1, 1))
    fused = relative_score_fusion([{"b": 1.0, "a": 1.0}, {"a": 1.0, "b": 1.0}], (1, 1))
    assert fused == [("a", 2.0), ("b", 2.0)]


def test_a_passage_outside_the_scope_loses_the_penalty() -> None:
    fused = [("dental-1", 3.0), ("kap-1", 2.5), ("kap-2", 1.0), ("dental-2", 0.9)]
    source_of = {
        "dental-1": "dental.md",
        "kap-1": "kap.md",
        "kap-2": "kap.md",
        "dental-2": "dental.md",
    }
    demoted = demote_outside_scope(fused, source_of, {"kap.md"}, penalty=1.0)
    assert demoted == [
        ("kap-1", 2.5),
        ("dental-1", 2.0),
        ("kap-2", 1.0),
        ("dental-2", pytest.approx(-0.1)),
    ]


def test_a_far_better_passage_outside_the_scope_still_comes_first() -> None:
    fused = [("parking-1", 3.5), ("kap-1", 1.2)]
    source_of = {"parking-1": "parking.md", "kap-1": "kap.md"}
    assert demote_outside_scope(fused, source_of, {"kap.md"}, penalty=1.0)[0] == ("parking-1", 2.5)


def test_no_penalty_keeps_the_order() -> None:
    fused = [("b", 2.0), ("a", 1.0)]
    assert demote_outside_scope(fused, {"a": "x", "b": "y"}, {"x"}, penalty=0.0) == fused


# --- reorder_within: the clinic's passages in their own order, in the places they hold ---

MIXED = [("a", 4.0), ("x", 3.0), ("b", 2.0), ("y", 1.0), ("c", 0.5)]


def test_places_and_scores_are_kept_and_filled_in_the_given_order() -> None:
    assert reorder_within(MIXED, ["c", "a", "b"]) == [
        ("c", 4.0),
        ("x", 3.0),
        ("a", 2.0),
        ("y", 1.0),
        ("b", 0.5),
    ]


def test_the_same_order_changes_nothing() -> None:
    assert reorder_within(MIXED, ["a", "b", "c"]) == MIXED


def test_ids_not_in_the_list_are_ignored() -> None:
    assert reorder_within(MIXED, ["z", "b", "q", "a"]) == [
        ("b", 4.0),
        ("x", 3.0),
        ("a", 2.0),
        ("y", 1.0),
        ("c", 0.5),
    ]


def test_ids_missing_from_the_order_keep_their_places() -> None:
    assert ids(reorder_within(MIXED, ["c", "a"])) == ["c", "x", "b", "y", "a"]


@pytest.mark.parametrize("order", [[], ["nothing"]])
def test_an_order_of_no_listed_ids_changes_nothing(order: list[str]) -> None:
    assert reorder_within(MIXED, order) == MIXED


def test_scores_stay_best_first_and_every_id_appears_once() -> None:
    rng = random.Random(7)
    for _ in range(50):
        fused = [(f"p{i}", float(20 - i)) for i in range(rng.randint(0, 12))]
        order = [cid for cid, _ in fused if rng.random() < 0.6]
        rng.shuffle(order)
        out = reorder_within(fused, order)
        assert [score for _, score in out] == [score for _, score in fused]
        assert sorted(ids(out)) == sorted(ids(fused))
        assert [cid for cid in ids(out) if cid in order] == order
