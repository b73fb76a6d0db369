"""Unit tests for kapbot.suggest: questions to offer with a decline."""

from __future__ import annotations

from langchain_core.documents import Document

from kapbot.suggest import as_question, suggestions


def chunk(cid: str, section: str) -> Document:
    return Document(id=cid, page_content=f"## {section}\n\nText.", metadata={"section": section})


def curated(text: str, parent: str) -> Document:
    return Document(id=f"q-{text}", page_content=text, metadata={"parent": parent})


def test_faq_headings_first_then_curated_questions_nearest_first() -> None:
    headings = [
        (chunk("a", "Is KAP covered by insurance?"), 0.5),
        (chunk("b", "Cost Considerations"), 0.9),  # not a question
        (chunk("c", "Is Ketamine-Assisted Psychotherapy Safe?"), 0.6),
    ]
    questions = [(curated("how long is a session", "d"), 0.8), (curated("what is kap", "e"), 0.4)]
    assert suggestions(headings, questions) == [
        "Is Ketamine-Assisted Psychotherapy Safe?",
        "Is KAP covered by insurance?",
        "How long is a session?",
    ]


def test_another_providers_practice_and_repeats_are_never_suggested() -> None:
    headings = [
        (chunk("a", "Do I need a referral to be seen at Cohen & Associates?"), 0.9),
        (chunk("b", "Is KAP covered by insurance?"), 0.8),
        (chunk("b2", "Is KAP covered by insurance?"), 0.7),  # same heading, another chunk
    ]
    questions = [
        (curated("is kap covered by insurance", "x"), 0.95),  # says the same again
        (curated("isnt it an anesthetic? why use it", "y"), 0.9),  # two questions in one
        (curated("cohen pricing", "z"), 0.9),
    ]
    assert suggestions(headings, questions, publishers={"Cohen & Associates"}) == [
        "Is KAP covered by insurance?"
    ]


def test_capital_headings_are_written_in_ordinary_case() -> None:
    headings = [(chunk("a", "WHAT IS INFUSION-BASED KETAMINE THERAPY?"), 0.5)]
    assert suggestions(headings, []) == ["What Is Infusion-Based Ketamine Therapy?"]


def test_as_question() -> None:
    assert as_question("can i still work after a session") == "Can I still work after a session?"
    assert as_question("  what is kap?? ") == "What is kap?"
    assert as_question("") == ""
