"""Unit tests for kapbot.followup: follow-up detection, rule-based and LLM rewriting."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from kapbot.followup import (
    LLMCondenser,
    has_context,
    needs_context,
    ordinal_item,
    split_context,
    standalone_query,
    switches_treatment,
    with_subject,
)


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def appended(result: str, question: str) -> list[str]:
    """The topic words standalone_query appended to ``question``."""
    assert result.startswith(f"{question} (") and result.endswith(")"), result
    return result[len(question) + 2 : -1].split()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and what does that cost?", True),
        ("is it safe for teenagers?", True),
        ("what about the nasal spray?", True),
        ("What about the nasal spray?", True),
        ("how long do those take?", True),
        ("side effects?", True),
        ("But how often?", True),
        ("how much?", True),
        ("What does ketamine-assisted psychotherapy cost?", False),
        ("Is Spravato covered by insurance?", False),
        ("What are the side effects of IV ketamine infusions?", False),
        ("How long does a ketamine infusion take?", False),
        ("", False),
        ("???", False),
    ],
)
def test_needs_context(question: str, expected: bool) -> None:
    assert needs_context(question) is expected


@pytest.mark.parametrize("question", ["what's the difference?", "What’s the price?"])
def test_contraction_alone_is_not_a_topic(question: str) -> None:
    assert needs_context(question) is True


HISTORY = [
    user("What are the side effects of IV ketamine infusions?"),
    assistant("Nausea is common with IV ketamine and with Spravato [1]. It passes quickly [2]."),
]


@pytest.mark.parametrize("history", [None, []])
def test_without_history_question_is_unchanged(history: Any) -> None:
    assert standalone_query("and what does that cost?", history) == "and what does that cost?"


@pytest.mark.parametrize(
    "question",
    [
        "What does ketamine-assisted psychotherapy cost?",
        "Is Spravato covered by insurance?",
    ],
)
def test_standalone_question_is_unchanged(question: str) -> None:
    assert standalone_query(question, HISTORY) == question


def test_docstring_example() -> None:
    assert (
        standalone_query("and what does that cost?", [user("What is Spravato?")])
        == "and what does that cost? (Spravato)"
    )


def test_follow_up_gets_topic_of_last_question_and_names_of_last_answer() -> None:
    question = "and what does that cost?"
    words = appended(standalone_query(question, HISTORY), question)
    assert words == ["side", "effects", "IV", "ketamine", "infusions", "Spravato"]


def test_generic_and_filler_words_are_never_appended() -> None:
    history = [
        user("What's the difference between IV ketamine and Spravato?"),
        assistant("Spravato is a spray; IV ketamine is an infusion [1]."),
    ]
    question = "and what does that cost?"
    words = appended(standalone_query(question, history), question)
    lowered = {w.lower() for w in words}
    assert {"iv", "ketamine", "spravato"} <= lowered
    assert "IV" in words  # acronym kept, case and all
    assert not lowered & {"what's", "what", "the", "between", "and", "is"}


def test_generic_word_difference_is_not_a_topic() -> None:
    history = [user("What's the difference between IV ketamine and Spravato?")]
    question = "and what does that cost?"
    words = appended(standalone_query(question, history), question)
    assert "difference" not in {w.lower() for w in words}


def test_earlier_questions_are_used_when_the_last_was_a_follow_up() -> None:
    history = [
        user("What is an IV infusion?"),  # older self-contained question: not used
        assistant("An infusion is given in a clinic [1]."),
        user("What is Spravato?"),
        assistant("It is a nasal spray [1]."),
        user("is it safe?"),
        assistant("Side effects are watched closely by the team [1]."),
    ]
    question = "and what does it cost?"
    words = appended(standalone_query(question, history), question)
    assert "Spravato" in words
    assert "IV" not in words and "infusion" not in words
    assert words.index("Spravato") < words.index("safe")  # older topic first


def test_markers_in_assistant_turns_are_ignored() -> None:
    history = [
        user("What is KAP?"),
        assistant("KAP pairs ketamine with therapy [12]. Ask the Journey Clinical team [3]."),
    ]
    question = "and what does it cost?"
    result = standalone_query(question, history)
    words = appended(result, question)
    assert "KAP" in words and "Journey" in words and "Clinical" in words
    assert not re.search(r"[\[\]\d]", result[len(question) :])
    assert words.count("KAP") == 1  # a name already in the topic is not repeated


def test_only_recent_turns_are_used() -> None:
    history = [user("What is Spravato?"), assistant("A nasal spray [1]."), user("hi"), user("ok")]
    assert "Spravato" in standalone_query("and the cost?", history, turns=4)
    assert standalone_query("and the cost?", history, turns=2) == "and the cost?"


def test_nothing_to_add_returns_question() -> None:
    history = [user("ok thanks"), assistant("you are welcome")]
    assert standalone_query("and that?", history) == "and that?"


# --- LLMCondenser -----------------------------------------------------------------------------


class Recording:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[Any] = []

    def invoke(self, prompt: Any) -> Any:
        self.calls.append(prompt)
        return self.model.invoke(prompt)


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, prompt: Any) -> Any:
        self.calls += 1
        raise RuntimeError("model unavailable")


FOLLOW_UP = "and what does that cost?"


def test_condenser_uses_model_rewrite() -> None:
    model = Recording(
        FakeListChatModel(
            responses=["  What do IV ketamine\n infusions cost?  ", "Does Spravato cost more?"]
        )
    )
    condense = LLMCondenser(model)
    assert condense(FOLLOW_UP, HISTORY) == "What do IV ketamine infusions cost?"
    assert condense(FOLLOW_UP, HISTORY) == "Does Spravato cost more?"
    assert len(model.calls) == 2
    prompt = model.calls[0]
    assert "user: What are the side effects of IV ketamine infusions?" in prompt
    assert "assistant: Nausea is common" in prompt
    assert prompt.endswith(f"Last message: {FOLLOW_UP}")


@pytest.mark.parametrize(
    ("question", "history"),
    [
        ("What does ketamine-assisted psychotherapy cost?", HISTORY),
        (FOLLOW_UP, None),
        (FOLLOW_UP, []),
    ],
)
def test_condenser_does_not_call_model_when_not_needed(question: str, history: Any) -> None:
    model = Recording(FakeListChatModel(responses=["SHOULD NOT BE USED"]))
    assert LLMCondenser(model)(question, history) == question
    assert model.calls == []


@pytest.mark.parametrize("response", ["", "   \n ", "x" * 501, "word " * 200])
def test_condenser_falls_back_on_empty_or_overlong_answer(response: str) -> None:
    model = Recording(FakeListChatModel(responses=[response]))
    result = LLMCondenser(model, turns=6)(FOLLOW_UP, HISTORY)
    assert len(model.calls) == 1
    assert result == standalone_query(FOLLOW_UP, HISTORY, 6)
    assert result != FOLLOW_UP  # the rules did add the topic


def test_condenser_falls_back_when_model_raises(caplog: pytest.LogCaptureFixture) -> None:
    model = Broken()
    with caplog.at_level(logging.WARNING, logger="kapbot.followup"):
        result = LLMCondenser(model)(FOLLOW_UP, HISTORY)
    assert model.calls == 1
    assert result == standalone_query(FOLLOW_UP, HISTORY)
    assert "model unavailable" in caplog.text


def test_condenser_sends_only_recent_turns() -> None:
    history = [user("What is a REMS program?"), assistant("A safety program [1]."), *HISTORY]
    model = Recording(FakeListChatModel(responses=["What do IV infusions cost?"]))
    LLMCondenser(model, turns=2)(FOLLOW_UP, history)
    assert "REMS" not in model.calls[0]
    assert "IV ketamine infusions" in model.calls[0]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and the nasal spray one?", True),
        ("and what about with the spray version?", True),
        ("What about KAP, is that covered?", True),
        ("and at the infusion places?", True),
        ("how about at-home lozenges?", True),
        ("can I take it at home?", False),  # "it" is the treatment already discussed
        ("and what does that cost?", False),  # names no treatment
        ("what about the serious ones?", False),
        ("and what about the psychotherapy part?", False),  # an aspect of KAP, not a switch
        ("is Spravato covered by insurance?", False),  # no contrast opening
    ],
)
def test_switches_treatment(question: str, expected: bool) -> None:
    assert switches_treatment(question) is expected


def test_a_switch_of_treatment_keeps_the_question_and_drops_the_old_treatment() -> None:
    history = [
        user("can I do KAP if I'm already on antidepressants?"),
        assistant("KAP can often be combined with antidepressants [1]."),
    ]
    words = appended(
        standalone_query("and what about with the spray version?", history),
        "and what about with the spray version?",
    )
    assert "antidepressants" in words
    assert "KAP" not in words
    # Without a switch, the conversation's treatment stays: "it" is esketamine.
    history = [user("what is esketamine?"), assistant("Esketamine is a nasal spray [1].")]
    assert "esketamine" in appended(
        standalone_query("can I take it at home?", history), "can I take it at home?"
    )


def test_a_switch_from_a_question_that_was_only_its_treatment_asks_it_again() -> None:
    # "what is KAP?" has no topic but KAP; "and the spray?" asks "what is" of the spray.
    history = [user("what is KAP?"), assistant("KAP combines ketamine with psychotherapy [1].")]
    query = standalone_query("and the spray?", history)
    assert query == "and the spray? (what is)"
    assert split_context(query, "and the spray?") == ("and the spray?", "what is")


def test_has_context_tells_a_query_with_the_conversation_s_words() -> None:
    query = standalone_query("and what does that cost?", HISTORY)
    assert has_context(query)
    assert not has_context("and what does that cost?")
    assert not has_context("what is KAP (ketamine therapy)?")


def test_split_context_undoes_standalone_query() -> None:
    question = "and what does that cost?"
    query = standalone_query(question, HISTORY)
    assert split_context(query, question) == (
        question,
        "side effects IV ketamine infusions Spravato",
    )


@pytest.mark.parametrize(
    ("query", "question"),
    [
        ("What is Spravato?", "What is Spravato?"),  # nothing was added
        ("What does Spravato cost?", "and what does that cost?"),  # an LLM's rewrite
        ("and what does that cost? ()", "and what does that cost?"),
        ("and what does that cost? (KAP", "and what does that cost?"),
    ],
)
def test_split_context_of_other_queries_is_the_query_alone(query: str, question: str) -> None:
    assert split_context(query, question) == (query, "")


def test_split_context_keeps_brackets_inside_the_words() -> None:
    question = "is it (really) safe?"
    assert split_context(f"{question} (KAP (ketamine))", question) == (question, "KAP (ketamine)")


@pytest.mark.parametrize(
    ("question", "read_as"),
    [
        ("who shouldn't do this?", "who shouldn't do this? (ketamine-assisted psychotherapy)"),
        ("how long does it last?", "how long does it last? (ketamine-assisted psychotherapy)"),
        ("is it safe?", "is it safe? (ketamine-assisted psychotherapy)"),
        # Names its subject, or is not a question, or says much of its own: as it is.
        ("is KAP safe?", "is KAP safe?"),
        ("is spravato covered?", "is spravato covered?"),
        ("ok thanks", "ok thanks"),
        ("hello", "hello"),
        ("is there a bus stop near your office?", "is there a bus stop near your office?"),
        (
            "is it okay to take ibuprofen after drinking alcohol?",
            "is it okay to take ibuprofen after drinking alcohol?",
        ),
    ],
)
def test_a_question_without_its_subject_is_read_as_about_the_clinics(
    question: str, read_as: str
) -> None:
    assert with_subject(question, "ketamine-assisted psychotherapy") == read_as


OPTIONS = (
    "There are four main options: ketamine-assisted psychotherapy (KAP), at-home ketamine "
    "programs, IV ketamine infusions, and Spravato (esketamine nasal spray)."
)


@pytest.mark.parametrize(
    ("question", "answer", "item"),
    [
        ("is the second one covered by insurance?", OPTIONS, "at-home ketamine programs"),
        ("and the last one?", OPTIONS, "Spravato esketamine nasal spray"),
        ("what about the first option", OPTIONS, "ketamine-assisted psychotherapy KAP"),
        (
            "what happens in the 2nd stage",
            "Its stages:\n\n> - Assessment\n> - Preparation\n> - Dosing [1]",
            "Preparation",
        ),
        ("is the latter cheaper?", "KAP or infusions: IV infusions, or KAP.", "KAP"),
        # No ordinal, no list, or a position the list does not have.
        ("is it covered by insurance?", OPTIONS, None),
        ("is the second one covered?", "KAP pairs ketamine with therapy.", None),
        ("what about the fifth one?", OPTIONS, None),
    ],
)
def test_ordinal_item(question: str, answer: str, item: str | None) -> None:
    assert ordinal_item(question, answer) == item


def test_a_question_pointing_into_the_last_answers_list_is_searched_with_that_item() -> None:
    history = [
        {"role": "user", "content": "what kinds of ketamine treatment are out there"},
        {"role": "assistant", "content": OPTIONS},
    ]
    assert (
        standalone_query("is the second one covered by insurance?", history)
        == "is the second one covered by insurance? (at-home ketamine programs)"
    )
