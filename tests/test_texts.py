"""Unit tests for kapbot.texts: the reviewed reply texts and the clinic's contact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kapbot.settings import Settings
from kapbot.texts import REPLIES_PATH, ReplyTexts


def test_the_shipped_texts_load_and_fill_in() -> None:
    texts = ReplyTexts.load()
    assert "our clinic's materials" in texts.decline("not_covered", "our clinic")
    assert "MDMA" in texts.decline("other_treatment", "our clinic", name="MDMA")
    assert texts.get("attribution", "third_party", publisher="PRATI") == "PRATI writes:"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            Settings(clinic_name="Calm Clinic"),
            "Please contact Calm Clinic directly; the care team will be glad to help.",
        ),
        (
            Settings(
                clinic_name="Calm Clinic", clinic_phone="(555) 010-0100", clinic_hours="Mon-Fri 9-5"
            ),
            "You can reach Calm Clinic by phone at (555) 010-0100 (Mon-Fri 9-5).",
        ),
        (
            Settings(
                clinic_name="Calm Clinic",
                clinic_phone="555-0100",
                clinic_email="hello@calm.example",
                clinic_booking_url="https://calm.example/book",
                clinic_address="1 Main St",
            ),
            "You can reach Calm Clinic by phone at 555-0100, by e-mail at hello@calm.example "
            "or book a consultation at https://calm.example/book. Our address: 1 Main St.",
        ),
    ],
)
def test_contact_names_only_what_settings_give(settings: Settings, expected: str) -> None:
    assert ReplyTexts.load().contact(settings) == expected


def test_no_number_is_ever_made_up() -> None:
    """Every digit a contact sentence shows comes from the settings."""
    text = ReplyTexts.load().contact(Settings(clinic_name="Calm Clinic"))
    assert not any(ch.isdigit() for ch in text)
    # The only numbers in the texts are the published crisis lines (data/replies.yaml says
    # where each comes from) and their menu options.
    published = {"988", "911", "838255", "741741", "678678", "1-866-488-7386", "18664887386"}
    for section in ReplyTexts.load().sections.values():
        for key, value in section.items():
            numbers = set(re.findall(r"\d[\d-]*\d|\d", value))
            assert numbers <= published | {"1", "2"}, (key, numbers - published)


def test_booking_url_must_be_a_web_address() -> None:
    with pytest.raises(ValueError, match="KAPBOT_CLINIC_BOOKING_URL"):
        Settings(clinic_booking_url="javascript:alert(1)")


def test_a_broken_texts_file_says_what_is_wrong(tmp_path: Path) -> None:
    text = REPLIES_PATH.read_text(encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    missing.write_text(text.replace("  task:", "  tusk:"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"'declines\.task' is missing"):
        ReplyTexts.load(missing)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(
        text.replace("{publisher} writes:", "{publisher} {phone} writes:"), encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"attribution.third_party' uses \['phone'\]"):
        ReplyTexts.load(unknown)
