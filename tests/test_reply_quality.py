"""Unit tests for kapbot.reply_quality: the reply-level checks of `kapbot eval`."""

from __future__ import annotations

import pytest

from kapbot.reply_quality import (
    dangling_openers,
    duplicate_sentences,
    lists_cut,
    must_not_hits,
    nugget_recall,
    plain_text,
    reading_grade,
    reference_markers,
)

REPLY = (
    "Choosing Therapy writes:\n\n"
    "> Ketamine is a Schedule III controlled substance, which indicates that it has "
    "potential for abuse. KAP \\[ketamine-assisted psychotherapy\\] is legal. [1]"
)


def test_plain_text_is_what_the_patient_reads() -> None:
    assert plain_text(REPLY) == (
        "Choosing Therapy writes:\n\nKetamine is a Schedule III controlled substance, which "
        "indicates that it has potential for abuse. KAP is legal."
    )
    assert plain_text("&lt;b&gt; and \\[12\\] kept [3]") == "<b> and [12] kept"


def test_nugget_recall_and_must_not() -> None:
    nuggets = ["Schedule III controlled substance", "potential for abuse", "not addictive"]
    assert nugget_recall(REPLY, nuggets) == pytest.approx(2 / 3)
    assert nugget_recall(REPLY, []) is None
    # Words kapbot added inside a quote do not break a phrase of the document.
    assert nugget_recall(REPLY, ["KAP is legal"]) == 1.0
    assert must_not_hits(REPLY, ["potential for abuse", "guaranteed"]) == ["potential for abuse"]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("It shows promise in PTSD.3 [1]", 1),
        ("without relief.1 Then more.12 [1]", 2),
        ("approved in 2019 \\[12\\]. [1]", 1),
        ("widely used.² [1]", 1),
        ("1.5 to 3-hour sessions; 87% improve. [1] [2]", 0),
    ],
)
def test_reference_markers(text: str, count: int) -> None:
    assert reference_markers(text) == count


def test_duplicate_sentences() -> None:
    twice = (
        "> Ketamine-assisted psychotherapy pairs ketamine with structured psychotherapy. [1]\n\n"
        "> Ketamine-assisted psychotherapy pairs ketamine with structured psychotherapy. [2]"
    )
    assert duplicate_sentences(twice) == 1
    assert duplicate_sentences(REPLY) == 0
    assert duplicate_sentences("Yes. Yes. Yes. [1]") == 0  # too short to count


def test_dangling_openers_unless_the_subject_is_named() -> None:
    assert dangling_openers("PRATI writes:\n\n> These include nausea and dizziness. [1]") == 1
    assert (
        dangling_openers("PRATI writes about “Side Effects”:\n\n> These include nausea. [1]") == 0
    )
    assert dangling_openers("It is important to rest after a session. [1]") == 0
    assert dangling_openers("> **Is it safe?** Yes, under supervision. [1]") == 0
    # Notes without a citation are not quotes.
    assert dangling_openers("This chat gives general information.\n\nKAP is new. [1]") == 0


def test_lists_cut() -> None:
    source = "## Risks\n\nRisks include:\n\n- Dissociation\n- Hallucinations\n- Nausea"
    whole = "> Risks include:\n> - Dissociation\n> - Hallucinations\n> - Nausea [1]"
    cut = "> Risks include:\n> - Dissociation\n> - Hallucinations [1]"
    assert lists_cut(whole, [source]) == 0
    assert lists_cut(cut, [source]) == 1
    assert lists_cut("> - Something else [1]", [source]) == 0
    # An introduction whose list was left out altogether.
    assert lists_cut("> KAP builds on an idea.\n> In other words: [1]", [source]) == 1
    assert lists_cut("Choosing Therapy writes:\n\n> Risks are rare. [1]", [source]) == 0


def test_reading_grade() -> None:
    easy = reading_grade("The cat sat. The dog ran. [1]")
    hard = reading_grade(
        "Ketamine-assisted psychotherapy integrates pharmacological intervention with "
        "structured psychotherapeutic methodologies to facilitate neuroplasticity. [1]"
    )
    assert easy is not None and hard is not None and easy < 3 < 12 < hard
    assert reading_grade("[1]") is None
