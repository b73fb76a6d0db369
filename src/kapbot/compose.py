"""Answer composition: the clinic's own sentences with ``[n]`` markers.

:class:`ExtractiveComposer` (the default) needs no LLM: from the best passage it quotes
the span of sentences that best matches the question (the answer right under a heading
that asks the same question, or the sentence that best combines the question's rarest
words with its sentence vector's similarity to the question, plus what follows it), and
may add a shorter quote from a second, different section: one that shares enough of the
question's words, or shares some and whose passage is at least as close to the question in
meaning as the first. An FAQ answer quoted from a bare reply ("No.", "Potentially, yes —
...") comes with the question it answers.

:class:`GenerativeComposer` asks a chat model for an answer and keeps only sentences
whose ``[n]`` points at a passage it was given and that passage supports (its words and
every number it states are in the passage); if nothing survives, the extractive answer
is used instead.

``Composition.text`` numbers citations 1..n in order of first use; ``cited[i - 1]`` is
the passage behind ``[i]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kapbot.chunking import Unit, body_of, is_list_item, plain_unit, split_sentences, units_of
from kapbot.keyword import tokenize
from kapbot.records import Passage

log = logging.getLogger(__name__)

Weigher = Callable[[str], float]
_MARKER = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKER_AFTER_STOP = re.compile(r"([.!?])\s*((?:\[\d+\]\s*)+)")
# The opening of an FAQ answer that replies to its heading's question and means nothing
# without it ("Potentially, yes — but this depends on ...").
_BARE_REPLY = re.compile(
    r"(?:yes|no|potentially|possibly|probably|generally|usually|often|sometimes|maybe|"
    r"not necessarily|not always|it depends|absolutely|definitely)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Composition:
    text: str
    cited: tuple[Passage, ...]


class Composer(Protocol):
    def compose(
        self, question: str, passages: Sequence[Passage], context: str = ""
    ) -> Composition: ...


def markdown_safe(text: str) -> str:
    """Clinic text shown as Markdown: no HTML is rendered, and a bracketed number in the
    text ("[12]") is escaped so it never reads as one of kapbot's citation markers."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return _MARKER.sub(lambda m: f"\\[{m.group(1)}\\]", text)


def _render(units: Sequence[Unit]) -> str:
    parts: list[str] = []
    for i, unit in enumerate(units):
        if i:
            parts.append("\n" if unit.sep != " " else " ")
        parts.append(unit.text)
    return markdown_safe("".join(parts))


@dataclass(frozen=True)
class _Span:
    units: tuple[Unit, ...]
    score: float
    opens_section: bool = False


def _quote(span: _Span, passage: Passage) -> str:
    """The span as Markdown. An FAQ answer quoted from its first sentence, when that
    sentence is a bare reply ("No.", "Potentially, yes — ..."), comes with the question it
    answers, in bold: the patient asked something else, and "yes" alone would answer them."""
    text = _render(span.units)
    heading = " ".join(passage.section.split())
    if span.opens_section and heading.endswith("?") and _BARE_REPLY.match(span.units[0].text):
        return f"**{markdown_safe(heading)}** {text}"
    return text


def _size_between(units: Sequence[Unit], start: int, end: int) -> int:
    return sum(len(u.text) + 1 for u in units[start : end + 1])


