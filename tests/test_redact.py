"""Identifiers taken out of what kapbot stores (pure logic)."""

from __future__ import annotations

import pytest

from kapbot.redact import redact


@pytest.mark.parametrize(
    ("typed", "identifier", "kind"),
    [
        ("email me at jo.smith+kap@example.co.uk please", "jo.smith+kap@example.co.uk", "[email]"),
        ("my cell is (555) 123-4567", "(555) 123-4567", "[phone]"),
        ("call 555.867.5309 after 5", "555.867.5309", "[phone]"),
        ("text +1 555 867 5309", "+1 555 867 5309", "[phone]"),
        ("ssn 123-45-6789", "123-45-6789", "[SSN]"),
        ("DOB 04/12/1987", "04/12/1987", "[date]"),
        ("born 1987-04-12", "1987-04-12", "[date]"),
        ("born March 3, 1985", "March 3, 1985", "[date]"),
        ("born 3rd of March 1985", "3rd of March 1985", "[date]"),
        ("member number 8823 4567 1234", "8823 4567 1234", "[number]"),
    ],
)
def test_identifiers_are_replaced_by_their_kind(typed: str, identifier: str, kind: str) -> None:
    shown = redact(typed)
    assert identifier not in shown
    assert kind in shown


@pytest.mark.parametrize(
    "question",
    [
        "is 988 free to call?",
        "does KAP cost $750 or $89 per session?",
        "40 to 60-minute sessions, often in a 6-session series?",
        "I tried 3 sessions in 2024, can I start again?",
        "what happens in the 1.5 to 3 hours?",
    ],
)
def test_ordinary_numbers_are_kept(question: str) -> None:
    assert redact(question) == question
