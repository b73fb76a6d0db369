"""The generative composer: a LangChain chat model's answer, kept only where the passages
support it.

:class:`GenerativeComposer` asks a chat model for an answer and keeps only sentences
whose ``[n]`` points at a passage it was given and that passage supports (its words and
every number it states are in the passage); if nothing survives, the extractive answer
is used instead (:mod:`kapbot.compose`). Each kept answer is introduced with the
publishers of the passages it cites, as an extractive quote would be.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from kapbot.chunking import body_of, split_sentences
from kapbot.compose import MARKER, Composer, Composition, markdown_safe
from kapbot.keyword import tokenize
from kapbot.records import Passage
from kapbot.texts import ReplyTexts

log = logging.getLogger(__name__)

_MARKER = MARKER
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKER_AFTER_STOP = re.compile(r"([.!?])\s*((?:\[\d+\]\s*)+)")


def supported(sentence: str, passage_text: str, min_overlap: float = 0.6) -> bool:
    """Whether a generated sentence is backed by the passage it cites.

    Most of its content words must be in the passage, and every number it states must
    appear there verbatim (a model must never invent a figure).
    """
    bare = _MARKER.sub(" ", sentence)
    words = set(tokenize(bare))
    if not words:
        return False
    overlap = len(words & set(tokenize(passage_text))) / len(words)
    numbers_ok = set(_NUMBER.findall(bare)) <= set(_NUMBER.findall(passage_text))
    return overlap >= min_overlap and numbers_ok


def filter_generated(output: str, passages: Sequence[Passage]) -> Composition | None:
    """Keep only supported sentences with valid ``[n]`` markers; renumber in order of use.

    Returns None when no sentence survives.
    """
    kept: list[str] = []
    order: list[int] = []  # passage indexes, in order of first citation
    # "... clinic. [1]" -> "... clinic [1]." so the marker stays with its sentence.
    output = _MARKER_AFTER_STOP.sub(r" \2\1", output)
    for line in output.splitlines():
        for sentence in split_sentences(line.strip().lstrip("-*• ").strip()):
            cited = [int(n) for n in _MARKER.findall(sentence)]
            valid = sorted({n for n in cited if 1 <= n <= len(passages)})
            if not valid:
                continue
            bare = _MARKER.sub("", sentence).strip()
            bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
            if not any(supported(bare, passages[n - 1].text) for n in valid):
                continue
            valid = [n for n in valid if supported(bare, passages[n - 1].text)]
            for n in valid:
                if n - 1 not in order:
                    order.append(n - 1)
            markers = "".join(f"[{order.index(n - 1) + 1}]" for n in valid)
            kept.append(f"{markdown_safe(bare)} {markers}")
    if not kept:
        return None
    return Composition(" ".join(kept), tuple(passages[i] for i in order))


class GenerativeComposer:
    """Answers with a LangChain chat model, filtered to what the passages support."""

    _SYSTEM = (
        "You answer a patient's question for a ketamine-assisted psychotherapy clinic using "
        "ONLY the numbered passages below. Write 1 to 4 short sentences. End every sentence "
        "with the number of the passage that states it, like [1]. Use the passages' own "
        "words and figures; add nothing they do not say. Never give a dose, never promise "
        "an outcome. If the passages do not answer the question, reply exactly: NO_ANSWER"
    )

    def __init__(self, model: Any, fallback: Composer, texts: ReplyTexts | None = None) -> None:
        self.model = model
        self.fallback = fallback
        self.texts = texts or ReplyTexts.load()

    def _attributed(self, composition: Composition) -> Composition:
        """The answer introduced by the publishers of the passages it cites (another
        provider's words are never presented as the clinic's)."""
        publishers: list[str] = []
        for p in composition.cited:
            if p.owner != "clinic" and p.publisher and p.publisher not in publishers:
                publishers.append(" ".join(p.publisher.split()))
        if not publishers:
            return composition
        names = (
            publishers[0]
            if len(publishers) == 1
            else (", ".join(publishers[:-1]) + " and " + publishers[-1])
        )
        intro = self.texts.get("attribution", "generated", publishers=names)
        return Composition(f"{intro}\n\n{composition.text}", composition.cited)

    def compose(
        self, question: str, passages: Sequence[Passage], context: str = "", said: str = ""
    ) -> Composition:
        numbered = "\n\n".join(f"[{i}] {body_of(p.text)}" for i, p in enumerate(passages, 1))
        asked = f"{question} (earlier in the conversation: {context})" if context else question
        try:
            result = self.model.invoke(
                [
                    ("system", self._SYSTEM),
                    ("human", f"Passages:\n{numbered}\n\nQuestion: {asked}"),
                ]
            )
            output = str(getattr(result, "content", result))
        except Exception as exc:  # the model is optional: never fail the answer on it
            log.warning("chat model failed, using the extractive answer: %s", exc)
            return self.fallback.compose(question, passages, context, said)
        composed = None if "NO_ANSWER" in output else filter_generated(output, passages)
        if composed is None:
            return self.fallback.compose(question, passages, context, said)
        return self._attributed(composed)
