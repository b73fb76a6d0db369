"""Unit tests for kapbot.generative: generated-answer filtering, attribution, fallbacks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from kapbot.compose import Composition, ExtractiveComposer
from kapbot.generative import GenerativeComposer, filter_generated, supported
from tests.test_compose import LENGTH, passage, uniform

# --- supported / filter_generated ----------------------------------------------------------

P_COST = passage(
    "## Cost of KAP\n\nOne KAP session costs $750 at our clinic. Insurance rarely pays for "
    "ketamine sessions.",
    source="cost.md",
)
P_LENGTH = LENGTH
GOOD_COST = "One KAP session costs $750 at our clinic"
GOOD_LENGTH = "A ketamine session lasts about 90 minutes"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (f"{GOOD_COST}.", True),
        (f"{GOOD_COST} [1].", True),
        ("Insurance rarely pays for ketamine sessions.", True),
        ("One KAP session costs $5,000 at our clinic.", False),  # invented figure
        ("One KAP session costs $750 at our clinic in 2024.", False),  # invented year
        ("Ketamine permanently cures depression for everyone who tries it.", False),
        ("", False),
        ("[1]", False),
        ("The of and.", False),  # stop words only: nothing to support
    ],
)
def test_supported(sentence: str, expected: bool) -> None:
    assert supported(sentence, P_COST.text) is expected


@pytest.mark.parametrize(
    "output",
    [
        f"{GOOD_COST} [0].",
        f"{GOOD_COST} [9].",
        f"{GOOD_COST} [3].",  # two passages given
        f"{GOOD_COST}.",  # no marker
        "One KAP session costs $5,000 at our clinic [1].",  # number not in the passage
        "Ketamine permanently cures depression for everyone who tries it [1].",
        f"{GOOD_COST} [2].",  # cites the wrong passage
        "",
        "NO_ANSWER",
    ],
)
def test_invalid_sentences_are_dropped(output: str) -> None:
    passages = [P_COST, P_LENGTH]
    assert filter_generated(output, passages) is None
    # Next to a good sentence, only the good sentence survives.
    mixed = filter_generated(f"{output}\n{GOOD_LENGTH} [2].", passages)
    assert mixed == Composition(f"{GOOD_LENGTH}. [1]", (P_LENGTH,))


def test_good_sentence_is_kept_verbatim() -> None:
    result = filter_generated(f"{GOOD_COST} [1].", [P_COST, P_LENGTH])
    assert result == Composition(f"{GOOD_COST}. [1]", (P_COST,))


def test_renumbered_in_order_of_first_use() -> None:
    output = f"{GOOD_LENGTH} [2]. {GOOD_COST} [1]. Patients rest afterwards [2]."
    result = filter_generated(output, [P_COST, P_LENGTH])
    assert result == Composition(
        f"{GOOD_LENGTH}. [1] {GOOD_COST}. [2] Patients rest afterwards. [1]",
        (P_LENGTH, P_COST),
    )


def test_bullets_and_lines_are_sentences() -> None:
    output = f"- {GOOD_COST} [1].\n* {GOOD_LENGTH} [2].\n\n• Something nobody said here [1]."
    result = filter_generated(output, [P_COST, P_LENGTH])
    assert result == Composition(f"{GOOD_COST}. [1] {GOOD_LENGTH}. [2]", (P_COST, P_LENGTH))


def test_only_supporting_citations_are_kept() -> None:
    # Cites both, but only the second passage says it.
    result = filter_generated(f"{GOOD_LENGTH} [1][2].", [P_COST, P_LENGTH])
    assert result == Composition(f"{GOOD_LENGTH}. [1]", (P_LENGTH,))


def test_generated_html_is_escaped() -> None:
    result = filter_generated(f"<b>{GOOD_COST}</b> [1].", [P_COST])
    assert result is not None
    assert "<" not in result.text and "&lt;b&gt;" in result.text


@pytest.mark.parametrize("figure", ["$75", "$50", "$7"])
def test_number_that_is_part_of_another_number_is_dropped(figure: str) -> None:
    assert filter_generated(f"One KAP session costs {figure} at our clinic [1].", [P_COST]) is None


def test_marker_after_the_full_stop_is_kept() -> None:
    result = filter_generated(f"{GOOD_COST}. [1]", [P_COST])
    assert result == Composition(f"{GOOD_COST}. [1]", (P_COST,))


# --- GenerativeComposer --------------------------------------------------------------------


class Recording:
    """Wraps a chat model and keeps what it was asked."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[Any] = []

    def invoke(self, messages: Any) -> Any:
        self.calls.append(messages)
        return self.model.invoke(messages)


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, messages: Any) -> Any:
        self.calls += 1
        raise RuntimeError("model server is down")


