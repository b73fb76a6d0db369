"""A message's distinctive words (pure) and their use by the search (real model and Chroma)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from kapbot.emphasis import CommonWords, emphasise

PASSAGES = [
    "KAP combines ketamine with psychotherapy.",
    "Ketamine infusions are given by IV; KAP sessions last hours.",
    "Insurance may cover the psychotherapy part of KAP.",
    "Parking is free.",
]


def test_common_words_are_those_in_more_than_the_share_of_passages() -> None:
    common = CommonWords.count(PASSAGES, share=0.5)
    assert common.common == {"kap"}  # 3 of 4; "ketamine" and "psychotherapy" in 2 of 4
    assert CommonWords.count(PASSAGES, share=0.4).common == {"kap", "ketamine", "psychotherapy"}


def test_stop_words_are_never_common() -> None:
    assert "the" not in CommonWords.count(["the cost", "the risk", "the time"], 0.5).common


@pytest.mark.parametrize(
    ("message", "distinctive"),
    [
        ("Is KAP addictive?", "is addictive"),  # stop words kept, punctuation dropped
        ("how does ketamine psychotherapy compare to TMS", "how does compare to tms"),
        ("does insurance pay?", None),  # no common word to drop
        ("what is KAP?", None),  # nothing but stop words would be left
        ("KAP ketamine", None),
        ("", None),
    ],
)
def test_distinctive_drops_the_common_words(message: str, distinctive: str | None) -> None:
    assert CommonWords.count(PASSAGES, share=0.4).distinctive(message) == distinctive


def test_emphasise_adds_the_weighted_second_vector_at_unit_length() -> None:
    mixed = emphasise([[1.0, 0.0], [0.0, 1.0]], weight=1.0)
    assert mixed == pytest.approx([math.sqrt(0.5), math.sqrt(0.5)])
    assert emphasise([[3.0, 4.0]], weight=1.0) == pytest.approx([0.6, 0.8])
    assert emphasise([[3.0, 4.0], [0.0, 1.0]], weight=0.0) == pytest.approx([0.6, 0.8])
    heavier = emphasise([[1.0, 0.0], [0.0, 1.0]], weight=3.0)
    assert heavier[1] > heavier[0] and math.hypot(*heavier) == pytest.approx(1.0)


@pytest.mark.integration
class TestInTheSearch:
    @pytest.fixture
    def bot(self, built_indexer, settings, embeddings):  # type: ignore[no-untyped-def]
        from kapbot import Bot

        return Bot(settings, embeddings=embeddings)

    def test_the_clinic_corpus_common_words_are_its_shared_subject(self, bot) -> None:  # type: ignore[no-untyped-def]
        common = bot.retriever.common_words().common
        assert {"ketamine", "kap", "psychotherapy"} <= common
        assert not {"insurance", "cost", "addictive", "spravato"} & common

    def test_a_message_is_searched_with_its_distinctive_words(self, bot) -> None:  # type: ignore[no-untyped-def]
        retriever = bot.retriever
        message = "is KAP habit-forming?"
        assert retriever.query_texts(message) == [message, "is habit-forming"]
        # A follow-up carrying the conversation's words is searched as it is.
        assert retriever.query_texts("and the cost? (KAP ketamine)") == [
            "and the cost? (KAP ketamine)"
        ]
        plain = bot.store.embed_query(message)
        vectors = bot.store.embed_queries(retriever.query_texts(message))
        assert vectors[0] == pytest.approx(plain, abs=1e-5)  # one batch, same vectors
        searched = retriever.query_vector(vectors)
        assert sum(a * b for a, b in zip(searched, plain, strict=True)) < 0.99
        # Bot.ask (one forward pass for the crisis check and the search) and a direct
        # search (the evaluation's ranks) find the same passages in the same order.
        # (A message with none of the glossary's phrases: "habit-forming" is searched by
        # word as "abuse dependence".)
        plain_message = "is KAP legal everywhere?"
        reply = bot.ask(plain_message)
        assert reply.query == plain_message
        assert [p.id for p in reply.passages] == [p.id for p in retriever.search(plain_message)]

    def test_weight_zero_searches_with_the_message_alone(  # type: ignore[no-untyped-def]
        self, built_indexer, settings, embeddings
    ) -> None:
        from kapbot import Bot

        bot = Bot(replace(settings, distinctive_weight=0.0), embeddings=embeddings)
        message = "is KAP habit-forming?"
        assert bot.retriever.query_texts(message) == [message]
        passages = bot.retriever.search(message)
        by_plain = bot.retriever.search(message, vector=bot.store.embed_query(message))
        assert [p.id for p in passages] == [p.id for p in by_plain]
