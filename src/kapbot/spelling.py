"""Patients' typos, read as the documents' words (pure).

A quarter of patients' messages carry a typo ("how many sessons will i need",
"insurence", "theraphy"). The small embedding model splits a misspelt word into pieces
that mean little, and BM25 does not find it at all, so "sessons" loses the passage that
"sessions" finds. Before retrieval, a word of five letters or more that is neither the
documents' nor an English word (pyspellchecker's dictionary, shipped in its package) is
replaced by the documents' word one edit away from it (a letter added, dropped, changed
or two swapped), the most frequent if several are, or else, for a word of six letters or
more, by the most common English word one edit away; a word with no such neighbour stays
as typed. Real words are never changed ("bring" is not "being"). The crisis check always
reads the message as typed.

Example:
    >>> speller = Speller.build(
    ...     ["How many sessions of therapy? Insurance covers sessions."],
    ...     english={"bring": 10.0, "addictive": 5.0, "many": 50.0},
    ... )
    >>> speller.correct("how many sessons of theraphy, and insurence? bring it. addictve?")
    'how many sessions of therapy, and insurance? bring it. addictive?'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
# Contractions typed without their apostrophe: words, not typos.
_CONTRACTIONS = frozenset(
    """arent cant couldnt didnt doesnt dont hadnt hasnt havent isnt mightnt mustnt
    neednt shant shouldnt wasnt werent wont wouldnt youre youve youll youd theyre
    theyve theyll weve whats thats theres heres hows whos wheres ive ill id im""".split()
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 5
MIN_ENGLISH_LENGTH = 6


def _edits(word: str) -> set[str]:
    """Every string one edit away from ``word`` (Norvig's edits1, with swaps)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return deletes | swaps | changes | inserts


_SPANISH = frozenset(
    """que qué es el la los las del para por con una uno mi mis me tengo puedo puede
    está estoy esto eso cómo como cuándo cuanto cuánto dónde también pero porque hay
    sí muy más ella él yo usted ustedes""".split()
)


def looks_spanish(text: str) -> bool:
    """Whether a message is in Spanish: an opening ¿ or ¡, or two of its common words.

    Example:
        >>> looks_spanish("¿Qué pasa si alguien recibe demasiada ketamina?")
        True
        >>> looks_spanish("is it safe for me?")
        False
    """
    if "¿" in text or "¡" in text:
        return True
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    return sum(w in _SPANISH for w in words) >= 2


@lru_cache(maxsize=1)
def english_words() -> Mapping[str, int]:
    """English words and their frequencies (pyspellchecker's dictionary, offline)."""
    from spellchecker import SpellChecker

    dictionary: Mapping[str, int] = SpellChecker(
        language="en", distance=1
    ).word_frequency.dictionary
    return dictionary


@dataclass(frozen=True)
class Speller:
    """The documents' words and how often each occurs, and the English words."""

    counts: Counter[str]
    english: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, texts: Iterable[str], english: Mapping[str, float] | None = None) -> Speller:
        """The speller of the documents ``texts`` (``english``: known English words and
        their frequencies; default: the dictionary of pyspellchecker)."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.lower() for w in _WORD.findall(text))
        return cls(counts, english_words() if english is None else english)

    def word(self, word: str) -> str:
        """``word`` as the documents spell it, or as it is."""
        lowered = word.lower()
        if (
            len(lowered) < MIN_LENGTH
            or not lowered.isalpha()  # "shouldn't": a contraction, not a typo
            or lowered in _CONTRACTIONS
            or lowered in self.counts
            or lowered in self.english
        ):
            return word
        edits = _edits(lowered)
        near = [w for w in edits if w in self.counts]
        if near:
            best = max(near, key=lambda w: (self.counts[w], w))
        elif len(lowered) >= MIN_ENGLISH_LENGTH and (
            english := [w for w in edits if w in self.english]
        ):
            best = max(english, key=lambda w: (self.english[w], w))
        else:
            return word
        return best.capitalize() if word[:1].isupper() else best

    def unknown(self, text: str) -> list[str]:
        """The words of ``text`` (five letters or more, not stop words) that no document
        uses: "is it safe while pregnant?" -> ["pregnant"] when no document says it."""
        from kapbot.keyword import STOPWORDS

        words = (w.lower() for w in _WORD.findall(text))
        return [
            w
            for w in words
            if len(w) >= MIN_LENGTH
            and w.isalpha()
            and w not in STOPWORDS
            and w not in _CONTRACTIONS
            and w not in self.counts
        ]

    def correct(self, text: str) -> str:
        """``text`` with every misspelt word replaced (punctuation and case kept); a
        message in Spanish is left as it is (its words are not English typos)."""
        if not self.counts or looks_spanish(text):
            return text
        return _WORD.sub(lambda m: self.word(m.group(0)), text)
