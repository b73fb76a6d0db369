"""Patients' words read with the documents' words for the same thing (pure).

"Is it addictive?" shares no word with "potential for abuse or dependence", and shares
one with "it also shows promise in the treatment of addictions", which answers the
opposite question. The reviewed entries of ``data/glossary.yaml`` add the documents'
words to a message that holds a patient's phrase, for the keyword search, the search
vectors and the quote choice; the message shown, recorded and read by the crisis check
is the patient's own.

Example:
    >>> glossary = Glossary.from_entries([{"patients": ["addictive", "hooked"],
    ...                                    "documents": "abuse dependence"}])
    >>> glossary.words_for("is it addictive?")
    ['abuse', 'dependence']
    >>> glossary.words_for("can you get HOOKED on abuse?")
    ['dependence']
    >>> glossary.words_for("what is KAP?")
    []
    >>> Glossary.from_entries([{"patients": ["addictive"], "documents": "abuse",
    ...                         "instead": True}]).gloss("Is it addictive?")
    'Is it abuse?'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary.yaml"
_WORD = re.compile(r"[a-z]+")
ADDED = " · "
# The added words of a glossed query, before a follow-up's conversation words if any.
_ADDED_WORDS = re.compile(r" · [^()]*?(?= \([^()]+\)$|$)")


def by_meaning(query: str) -> str:
    """What of a glossed query is embedded: the message without the words the glossary
    added (an ``instead`` entry's words stay in place of the patient's phrase).

    Example:
        >>> by_meaning("how soon? · rapid within hours (KAP ketamine)")
        'how soon? (KAP ketamine)'
    """
    return _ADDED_WORDS.sub("", query)


@dataclass(frozen=True)
class Entry:
    """A way patients put something (``phrases``, whole words) and the documents' words."""

    pattern: re.Pattern[str]
    documents: tuple[str, ...]
    instead: bool = False


@dataclass(frozen=True)
class Glossary:
    entries: tuple[Entry, ...] = ()

    @classmethod
    def from_entries(cls, rows: Iterable[Mapping[str, Any]]) -> Glossary:
        entries = []
        for row in rows:
            phrases = [str(p).strip() for p in row.get("patients") or () if str(p).strip()]
            documents = tuple(str(row.get("documents", "")).split())
            if not phrases or not documents:
                raise ValueError(f"a glossary entry needs patients' phrases and words: {row!r}")
            alternatives = "|".join(
                r"\s+".join(re.escape(w) for w in p.lower().split()) for p in phrases
            )
            pattern = re.compile(rf"(?<![\w'’])(?:{alternatives})(?![\w'’])", re.IGNORECASE)
            entries.append(Entry(pattern, documents, bool(row.get("instead", False))))
        return cls(tuple(entries))

    @classmethod
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(rows, list):
            raise ValueError(f"{path}: a list of entries was expected")
        return cls.from_entries(rows)

    def gloss(self, message: str) -> str:
        """``message`` as searched: a phrase of an ``instead`` entry replaced by the
        documents' words (the documents use the patient's word for something else:
        "addictions" are a condition KAP treats), then the other entries' words after
        " · " (unchanged when no entry applies)."""
        text = message
        for entry in self.entries:
            if entry.instead:
                text = entry.pattern.sub(" ".join(entry.documents), text)
        added = self.words_for(message, replaced=False)
        return f"{text}{ADDED}{' '.join(added)}" if added else text

    def words_for(self, message: str, replaced: bool = True) -> list[str]:
        """The documents' words for the patients' phrases in ``message`` that it does not
        hold already, in the glossary's order (without the ``instead`` entries' when
        not ``replaced``)."""
        lowered = message.lower()
        present = set(_WORD.findall(lowered))
        added: list[str] = []
        for entry in self.entries:
            if entry.pattern.search(lowered) and (replaced or not entry.instead):
                added += [w for w in entry.documents if w not in present and w not in added]
        return added
