"""Unit tests for kapbot.spelling: patients' typos read as the documents' words."""

from __future__ import annotations

import pytest

from kapbot.spelling import Speller, looks_spanish

DOCUMENTS = [
    "How many sessions of therapy does KAP involve? Insurance covers some sessions.",
    "Ketamine is a dissociative anesthetic with potential side effects.",
]
ENGLISH = {"bring": 50.0, "users": 20.0, "uses": 30.0, "addictive": 5.0, "being": 80.0}


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.build(DOCUMENTS, english=ENGLISH)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("how many sessons will i need", "how many sessions will i need"),
        ("is theraphy included", "is therapy included"),
        ("Insurence?", "Insurance?"),
        ("ketamin side efects", "ketamine side effects"),
        ("is it addictve", "is it addictive"),  # an English word, one edit away
    ],
)
def test_typos_become_the_documents_words(speller: Speller, typed: str, read: str) -> None:
    assert speller.correct(typed) == read


@pytest.mark.parametrize(
    "message",
    [
        "can i bring my dog",  # a real word is never changed ("being" is one edit away)
        "wheelchair users",
        "who shouldn't do this?",  # a contraction
        "who shouldnt do this",  # a contraction without its apostrophe
        "does your clinic do botox?",  # unknown, but no word one edit away
        "is KAP ok",  # short words are left alone
        "¿Me va a ayudar la ketamina?",  # Spanish is not English typos
    ],
)
def test_what_is_not_a_typo_is_left_as_typed(speller: Speller, message: str) -> None:
    assert speller.correct(message) == message


def test_the_shipped_english_dictionary_knows_everyday_words() -> None:
    speller = Speller.build(DOCUMENTS)
    assert speller.correct("can i bring my wheelchair?") == "can i bring my wheelchair?"
    assert speller.correct("sessons") == "sessions"


def test_looks_spanish() -> None:
    assert looks_spanish("mi prima dice que es otra persona")
    assert not looks_spanish("my cousin says she is a new person")
