"""The semantic backstop for requests for assurance, with the real embedding model."""

from __future__ import annotations

import pytest

from kapbot.assurance import ASKING, ORDINARY, AssuranceCheck
from kapbot.crisis import data_lines
from kapbot.guardrails import asks_assurance, asks_for_promise

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def check(embeddings) -> AssuranceCheck:  # type: ignore[no-untyped-def]
    return AssuranceCheck.load(embeddings.embed_documents)


def test_exemplar_files_are_distinct_and_reviewed_size() -> None:
    asking, ordinary = data_lines(ASKING), data_lines(ORDINARY)
    assert len(asking) >= 100 and len(ordinary) >= 100
    assert not set(asking) & set(ordinary)


def test_left_out_exemplars_hold_the_false_alarm_rate(check: AssuranceCheck) -> None:
    assert check.model.loo_false_alarms <= 0.02
    assert check.model.loo_recall > 0.2  # the patterns carry the rest


def test_a_request_the_patterns_miss_is_found_by_its_meaning(
    check: AssuranceCheck,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    message = "Since the research shows it works fast, I should feel fine by next week."
    assert not asks_for_promise(message) and not asks_assurance(message)
    assert check.asks(message, embeddings.embed_documents([message])[0])


def test_ordinary_questions_are_not_requests_for_assurance(
    check: AssuranceCheck,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    questions = [
        "what should I eat before a session?",
        "how long does an infusion take?",
        "does insurance cover spravato?",
        "can I drive home after?",
    ]
    vectors = embeddings.embed_documents(questions)
    assert not any(check.asks(q, v) for q, v in zip(questions, vectors, strict=True))
    # No vector (the model unavailable): the patterns alone decide.
    assert check.asks("can you guarantee it works?", None)
    assert not check.asks("Since the research shows it works fast, I'm fine by next week.", None)
