"""Unit tests for kapbot.glossary: patients' words read with the documents' words."""

from __future__ import annotations

import re

import pytest

from kapbot.glossary import Glossary
from tests.conftest import CORPUS


def test_the_documents_words_are_added_once_in_the_glossarys_order() -> None:
    glossary = Glossary.from_entries(
        [
            {"patients": ["addictive", "habit forming"], "documents": "abuse dependence"},
            {"patients": ["how fast"], "documents": "rapid"},
        ]
    )
    assert glossary.words_for("How FAST does it work, is it habit   forming?") == [
        "abuse",
        "dependence",
        "rapid",
    ]
    assert glossary.words_for("is abuse possible, is it addictive?") == ["dependence"]
    # Whole words only: "addictiveness" and "breakfast" are not entries' phrases.
    assert glossary.words_for("addictiveness at breakfast") == []


def test_an_instead_entry_replaces_the_patients_phrase() -> None:
    glossary = Glossary.from_entries(
        [
            {"patients": ["addictive"], "documents": "abuse dependence", "instead": True},
            {"patients": ["how soon"], "documents": "rapid"},
        ]
    )
    assert (
        glossary.gloss("how soon? is it Addictive?") == "how soon? is it abuse dependence? · rapid"
    )
    assert glossary.gloss("what is KAP?") == "what is KAP?"


def test_an_entry_without_phrases_or_words_is_refused() -> None:
    with pytest.raises(ValueError, match="needs patients' phrases and words"):
        Glossary.from_entries([{"patients": [], "documents": "abuse"}])
    with pytest.raises(ValueError, match="needs patients' phrases and words"):
        Glossary.from_entries([{"patients": ["hooked"], "documents": ""}])


def test_every_word_of_the_shipped_glossary_is_a_word_of_the_bundled_corpus() -> None:
    glossary = Glossary.load()
    assert glossary.entries
    corpus = " ".join(p.read_text(encoding="utf-8") for p in CORPUS.glob("*.md")).lower()
    words = set(re.findall(r"[a-z]+", corpus))
    for entry in glossary.entries:
        for word in entry.documents:
            assert word in words, word
