"""Crisis check: runs on every message, before retrieval (pure, except for the embedder).

Layers:

1. normalisation: case, accents, leetspeak ("k1ll"), squeezed repeated letters
   ("diiie"), "my self" -> "myself";
2. a reviewable lexicon (``data/crisis_lexicon.yaml``) with severity tiers, English and
   Spanish, including code words ("kms", "unalive", "sewer slide");
3. context rules: idioms are removed before matching ("my boss will kill me"); a negated
   phrase does not count ("I've never been suicidal"); a message about someone else, about
   the past or asking for information is a *concern*, unless someone is in danger now;
4. a semantic backstop: the message's similarity to reviewed crisis exemplars
   (``data/crisis_exemplars.txt``) with the same embedding model, so a paraphrase without
   any lexicon word is still caught.

Every decision records which rule or score made it.

Example:
    >>> check = CrisisCheck.load()
    >>> check.check("this wait is killing me").level
    'none'
    >>> check.check("i want to kill myself").level
    'crisis'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"
CRISIS_MESSAGE_PATH = DATA / "crisis_message.md"
CONCERN_NOTE = (
    "If you or someone you know is thinking about suicide or self-harm, you can call or text "
    "**988** (Suicide & Crisis Lifeline) or chat at **988lifeline.org**; in immediate danger, "
    "call **911** or go to the nearest emergency room."
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# The writer as the subject ("told me" is not enough: the girlfriend is the subject).
_FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|ive|i'd|myself|my life|quiero|yo)\b")
_RISK_TIERS = ("intent", "plan", "means", "self_harm", "harm_to_others")

Vector = Sequence[float]


@lru_cache(maxsize=1)
def crisis_message() -> str:
    """The one reviewed crisis reply (``data/crisis_message.md``)."""
    return CRISIS_MESSAGE_PATH.read_text(encoding="utf-8").strip()


def normalise(text: str) -> str:
    """Lower case, no accents, leetspeak undone, repeated letters squeezed to one."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'")
    # Leetspeak only inside words that also have letters ("k1ll", not "988").
    text = re.sub(r"\b[\w@$]*[a-z][\w@$]*\b", lambda m: m.group(0).translate(_LEET), text)
    text = re.sub(r"([a-z])\1+", r"\1", text)
    text = re.sub(r"\bmy self\b", "myself", text)
    return " ".join(re.sub(r"[^\w'\s-]", " ", text).split())


@dataclass(frozen=True)
class CrisisDecision:
    """The outcome and why: ``level`` is ``crisis``, ``concern`` or ``none``."""

    level: str
    rule: str
    matched: str = ""
    score: float = 0.0


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    cleaned = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(p) for p in cleaned) + r")\b")