QUESTION = "What does KAP cost and how long is a session?"
PASSAGES = [P_COST, P_LENGTH]
EXTRACTIVE = ExtractiveComposer(uniform)


def test_generative_uses_filtered_model_answer() -> None:
    model = Recording(
        FakeListChatModel(
            responses=[
                f"{GOOD_LENGTH} [2]. Ketamine cures everything [1]. {GOOD_COST} [1].",
                f"{GOOD_COST} [1].",
            ]
        )
    )
    composer = GenerativeComposer(model, EXTRACTIVE)
    first = composer.compose(QUESTION, PASSAGES)
    assert first == Composition(f"{GOOD_LENGTH}. [1] {GOOD_COST}. [2]", (P_LENGTH, P_COST))
    second = composer.compose(QUESTION, PASSAGES)
    assert second == Composition(f"{GOOD_COST}. [1]", (P_COST,))
    assert len(model.calls) == 2
    # The model saw the numbered passage bodies and the question.
    (system_role, _), (human_role, human) = model.calls[0]
    assert (system_role, human_role) == ("system", "human")
    assert "[1] One KAP session costs $750" in human
    assert "[2] A ketamine session lasts" in human
    assert "## Cost of KAP" not in human
    assert human.endswith(f"Question: {QUESTION}")


def test_generative_is_told_the_conversations_words_of_a_follow_up() -> None:
    model = Recording(FakeListChatModel(responses=[f"{GOOD_COST} [1]."]))
    result = GenerativeComposer(model, EXTRACTIVE).compose(
        "and what does that cost?", PASSAGES, context="KAP"
    )
    assert result == Composition(f"{GOOD_COST}. [1]", (P_COST,))
    (_, _), (_, human) = model.calls[0]
    assert human.endswith("Question: and what does that cost? (earlier in the conversation: KAP)")


@pytest.mark.parametrize(
    "response",
    [
        "NO_ANSWER",
        "Sorry. NO_ANSWER",
        f"{GOOD_COST} [0]. {GOOD_LENGTH} [7].",  # only invalid citations
        f"{GOOD_COST}. {GOOD_LENGTH}.",  # no citations at all
        "Ketamine cures everything forever [1].",  # unsupported
        "One KAP session costs $5,000 at our clinic [1].",  # invented figure
        "",
    ],
)
def test_generative_falls_back_to_extractive(response: str) -> None:
    model = Recording(FakeListChatModel(responses=[response]))
    result = GenerativeComposer(model, EXTRACTIVE).compose(QUESTION, PASSAGES)
    assert len(model.calls) == 1
    assert result == EXTRACTIVE.compose(QUESTION, PASSAGES)
    assert result.cited  # the fallback did answer


def test_generative_survives_a_failing_model(caplog: pytest.LogCaptureFixture) -> None:
    model = Broken()
    with caplog.at_level(logging.WARNING, logger="kapbot.generative"):
        result = GenerativeComposer(model, EXTRACTIVE).compose(QUESTION, PASSAGES)
    assert model.calls == 1
    assert result == EXTRACTIVE.compose(QUESTION, PASSAGES)
    assert "model server is down" in caplog.text
