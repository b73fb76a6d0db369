"""A message's distinctive words: the message without the words most clinic passages share.

Every passage of a clinic that offers ketamine-assisted psychotherapy says "ketamine",
"KAP" or "treatment". In "is KAP addictive?" those words pull the message's vector
towards every passage about KAP alike, and the small embedding model lets "KAP" outweigh
"addictive": the nearest curated question was "how effective is kap", not "can you get
addicted to ketamine therapy". The search therefore uses the message's vector plus the
vector of its distinctive words ("is addictive"), stop words kept so that it still reads
as a question (pure; the retriever embeds both texts in one batch).

Example:
    >>> common = CommonWords.count(["KAP and ketamine", "ketamine and KAP cost"], share=0.5)
    >>> common.distinctive("Is KAP addictive?")
    'is addictive'
    >>> common.distinctive("what does it cost?") is None  # no common word in it
    True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kapbot.keyword import STOPWORDS

_WORD = re.compile(r"[a-z][a-z'’-]*")


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped ("KAP's" stays one word)."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class CommonWords:
    """The words (not stop words) found in more than ``share`` of the passages counted."""

    common: frozenset[str]
    share: float

    @classmethod
    def count(cls, texts: Iterable[str], share: float) -> CommonWords:
        """Count, in how many of ``texts`` each word occurs."""
        counts: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            counts.update(set(words(text)))
        common = {w for w, c in counts.items() if n and c / n > share and w not in STOPWORDS}
        return cls(frozenset(common), share)

    def distinctive(self, message: str) -> str | None:
        """The message without its common words, or None when it has none to drop or
        nothing but stop words would be left ("what is KAP?")."""
        found = words(message)
        kept = [w for w in found if w not in self.common]
        if len(kept) == len(found) or all(w in STOPWORDS for w in kept):
            return None
        return " ".join(kept)


def emphasise(vectors: Sequence[Sequence[float]], weight: float) -> list[float]:
    """The message's vector plus ``weight`` times its distinctive words' vector (if
    given, as the second), at unit length again."""
    mixed = np.asarray(vectors[0], dtype=np.float64)
    if len(vectors) > 1 and weight > 0:
        mixed = mixed + weight * np.asarray(vectors[1], dtype=np.float64)
    norm = float(np.linalg.norm(mixed))
    return [float(x) for x in (mixed / norm if norm > 0 else mixed)]