class CrisisCheck:
    """Decides whether a message is a crisis, a concern or neither."""

    def __init__(
        self,
        lexicon: Mapping[str, Any],
        exemplars: Sequence[str] = (),
        embed: Callable[[list[str]], list[list[float]]] | None = None,
        threshold: float = 0.72,
    ) -> None:
        self.tiers: dict[str, re.Pattern[str]] = {}
        for tier, languages in lexicon["tiers"].items():
            phrases = [p for group in languages.values() for p in group]
            pattern = _phrase_pattern(phrases)
            if pattern is not None:
                self.tiers[tier] = pattern
        self.idioms = [re.compile(r"\b" + normalise_pattern(p) + r"\b") for p in lexicon["idioms"]]
        self.negations = [normalise(n) for n in lexicon["negations"]]
        self.third_person = _phrase_pattern(lexicon["third_person"])
        self.immediate = _phrase_pattern(lexicon["immediate_danger"])
        self.past = _phrase_pattern(lexicon["past"])
        self.informational = _phrase_pattern(lexicon["informational"])
        self.exemplars = list(exemplars)
        self.threshold = threshold
        self._embed = embed
        self._exemplar_vectors: list[list[float]] | None = None

    @classmethod
    def load(
        cls,
        embed: Callable[[list[str]], list[list[float]]] | None = None,
        threshold: float = 0.72,
    ) -> CrisisCheck:
        """The check with the lexicon and exemplars shipped in ``data/``."""
        lexicon = yaml.safe_load((DATA / "crisis_lexicon.yaml").read_text(encoding="utf-8"))
        exemplars = [
            line.strip()
            for line in (DATA / "crisis_exemplars.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        return cls(lexicon, exemplars, embed, threshold)

    def warm_up(self) -> None:
        """Embed the exemplars now (once), not on the first patient's message."""
        if self._embed is not None and self.exemplars and self._exemplar_vectors is None:
            self._exemplar_vectors = self._embed(self.exemplars)

    def check(
        self,
        message: str,
        history: Sequence[Mapping[str, str]] = (),
        vector: Vector | None = None,
    ) -> CrisisDecision:
        """Classify one message (recent user turns give context to short replies).

        Args:
            message: What the patient typed (already cleaned).
            history: Earlier turns; a short reply such as "yes, tonight" after a risky
                message is read together with it.
            vector: The message's embedding, if the caller already has it.
        """
        text = normalise(message)
        idiom_found = False
        for idiom in self.idioms:
            text, n = idiom.subn(" ", text)
            idiom_found = idiom_found or n > 0
        decision = self._lexical(text)
        if decision.level == "none" and history:
            previous = [t.get("content", "") for t in history if t.get("role") == "user"][-2:]
            if previous and len(text.split()) <= 6:
                earlier = self._lexical(normalise(" ".join(previous)) + " " + text)
                if earlier.level == "crisis":
                    return CrisisDecision("crisis", "history:" + earlier.rule, earlier.matched)
        if decision.level != "none":
            return decision
        if idiom_found:
            # The figure of speech explains the alarming words; the backstop would not.
            return CrisisDecision("none", "idiom")
        return self._semantic(message, text, vector)

    def _lexical(self, text: str) -> CrisisDecision:
        hits: list[tuple[str, str, int]] = []
        for tier, pattern in self.tiers.items():
            for match in pattern.finditer(text):
                if not self._negated(text, match.start()):
                    hits.append((tier, match.group(1), match.start()))
        if not hits:
            return CrisisDecision("none", "no lexicon match")
        risky = [h for h in hits if h[0] in _RISK_TIERS]
        tier, phrase, _ = (risky or hits)[0]
        if self.immediate is not None and (m := self.immediate.search(text)):
            return CrisisDecision("crisis", f"{tier}+immediate_danger", f"{phrase} / {m.group(1)}")
        first_person = _FIRST_PERSON.search(text) is not None
        m = self.informational.search(text) if self.informational is not None else None
        if m is not None and not first_person:
            return CrisisDecision("concern", f"{tier}+informational", f"{phrase} / {m.group(1)}")
        if self.past is not None and (m := self.past.search(text)):
            return CrisisDecision("concern", f"{tier}+past", f"{phrase} / {m.group(1)}")
        m = self.third_person.search(text) if self.third_person is not None else None
        if m is not None and (not first_person or tier == "harm_to_others"):
            level = "crisis" if tier == "harm_to_others" else "concern"
            return CrisisDecision(level, f"{tier}+third_person", f"{phrase} / {m.group(1)}")
        if not risky:
            return CrisisDecision("concern", tier, phrase)
        return CrisisDecision("crisis", tier, phrase)

    def _negated(self, text: str, start: int) -> bool:
        before = text[:start].split()[-4:]
        window = " ".join(before)
        return any(re.search(r"\b" + re.escape(n) + r"\b", window) for n in self.negations)

    def _semantic(self, message: str, text: str, vector: Vector | None) -> CrisisDecision:
        if self._embed is None or not self.exemplars:
            return CrisisDecision("none", "no lexicon match")
        self.warm_up()
        assert self._exemplar_vectors is not None
        query = list(vector) if vector is not None else self._embed([message])[0]
        scores = [
            sum(a * b for a, b in zip(query, ex, strict=True)) for ex in self._exemplar_vectors
        ]
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] < self.threshold:
            return CrisisDecision("none", "below semantic threshold", score=scores[best])
        if self.informational is not None and self.informational.search(text):
            return CrisisDecision(
                "concern", "semantic+informational", self.exemplars[best], scores[best]
            )
        return CrisisDecision("crisis", "semantic", self.exemplars[best], scores[best])


def normalise_pattern(pattern: str) -> str:
    """An idiom regex in the normalised alphabet (its literal letters squeezed)."""
    return re.sub(r"([a-z])\1+", r"\1", pattern.lower())
