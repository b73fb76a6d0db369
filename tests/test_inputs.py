"""Unit tests for kapbot.inputs.clean_message (pure input cleaning)."""

from __future__ import annotations

import re
import time
import unicodedata

import pytest

from kapbot.inputs import CleanMessage, clean_message

LIMIT = 2000
TAG = re.compile(r"<\s*/?\s*[a-zA-Z]")
INVISIBLE = "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"


def clean(raw: object, max_chars: int = LIMIT) -> str:
    return clean_message(raw, max_chars).text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # control characters
        ("What\x00 does KAP\x07 cost?", "What does KAP cost?"),
        ("What\x1b[31m does KAP cost?\x7f", "What[31m does KAP cost?"),
        ("a\x85b", "a b"),
        # bidi overrides / embeddings / isolates
        ("What does\u202e KAP cost?", "What does KAP cost?"),
        ("\u202atxt\u202c \u2066iso\u2069 \u200fmark\u200e", "txt iso mark"),
        # zero-width characters and the BOM
        ("\ufeffK\u200bA\u200cP\u200d cost\u2060", "KAP cost"),
        # HTML tags removed, their text kept
        ("<b>cost</b>", "cost"),
        ("What does <i>KAP</i> <span class='x'>cost</span>?", "What does KAP cost ?"),
        ("< /b >bold</B>", "bold"),
        ("<script>alert(1)</script>", "alert(1)"),
        ("<img src=x onerror=alert(1)>", ""),
        ('<a href="javascript:alert(1)">link</a>', "link"),
        # comparisons are not tags
        ("dose < 5 mg and > 1 mg", "dose < 5 mg and > 1 mg"),
        # template syntax
        ("{{7*7}}", "7*7"),
        ("{% if %}", "if"),
        ("cost {{ price }} {%endif%}", "cost price endif"),
        # entities are unescaped, then tags removed
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "alert(1)"),
        ("&lt;b&gt;cost&lt;/b&gt; &amp; risks", "cost & risks"),
        ("&quot;KAP&quot; &#39;cost&#39;", "\"KAP\" 'cost'"),
        # full-width look-alikes are normalised, then removed as tags
        ("＜script＞alert(1)＜/script＞", "alert(1)"),
        # whitespace collapsed
        ("  What\n\ndoes \t KAP\r\n cost?  ", "What does KAP cost?"),
        ("\u00a0KAP\u2003cost\u3000", "KAP cost"),
        ("", ""),
        ("   \n\t ", ""),
    ],
)
def test_clean_message(raw: str, expected: str) -> None:
    result = clean_message(raw, LIMIT)
    assert result == CleanMessage(expected, ())
    assert result.empty is (expected == "")


@pytest.mark.parametrize(
    "raw",
    [
        "".join(chr(c) for c in range(32)) + "KAP" + "".join(chr(c) for c in range(0x7F, 0xA0)),
        INVISIBLE.replace("\u061c", "") + "KAP" + INVISIBLE.replace("\u061c", ""),
    ],
)
def test_no_control_or_invisible_character_survives(raw: str) -> None:
    text = clean(raw)
    assert text == "KAP"
    assert all(unicodedata.category(ch) not in {"Cc", "Cf"} for ch in text)


@pytest.mark.parametrize(
    "raw",
    [
        "a &#x202E;b",  # RIGHT-TO-LEFT OVERRIDE as a numeric entity
        "a &#8238;b",
        "a&zwj;b",  # ZERO WIDTH JOINER as a named entity
        "a&#xFEFF;b",  # BOM
        "a&lrm;b",
    ],
)
def test_entity_encoded_invisible_characters_are_removed(raw: str) -> None:
    assert not set(clean(raw)) & set(INVISIBLE)


def test_arabic_letter_mark_is_removed() -> None:
    assert clean("What does\u061c KAP cost?") == "What does KAP cost?"


@pytest.mark.parametrize(
    "raw",
    ["<img<b> src=x onerror=alert(1)>", "<scr<i>ipt>alert(1)</script>"],
)
def test_nested_tags_do_not_leave_a_tag(raw: str) -> None:
    assert not TAG.search(clean(raw))


def test_dollar_template_is_removed_completely() -> None:
    assert clean("${x}") == "x"


def test_dollar_template_opening_is_removed() -> None:
    text = clean("cost ${7*7} please")
    assert "${" not in text
    assert text.startswith("cost 7*7")


@pytest.mark.parametrize("raw", [None, 123, 4.5, b"What does KAP cost?", ["KAP"], {"q": "KAP"}])
def test_non_string_input_is_empty(raw: object) -> None:
    result = clean_message(raw, LIMIT)
    assert result == CleanMessage("", ())
    assert result.empty


@pytest.mark.parametrize(
    ("raw", "max_chars"),
    [
        ("word " * 100, 100),  # cleaned 499 chars
        ("a" * 101, 100),  # one over, no space to cut at
        ("x" * 5_000_000, 2000),
        ("What does KAP cost? " * 250_000, 2000),  # 5,000,000 characters
        ("<b>KAP</b>\u202e " * 500_000, 2000),
    ],
)
def test_long_message_is_cut_with_one_notice(raw: str, max_chars: int) -> None:
    start = time.perf_counter()
    result = clean_message(raw, max_chars)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0  # guard against work proportional to the whole input (or worse)
    assert 0 < len(result.text) <= max_chars
    assert len(result.notices) == 1
    assert f"{max_chars:,}" in result.notices[0]


def test_cut_happens_at_a_word_boundary() -> None:
    result = clean_message("ketamine " * 100, 100)
    assert set(result.text.split()) == {"ketamine"}
    assert len(result.text) <= 100
    assert len(result.text) > 80


@pytest.mark.parametrize(
    "raw",
    [
        "k" * 100,  # exactly the limit
        "KAP " + " " * 300,  # long only because of whitespace (under 4x the limit)
        "<b>" * 50 + "KAP",  # long only because of tags
    ],
)
def test_message_within_limit_after_cleaning_has_no_notice(raw: str) -> None:
    result = clean_message(raw, 100)
    assert result.notices == ()
    assert result.text == raw.replace("<b>", "").strip()


def test_huge_message_of_spaces_still_gets_a_notice() -> None:
    # Only the start of a huge message is read, so the patient is told.
    result = clean_message("KAP" + " " * 5_000_000, 2000)
    assert result.text == "KAP"
    assert len(result.notices) == 1
