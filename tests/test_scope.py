"""Questions about another treatment than the clinic's, and the clinic's scope (pure logic)."""

from __future__ import annotations

import pytest

from kapbot.scope import other_treatment, scope_pattern, sources_in_scope, uncovered_treatment


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("How much does MDMA-assisted therapy cost?", "MDMA"),
        ("can you recommend a psilocybin retreat?", "psilocybin"),
        ("are magic mushrooms legal where you are", "psilocybin"),
        ("do u guys do tms", "TMS"),
        ("Is ECT safe for older people?", "ECT"),
        ("what about shock therapy", "ECT"),
        ("does ayahuasca help with depression?", "ayahuasca"),
        ("I read about stellate ganglion blocks for PTSD", "stellate ganglion block"),
        ("my friend did ayahuasca, is it safe?", "ayahuasca"),  # someone else's
        ("¿Ofrecen terapia con psilocibina?", "psilocybin"),
        ("¿Cuánto cuesta la terapia electroconvulsiva?", "ECT"),
        ("I did my research. Is TMS covered by insurance?", "TMS"),  # another sentence
    ],
)
def test_a_question_about_another_treatment_names_it(question: str, name: str) -> None:
    assert other_treatment(question) == name


@pytest.mark.parametrize(
    "question",
    [
        "Is ketamine faster than ECT?",  # compares it with the clinic's own
        "is KAP anything like psilocybin therapy?",
        "¿La ketamina es como el LSD?",
        "Can I take my Xanax before the session?",  # a medicine, not another treatment
        "side effects like nausea, dizziness ect",  # a typo of "etc", not ECT
        "what does a session cost?",
        "I did ECT years ago, am I still a candidate?",  # history, not the subject
        "I've tried psilocybin before. Will this feel similar?",
        "we did TMS last year and it did nothing for me, what next?",
        "",
    ],
)
def test_other_questions_are_not_about_another_treatment(question: str) -> None:
    assert other_treatment(question) is None


def test_declined_only_when_no_retrieved_passage_covers_the_treatment() -> None:
    question = "How much does MDMA-assisted therapy cost?"
    about_cost = ["KAP sessions cost $300 to $500 each.", "Insurance rarely covers it."]
    assert uncovered_treatment(question, about_cost) == "MDMA"
    covering = [*about_cost, "Unlike MDMA, ketamine is legal to prescribe today."]
    assert uncovered_treatment(question, covering) is None
    assert uncovered_treatment("what does KAP cost?", about_cost) is None
    assert uncovered_treatment(question, []) == "MDMA"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Ketamine-assisted psychotherapy pairs the medicine with therapy.", True),
        ("What is KAP?", True),
        ("Spravato is an esketamine nasal spray.", True),
        ("The ketamine's effects fade within two hours.", True),
        ("Dr. Kaplan sees patients on Mondays.", False),  # a word that starts with one
        ("Parking is free behind the building.", False),
        ("Ketamina en español no es la palabra inglesa.", False),
    ],
)
def test_the_scope_pattern_matches_whole_words_in_any_case(text: str, named: bool) -> None:
    pattern = scope_pattern("ketamine, esketamine, Spravato, KAP")
    assert pattern is not None
    assert bool(pattern.search(text)) is named


def test_no_scope_words_means_no_pattern() -> None:
    assert scope_pattern("") is None
    assert scope_pattern(" ,, ") is None


def test_a_document_is_in_scope_when_any_of_its_passages_names_the_subject() -> None:
    pattern = scope_pattern("ketamine")
    assert pattern is not None
    passages = [
        ("kap.md", "Sessions last about two hours."),
        ("kap.md", "Ketamine is given by a nurse."),
        ("dental.md", "A cleaning takes about an hour."),
        ("dental.md", "Bring your insurance card."),
        ("special.md", "Characters like [ketamine] and (.*) are text, not a pattern."),
    ]
    assert sources_in_scope(passages, pattern) == {"kap.md", "special.md"}