class ExtractiveComposer:
    """Quotes the most relevant sentences of the top passages.

    Args:
        weight: Weight of a stemmed query token (the keyword index's IDF).
        max_chars: Length budget of the quote from the best passage.
        second_ratio: A second passage is quoted when its best span scores at least this
            fraction of the first one's (by the question's words), or when it shares at
            least one of them and is at least as similar to the question as the first
            passage (by meaning: the patient's words may not be the clinic's).
        semantic_weight: Weight of a sentence's vector similarity to the question (from
            ``Passage.matched``) against its share of the question's word weight, when
            choosing the sentence a quote is built around (0: words only).
        context_weight: Weight of a follow-up's conversation words against the
            question's own (see :meth:`compose`).
    """

    def __init__(
        self,
        weight: Weigher,
        max_chars: int = 450,
        second_ratio: float = 0.6,
        semantic_weight: float = 1.0,
        context_weight: float = 0.5,
    ) -> None:
        self.weight = weight
        self.max_chars = max_chars
        self.second_ratio = second_ratio
        self.semantic_weight = semantic_weight
        self.context_weight = context_weight

    def _score(self, text: str, query: Mapping[str, float]) -> float:
        return sum(self.weight(t) * query[t] for t in query.keys() & set(tokenize(text)))

    def best_span(self, passage: Passage, query: Mapping[str, float], max_chars: int) -> _Span:
        units = units_of(body_of(passage.text))
        if not units:
            return _Span((), 0.0)
        scores = [self._score(u.text, query) for u in units]
        heading = self._score(passage.section, query)
        best = self._anchor(units, scores, query, passage.matched)
        # Under a question heading (FAQ style) that matches the question better than any
        # sentence does, the answer is what the section says first.
        faq = passage.section.rstrip().endswith("?")
        start = 0 if faq and heading > 0 and heading >= max(scores) else best
        # A list item is quoted with the sentence that introduces its list.
        while start > 0 and is_list_item(units[start]) and not units[start - 1].text.endswith(":"):
            start -= 1
        if start > 0 and is_list_item(units[start]) and units[start - 1].text.endswith(":"):
            start -= 1
        if start < best and _size_between(units, start, best) > max_chars * 2:
            # The answer is far down a long list: its introduction, then that item.
            chosen, size, rest = [units[start], units[best]], len(units[best].text), best + 1
        else:
            chosen, size, rest = [units[start]], len(units[start].text), start + 1
        for unit in units[rest:]:
            in_list = is_list_item(unit) and (
                chosen[-1].text.endswith(":") or is_list_item(chosen[-1])
            )
            if unit.text.endswith(":") and not in_list:
                break  # the next list belongs to another point
            if size + len(unit.text) > (max_chars * 2 if in_list else max_chars):
                break
            chosen.append(unit)
            size += len(unit.text) + 1
        score = max(heading, scores[best]) + sum(self._score(u.text, query) for u in chosen) * 0.1
        return _Span(tuple(chosen), score, opens_section=chosen[0] is units[0])

    def _anchor(
        self,
        units: Sequence[Unit],
        lexical: Sequence[float],
        query: Mapping[str, float],
        matched: Sequence[tuple[str, float]],
    ) -> int:
        """The unit the quote is built around: the best by the share of the question's
        word weight it contains plus, weighted, the cosine similarity to the question of
        its best sentence record (the sentence search's hits in this passage)."""
        total = sum(self.weight(t) * f for t, f in query.items()) or 1.0
        records = [(" ".join(text.split()), sim) for text, sim in matched]
        semantic = [
            max((sim for text, sim in records if plain_unit(u.text) in text), default=0.0)
            for u in units
        ]
        combined = [
            lex / total + self.semantic_weight * sem
            for lex, sem in zip(lexical, semantic, strict=True)
        ]
        return max(range(len(units)), key=lambda i: (combined[i], -i))

    def compose(self, question: str, passages: Sequence[Passage], context: str = "") -> Composition:
        """Quote the passages for ``question``. ``context`` is the earlier turns' words
        a follow-up was searched with: they count for ``context_weight`` of a word of the
        question's own when choosing what to quote ("is there a therapist involved in
        that?" after at-home ketamine quotes what is said of therapy, not of at-home
        programs in general)."""
        if not passages:
            return Composition("", ())
        query = dict.fromkeys(tokenize(context), self.context_weight) | dict.fromkeys(
            tokenize(question), 1.0
        )
        first = self.best_span(passages[0], query, self.max_chars)
        if not first.units:
            return Composition("", ())
        parts = [(first, passages[0])]
        for other in passages[1:3]:
            if (other.source, other.section) == (passages[0].source, passages[0].section):
                continue
            span = self.best_span(other, query, self.max_chars // 2)
            if (
                span.units
                and span.score > 0
                and (
                    span.score >= self.second_ratio * first.score
                    or 0 < passages[0].similarity <= other.similarity
                )
            ):
                parts.append((span, other))
            break
        text = "\n\n".join(f"{_quote(span, p)} [{i}]" for i, (span, p) in enumerate(parts, 1))
        return Composition(text, tuple(p for _, p in parts))


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

    def __init__(self, model: Any, fallback: Composer) -> None:
        self.model = model
        self.fallback = fallback

    def compose(self, question: str, passages: Sequence[Passage], context: str = "") -> Composition:
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
            return self.fallback.compose(question, passages, context)
        composed = None if "NO_ANSWER" in output else filter_generated(output, passages)
        return composed or self.fallback.compose(question, passages, context)
