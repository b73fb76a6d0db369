"""Unit tests for kapbot.readable: what makes a quoted sentence stand alone."""

from __future__ import annotations

import pytest

from kapbot.readable import (
    abbreviations,
    acronyms,
    expand_abbreviations,
    natural_heading,
    opens_dangling,
    same_sentence,
    strip_references,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anxiety, and PTSD.3", "anxiety, and PTSD."),
        ("without relief.1\nNext line.", "without relief.\nNext line."),
        ("treatments.4 It is new.", "treatments. It is new."),
        ("approved in 2019 [12]. It works.", "approved in 2019. It works."),
        ("studies [3, 4] show", "studies show"),
        ("widely used.²", "widely used."),
        # Numbers that are content stay.
        ("1.5 to 3-hour sessions", "1.5 to 3-hour sessions"),
        ("$89 per session. 87% improve.", "$89 per session. 87% improve."),
        ("in 2019, the FDA approved", "in 2019, the FDA approved"),
        ("Cureus, 14(3), e23647.", "Cureus, 14(3), e23647."),
    ],
)
def test_strip_references(text: str, expected: str) -> None:
    assert strip_references(text) == expected


@pytest.mark.parametrize(
    ("sentence", "dangling"),
    [
        ("These include nausea, elevated blood pressure.", True),
        ("It is FDA-approved for specific indications.", True),
        ("It differs from IV ketamine in that:", True),
        ("This stage prepares patients for ketamine administration.", True),
        ("However, the ketamine treatment itself is often not covered.", True),
        ("Both are supervised.", True),
        ("They will also need to consider their medical history.", True),
        ("In addition, providers look at support.", True),
        ("It is important for a person to continue therapy sessions.", False),
        ("It’s important to work with a trained provider.", False),
        ("Ketamine is a Schedule III controlled substance.", False),
        ("The cost of ketamine therapy varies significantly.", False),
        ("Therapists trained in KAP help.", False),  # "The..." not "These"
        ("Items are listed below.", False),
    ],
)
def test_opens_dangling(sentence: str, dangling: bool) -> None:
    assert opens_dangling(sentence) is dangling


def test_abbreviations_spelled_out_in_the_text() -> None:
    text = (
        "## WHAT IS KETAMINE-ASSISTED PSYCHOTHERAPY (KAP)?\n\n"
        "Ketamine-assisted psychotherapy (KAP) pairs ketamine with therapy. It boosts "
        "Brain-Derived Neurotrophic Factor (BDNF). Spravato has a Risk Evaluation and "
        "Mitigation Strategy (REMS) program; doses are given intramuscularly (IM)."
    )
    assert abbreviations(text) == {
        "KAP": "ketamine-assisted psychotherapy",
        "BDNF": "Brain-Derived Neurotrophic Factor",
        "REMS": "Risk Evaluation and Mitigation Strategy",
        "IM": "intramuscularly",
    }


def test_words_in_brackets_that_do_not_spell_the_abbreviation_are_not_taken() -> None:
    assert abbreviations("Ask the National Center for Biotechnology Information (NIH).") == {}
    assert abbreviations("Sublingual lozenges, RDTs, or injections.") == {}  # never spelled out


def test_expand_abbreviations_once_and_never_what_is_spelled_out() -> None:
    spelled = {
        "REMS": "Risk Evaluation and Mitigation Strategy",
        "KAP": "ketamine-assisted psychotherapy",
    }
    text = expand_abbreviations(
        "REMS applies to REMS drugs; ketamine-assisted psychotherapy (KAP).", spelled
    )
    assert text == (
        "REMS \\[Risk Evaluation and Mitigation Strategy\\] applies to REMS drugs; "
        "ketamine-assisted psychotherapy (KAP)."
    )


def test_same_sentence() -> None:
    assert same_sentence(
        "Ketamine-assisted psychotherapy pairs ketamine with structured psychotherapy.",
        "Ketamine-assisted psychotherapy pairs ketamine with structured psychotherapy sessions.",
    )
    assert not same_sentence("KAP costs $750 a session.", "Spravato is a nasal spray.")


def test_natural_heading_and_acronyms() -> None:
    known = acronyms(["KAP and IV differ; the FDA approved it.", "## KEY DIFFERENCES"])
    assert {"KAP", "IV", "FDA"} <= known and "KEY" not in known
    assert natural_heading("PROCEDURES") == "Procedures"
    assert natural_heading("KAP VS. INFUSIONS WITHOUT THERAPY", known) == (
        "KAP vs. Infusions Without Therapy"
    )
    assert natural_heading("Spravato®") == "Spravato®"
