"""Reply-level quality checks: what a patient reads, measured (pure).

Retrieval figures say whether the right passage was found; these say whether the reply
itself is an answer a patient can read:

- :func:`plain_text`: the reply as read, without ``[n]`` markers, Markdown marks and
  the words kapbot adds inside a quote (spelled-out abbreviations in ``\\[...\\]``);
- :func:`nugget_recall`: the share of the facts a good reply must state that it does;
- :func:`must_not_hits`: claims it must not make that it does;
- :func:`reference_markers`: footnote digits and reference markers from the source
  ("PTSD.3", "[12]", superscripts);
- :func:`duplicate_sentences`: sentences said twice;
- :func:`dangling_openers`: quotes that open on a word pointing back ("These
  include...") without their subject named in their introduction;
- :func:`lists_cut`: lists quoted without all of the items the source gives;
- :func:`reading_grade`: the Flesch-Kincaid grade of the reply (syllables by pyphen,
  as textstat counts them without its pronunciation dictionary).

Example:
    >>> plain_text("> Ketamine is legal \\\\[if prescribed\\\\] in the U.S. [1]")
    'Ketamine is legal in the U.S.'
    >>> reference_markers("It helps with PTSD.3 It is new.")
    1
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache

from kapbot.readable import opens_dangling

# The figures `kapbot eval` gives from these checks: counts (less is better), then all.
COUNTS = (
    "must_not_violations",
    "reference_markers",
    "duplicate_sentences",
    "dangling_openers",
    "lists_cut",
    "abstained_with_evidence",
)
FIGURES = ("nugget_recall", *COUNTS, "reading_grade")

_CITATION = re.compile(r"\s*\[\d+\]")
_ADDED_WORDS = re.compile(r"\s*\\\[[^\]\n]*?[A-Za-z][^\]\n]*?\\\]")
_ESCAPE = re.compile(r"\\([\[\]\\`*_{}()#+\-.!|>~])")
_QUOTE_MARK = re.compile(r"^>\s?", re.MULTILINE)
_BOLD = re.compile(r"\*\*|__")
# Footnote digits glued to a sentence end, superscripts, bracketed reference numbers.
_MARKERS = re.compile(
    r"(?<=[A-Za-z)%”’\"])[.!?]\d{1,3}\b|[\u00b9\u00b2\u00b3\u2070-\u2079]|\\?\[\d{1,3}\\?\]"
)
# A sentence ends at . ! ? (and any footnote digits glued to it) before a capital.
_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?]\d)|(?<=[.!?]\d\d))\s+(?=[\"“(]?[A-Z0-9])")
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*)$")
_WORDS = re.compile(r"[A-Za-z0-9’']+")
_SUBJECT_GIVEN = re.compile(r"“[^”]+”\s*:\s*$")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def plain_text(reply: str) -> str:
    """The reply as a patient reads it: no ``[n]`` markers, no Markdown quote or bold
    marks, no escapes, and without words kapbot added inside a quote."""
    text = _CITATION.sub("", reply)
    text = _ADDED_WORDS.sub("", text)
    text = _QUOTE_MARK.sub("", text)
    text = _BOLD.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    return html.unescape(text).strip()


def contains(text: str, phrase: str) -> bool:
    """Whether ``phrase`` is in ``text`` (case and spacing ignored)."""
    return _norm(phrase) in _norm(text)


def nugget_recall(reply: str, nuggets: Sequence[str]) -> float | None:
    """The share of ``nuggets`` (facts as exact phrases of the documents) the reply
    states; None when there are none."""
    if not nuggets:
        return None
    plain = plain_text(reply)
    return sum(contains(plain, n) for n in nuggets) / len(nuggets)


def must_not_hits(reply: str, must_not: Sequence[str]) -> list[str]:
    """The phrases of ``must_not`` the reply contains."""
    plain = plain_text(reply)
    return [m for m in must_not if m.strip() and contains(plain, m)]


def reference_markers(reply: str) -> int:
    """Footnote digits, superscripts and bracketed reference numbers left in the text
    (kapbot's own ``[n]`` citation markers are not counted)."""
    return len(_MARKERS.findall(_CITATION.sub("", reply)))


def sentences(text: str) -> list[str]:
    """The sentences and list items of a text."""
    out: list[str] = []
    for line in text.splitlines():
        item = _LIST_LINE.match(line)
        line = item.group(1) if item else line
        out += [s.strip() for s in _SENTENCE.split(line) if s.strip()]
    return out


def duplicate_sentences(reply: str) -> int:
    """Sentences (of six words or more) that the reply's quotes (its paragraphs with a
    ``[n]`` marker) say twice, word for word, or that another contains whole."""
    quoted = "\n".join(p for p in reply.split("\n\n") if _CITATION.search(p))
    seen: list[str] = []
    dupes = 0
    for sentence in sentences(plain_text(quoted)):
        words = " ".join(_WORDS.findall(sentence.lower()))
        if len(words.split()) < 6:
            continue
        if any(words in other or other in words for other in seen):
            dupes += 1
        seen.append(words)
    return dupes


def dangling_openers(reply: str) -> int:
    """Quotes (paragraphs with a ``[n]`` marker) whose first sentence opens on a word
    that points back ("These include...", "It is FDA-approved") when the paragraph before
    does not name their subject (a heading in quotation marks before the colon)."""
    paragraphs = [p for p in reply.split("\n\n") if p.strip()]
    count = 0
    for i, paragraph in enumerate(paragraphs):
        if not _CITATION.search(paragraph):
            continue
        text = plain_text(paragraph)
        # An FAQ answer quoted with its question: the answer follows the question.
        bold = re.match(r"^\s*>?\s*\*\*([^*]+\?)\*\*\s*", paragraph)
        if bold:
            text = plain_text(paragraph[bold.end() :])
        first = sentences(text)[:1]
        intro = paragraphs[i - 1] if i else ""
        if first and opens_dangling(first[0]) and not _SUBJECT_GIVEN.search(intro):
            count += 1
    return count


def lists_cut(reply: str, sources: Sequence[str]) -> int:
    """Lists in the reply that leave out items their source list gives: for each run
    of list lines in the reply, the list of a cited passage that holds its first item
    must be there whole; and a quoted introduction ending in ':' must have its list
    after it."""
    # A quoted line that introduces a list ("In other words:") with none of it after.
    lines = [_CITATION.sub("", line).rstrip() for line in reply.splitlines()]
    count = sum(
        1
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if line.startswith(">")
        and line.endswith(":")
        and not _LIST_LINE.match(_QUOTE_MARK.sub("", after))
    )
    source_lists = [_lists(plain_text(s)) for s in sources]
    for items in _lists(plain_text(reply)):
        first = _norm(items[0])
        for lists in source_lists:
            whole = next((lst for lst in lists if first in (_norm(i) for i in lst)), None)
            if whole is not None:
                shown = {_norm(i) for i in items}
                if any(_norm(i) not in shown for i in whole):
                    count += 1
                break
    return count


def _lists(text: str) -> list[list[str]]:
    lists: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        item = _LIST_LINE.match(line)
        if item:
            current.append(item.group(1).strip())
        elif current:
            lists.append(current)
            current = []
    if current:
        lists.append(current)
    return lists


@lru_cache(maxsize=1)
def _hyphenator():  # type: ignore[no-untyped-def]
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def reading_grade(reply: str) -> float | None:
    """The Flesch-Kincaid grade level of the reply's plain text (0.39 words per
    sentence + 11.8 syllables per word - 15.59); None for a reply without words."""
    text = plain_text(reply)
    words = _WORDS.findall(text)
    count = len(sentences(text))
    if not words or not count:
        return None
    hyphenator = _hyphenator()
    syllables = sum(len(hyphenator.positions(w.lower())) + 1 for w in words)
    return 0.39 * len(words) / count + 11.8 * syllables / len(words) - 15.59
