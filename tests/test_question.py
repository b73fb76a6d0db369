"""Unit tests for kapbot.question: what a question asks for."""

from __future__ import annotations

import pytest

from kapbot.question import read_question, treatments_in


@pytest.mark.parametrize(
    "question",
    [
        "is it addictive?",
        "Is ketamine legal?",
        "can I do it from home?",
        "so can i drive after",
        "does insurance cover spravato",
        "Will this cure my depression?",
        "should I stop my meds first?",
    ],
)
def test_yes_no_questions(question: str) -> None:
    assert read_question(question).yes_no


@pytest.mark.parametrize(
    "question",
    [
        "what does KAP cost?",
        "how long does a session last?",
        "is it IV or oral?",  # which, not whether
        "who shouldn't do this?",
    ],
)
def test_not_yes_no_questions(question: str) -> None:
    assert not read_question(question).yes_no


@pytest.mark.parametrize(
    ("question", "wants_list"),
    [
        ("what are the side effects?", True),
        ("who shouldn't do this?", True),
        ("what happens in a session?", True),
        ("what are the risks of spravato", True),
        ("which conditions does it treat?", True),
        ("is ketamine legal?", False),
        ("how much does it cost?", False),
    ],
)
def test_list_questions(question: str, wants_list: bool) -> None:
    assert read_question(question).wants_list is wants_list


@pytest.mark.parametrize(
    ("text", "treatments"),
    [
        ("How is KAP different from IV ketamine?", {"kap", "iv"}),
        ("at-home lozenges", {"at_home"}),
        ("the nasal spray one", {"spravato"}),
        ("Spravato® sessions", {"spravato"}),
        ("Ketamine-Assisted Psychotherapy (KAP)", {"kap"}),
        ("what does ketamine cost?", set()),
        ("IV Ketamine Infusions > Cost Considerations", {"iv"}),
    ],
)
def test_treatments_named(text: str, treatments: set[str]) -> None:
    assert treatments_in(text) == treatments


@pytest.mark.parametrize(
    ("question", "comparison"),
    [
        ("how is KAP different from IV?", True),
        ("spravato vs ketamine", True),
        ("is KAP or IV cheaper", True),
        ("what is KAP?", False),
    ],
)
def test_comparisons(question: str, comparison: bool) -> None:
    assert read_question(question).comparison is comparison
