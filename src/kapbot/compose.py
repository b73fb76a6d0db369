"""Answer composition: the clinic's own sentences, whole and attributed, with ``[n]`` markers.

:class:`ExtractiveComposer` (the default) needs no LLM. From the best passage it quotes
the sentences that answer the question, answer first:

- the unit the quote is built around is the one that best combines the question's
  rarest words with its sentence record's similarity to the question, or, under a
  heading that asks the question (an FAQ), what the section says first;
- a list is quoted whole with its introduction, and a question that asks for a list
  ("side effects", "who shouldn't...") gets every list of the passage on its subject;
- a sentence that opens by pointing back ("These include...", "It is FDA-approved")
  comes with the sentence before it, or, when the passage has none, with its subject
  named from the document's own heading;
- footnote digits and reference markers are left out, abbreviations the document
  spells out are spelled out on first use, and no sentence is quoted twice.

A second, shorter quote may come from another section: one that shares enough of the
question's words, or shares some and is at least as close to it in meaning as the first,
and is about the same form of treatment as the question. A quote from another provider's
article is introduced by its publisher ("Journey Clinical writes:"), and its sentences
about that provider's own practice ("We do not bill insurance") are introduced as such;
the clinic's own documents (front matter ``owner: clinic``) speak for the clinic.

``Composition.text`` numbers citations 1..n in order of first use; ``cited[i - 1]`` is
the passage behind ``[i]``. The generative composer is :mod:`kapbot.generative`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kapbot.chunking import Unit, body_of, is_list_item, plain_unit, units_of
from kapbot.guardrails import is_promise, states_dose
from kapbot.keyword import tokenize
from kapbot.question import Asked, read_question, treatments_in
from kapbot.readable import (
    expand_abbreviations,
    natural_heading,
    opens_dangling,
    same_sentence,
    strip_references,
)
from kapbot.records import Passage
from kapbot.texts import ReplyTexts

Weigher = Callable[[str], float]
# A word whose weight (the keyword index's IDF) is at least this is telling: it is in at
# most about a fifth of the passages of a small corpus.
TELLING_WEIGHT = 1.5
MARKER = re.compile(r"\[(\d+)\]")
# The opening of an FAQ answer that replies to its heading's question and means nothing
# without it ("Potentially, yes — but this depends on ...").
_BARE_REPLY = re.compile(
    r"(?:yes|no|potentially|possibly|probably|generally|usually|often|sometimes|maybe|"
    r"not necessarily|not always|it depends|absolutely|definitely)\b",
    re.IGNORECASE,
)
# Sections that are the page's apparatus, not its content.
_FURNITURE = re.compile(
    r"^(?:references|sources|bibliography|citations|footnotes|works cited|further reading|"
    r"(?:medical )?disclaimer)$",
    re.IGNORECASE,
)
# Another provider's call to action ("Create your patient portal to get started", "Read
# the full guide"): meant for its own readers, not the clinic's patients.
_CALL_TO_ACTION = re.compile(
    r"^(?:create|read|call|contact|book|schedule|sign up|visit|learn more|click|download|"
    r"start|get started|join|subscribe|request|reach out|explore our|find out more)\b",
    re.IGNORECASE,
)
# Another provider's phone number or web address: never shown unless asked for by name.
# A sentence that qualifies the one before it: a quote never stops right before it
# ("These programs have grown in popularity…" without "However, the clinical evidence
# … is limited").
_QUALIFIES = re.compile(
    r"^(?:However|But|That said|Still|Yet|Nevertheless|Nonetheless|On the other hand)\b"
)
_CONTACT_DETAIL = re.compile(r"\b\d{3}[-.\s)]\s?\d{3}[-.\s]\d{4}\b|https?://|www\.", re.IGNORECASE)
# A third party speaking of its own practice: "we", "our", "us".
_FIRST_PERSON_PLURAL = re.compile(r"\b(we|we['’](?:re|ve|ll)|our|ours|us)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Composition:
    """An answer's Markdown and the passages its ``[n]`` markers point at.

    ``other_practice`` is set when it quotes another provider's sentences about its own
    practice (prices, policies, staff), so the reply can say the clinic's may differ.
    """

    text: str
    cited: tuple[Passage, ...]
    other_practice: bool = False


class Composer(Protocol):
    def compose(
        self, question: str, passages: Sequence[Passage], context: str = "", said: str = ""
    ) -> Composition: ...


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[*_>\\\[\]]", " ", text).lower().split())


def _said_before(units: Sequence[Unit], said: str) -> bool:
    """Whether the conversation's last answer already said (nearly all of) these units."""
    if not said or not units:
        return False
    told = _norm(said)
    return sum(_norm(plain_unit(u.text)) in told for u in units) * 2 > len(units)


# A Markdown image, inline (![alt](url "title")) or by reference (![alt][ref]).
_IMAGE = re.compile(r"!\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])")


def markdown_safe(text: str) -> str:
    """Clinic text shown as Markdown: no HTML is rendered, an image is shown as its
    description (a patient's browser never fetches a picture from another site), and a
    bracketed number in the text ("[12]") is escaped so it never reads as one of kapbot's
    citation markers."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = _IMAGE.sub(
        lambda m: f"(image: {m.group(1).strip()})" if m.group(1).strip() else "", text
    )
    return MARKER.sub(lambda m: f"\\[{m.group(1)}\\]", text)


@dataclass(frozen=True)
class _Quote:
    """The units quoted from one passage, and how well they match the question."""

    units: tuple[Unit, ...]
    score: float
    opens_section: bool = False  # starts with the passage's first unit
    needs_subject: bool = False  # opens by pointing back, with nothing before it


_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _render(units: Sequence[Unit]) -> str:
    """Units as Markdown lines. A table's rows are shown as list items that name their
    columns ("- Duration of Benefit — KAP: Longer-lasting; Infusion Therapy: ..."): a
    table is unreadable on a phone and a row means nothing without its header."""
    parts: list[str] = []
    header: list[str] = []
    for i, unit in enumerate(units):
        text = unit.text
        if text.startswith("|"):
            following = units[i + 1].text if i + 1 < len(units) else ""
            if _TABLE_RULE.match(text):
                continue  # the line under a table's header
            if _TABLE_RULE.match(following):
                header = _cells(text)
                continue
            cells = _cells(text)
            if header and len(header) == len(cells) and len(cells) > 1:
                named = "; ".join(f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=True))
                text = f"- {cells[0]} — {named}"
            else:
                text = "- " + "; ".join(c for c in cells if c)
        if parts:
            # A paragraph after a list starts a block of its own: on the next line it
            # would read as the end of the list's last item.
            after_list = i > 0 and is_list_item(units[i - 1]) and not is_list_item(unit)
            parts.append(" " if unit.sep == " " else "\n\n" if after_list else "\n")
        parts.append(text)
    return markdown_safe("".join(parts))


def _size(units: Sequence[Unit]) -> int:
    return sum(len(u.text) + 1 for u in units)


def _list_span(units: Sequence[Unit], i: int) -> tuple[int, int]:
    """The list unit ``i`` belongs to (an item, or the introduction ending in ':' just
    before its items), as ``(first, end)``: its introduction through its last item."""
    first = i
    while first > 0 and is_list_item(units[first]) and is_list_item(units[first - 1]):
        first -= 1
    if first > 0 and is_list_item(units[first]) and units[first - 1].text.endswith(":"):
        first -= 1
    end = first + 1
    while end < len(units) and is_list_item(units[end]):
        end += 1
    return first, end


def _in_list(units: Sequence[Unit], i: int) -> bool:
    unit = units[i]
    return is_list_item(unit) or (
        unit.text.endswith(":") and i + 1 < len(units) and is_list_item(units[i + 1])
    )


def _with_introduction(units: Sequence[Unit], i: int) -> str:
    """A unit's text, and for a list item its list's introduction before it: "40 to
    60-minute sessions" is about what "Infusion Therapy:" names."""
    if not is_list_item(units[i]):
        return units[i].text
    first, _ = _list_span(units, i)
    return f"{units[first].text} {units[i].text}" if first < i else units[i].text


def _with_qualification(units: Sequence[Unit], chosen: list[int]) -> list[int]:
    """``chosen`` with the sentence right after it when that sentence qualifies what it
    says ("However, the clinical evidence … is limited"), and with the next one after
    that, while each does: cutting a quote before its qualification misleads."""
    end = chosen[-1] + 1
    while end < len(units) and not _in_list(units, end) and _QUALIFIES.match(units[end].text):
        chosen = [*chosen, end]
        end += 1
    return chosen


def _about(passage: Passage) -> frozenset[str]:
    """The forms of treatment a passage's headings name (its section and those above it)."""
    return treatments_in(f"{passage.section_path} {passage.section}")


def speaks_for_itself(text: str, publisher: str) -> bool:
    """Whether a third party's text is about its own practice: it says "we" or "our", or
    names its publisher ("At Cohen & Associates, KAP is delivered by...").

    Example:
        >>> speaks_for_itself("We do not bill insurance directly.", "Cohen & Associates")
        True
        >>> speaks_for_itself("Ketamine is a Schedule III drug.", "Choosing Therapy")
        False
    """
    if _FIRST_PERSON_PLURAL.search(text):
        return True
    return bool(publisher) and publisher.lower() in text.lower()


def names_publisher(text: str, publisher: str) -> bool:
    """Whether ``text`` (a question) names ``publisher``: its full name or its first
    word ("does cohen take insurance?").

    Example:
        >>> names_publisher("Does Cohen take insurance?", "Cohen & Associates")
        True
    """
    name = " ".join(publisher.lower().split())
    if not name:
        return False
    first = re.split(r"[^a-z0-9]+", name)[0]
    lowered = text.lower()
    return name in lowered or (
        len(first) >= 4 and re.search(rf"\b{re.escape(first)}\b", lowered) is not None
    )


class ExtractiveComposer:
    """Quotes the sentences of the top passages that answer the question.

    Args:
        weight: Weight of a stemmed query token (the keyword index's IDF).
        texts: How quotes are introduced (``data/replies.yaml``).
        spelled: The abbreviations a document (by source) spells out itself.
        acronyms: Words written in capitals in the documents (kept in headings).
        subject: The clinic's subject (``Settings.clinic_subject``): a question that
            names no form of treatment is read as about the ones it names.
        max_chars: Length budget of the quote from the best passage (a list question
            gets ``list_chars``; a second passage half of ``max_chars``).
        list_chars: Length budget of a quote that answers a question asking for a list.
        second_ratio: A second passage is quoted when its best span scores at least this
            fraction of the first one's (by the question's words), or when it shares at
            least one of them and is at least as similar to the question as the first
            passage (by meaning: the patient's words may not be the clinic's).
        semantic_weight: Weight of a sentence's vector similarity to the question (from
            ``Passage.matched``) against its share of the question's word weight, when
            choosing the sentence a quote is built around (0: words only).
        context_weight: Weight of a follow-up's conversation words against the
            question's own (see :meth:`compose`).

    Example:
        >>> composer = ExtractiveComposer(lambda token: 1.0)
        >>> clinic = Passage(id="c", text="## Cost\\n\\nA session costs $750.",
        ...                  source="cost.md", score=1.0, section="Cost", owner="clinic")
        >>> composer.compose("What does a session cost?", [clinic]).text
        'A session costs $750. [1]'
    """

    def __init__(
        self,
        weight: Weigher,
        *,
        texts: ReplyTexts | None = None,
        spelled: Callable[[str], Mapping[str, str]] = lambda _source: {},
        acronyms: Collection[str] = (),
        subject: str = "",
        max_chars: int = 450,
        list_chars: int = 1600,
        second_ratio: float = 0.6,
        semantic_weight: float = 1.0,
        context_weight: float = 0.5,
    ) -> None:
        self.weight = weight
        self.texts = texts or ReplyTexts.load()
        self.spelled = spelled
        self.acronyms = acronyms
        self.implied = treatments_in(subject)
        self.max_chars = max_chars
        self.list_chars = list_chars
        self.second_ratio = second_ratio
        self.semantic_weight = semantic_weight
        self.context_weight = context_weight

    def _score(self, text: str, query: Mapping[str, float]) -> float:
        # In the query's order, not a set's: a sum's last bits must not depend on the
        # process's string hashing, or ties between sentences fall differently per run.
        words = set(tokenize(text))
        return sum(self.weight(t) * f for t, f in query.items() if t in words)

    def _anchor(
        self,
        units: Sequence[Unit],
        lexical: Sequence[float],
        query: Mapping[str, float],
        matched: Sequence[tuple[str, float]],
        asked_about: frozenset[str] = frozenset(),
    ) -> int:
        """The unit the quote is built around: the best by the share of the question's
        word weight it contains plus, weighted, the cosine similarity to the question of
        its best sentence record (the sentence search's hits in this passage). A unit
        that names only other forms of treatment than the one asked about ("infusion
        clinics forgo music" for a question about KAP) counts for half."""
        total = sum(self.weight(t) * f for t, f in query.items()) or 1.0
        records = [(" ".join(strip_references(text).split()), sim) for text, sim in matched]
        semantic = [
            max((sim for text, sim in records if plain_unit(u.text) in text), default=0.0)
            for u in units
        ]
        combined = [
            (lex / total + self.semantic_weight * sem)
            * self._elsewhere(_with_introduction(units, i), asked_about)
            for i, (lex, sem) in enumerate(zip(lexical, semantic, strict=True))
        ]
        return max(range(len(units)), key=lambda i: (combined[i], -i))

    @staticmethod
    def _elsewhere(text: str, asked_about: frozenset[str]) -> float:
        named = treatments_in(text)
        return 0.5 if asked_about and named and not named & asked_about else 1.0

    def quote(
        self,
        passage: Passage,
        query: Mapping[str, float],
        asked: Asked,
        budget: int,
        about_them: bool = False,
    ) -> _Quote:
        """The units of ``passage`` that answer the question, in the passage's order."""
        # Never built around a sentence the guardrails would take out (a promise, a dose),
        # nor, unless the question names that provider, around another provider's phone
        # number or web address (a patient must not call the wrong clinic).
        theirs = passage.owner != "clinic" and not about_them
        every = units_of(strip_references(body_of(passage.text)))
        banned = {
            i
            for i, u in enumerate(every)
            if is_promise(u.text)
            or states_dose(u.text)
            or (theirs and (_CONTACT_DETAIL.search(u.text) or _CALL_TO_ACTION.match(u.text)))
        }
        for i in list(banned):  # a list loses no item: it goes whole, or not at all
            if _in_list(every, i):
                first, end = _list_span(every, i)
                banned.update(range(first, end))
        units = [u for i, u in enumerate(every) if i not in banned]
        # A line that introduces what follows it ("Here is what you can expect:") says
        # nothing without it, unless its list follows in the same passage.
        units = [
            u for i, u in enumerate(units) if not (u.text.endswith(":") and not _in_list(units, i))
        ]
        if not units:
            return _Quote((), 0.0)
        scores = [self._score(u.text, query) for u in units]
        heading = self._score(passage.section, query)
        best = self._anchor(units, scores, query, passage.matched, asked.treatments)
        # Under a heading that matches the question at least as well as any sentence does,
        # the section is about just what was asked: an FAQ's answer is quoted from its
        # start, and any such section with a larger budget ("How to Find a Therapist
        # Trained in KAP" is quoted through its practical tips).
        on_topic = heading > 0 and heading >= max(scores)
        faq = passage.section.rstrip().endswith("?")
        start = 0 if on_topic and faq else best
        if on_topic and not faq:
            budget *= 2
        list_budget = self.list_chars
        if units[start].text.startswith("|"):
            chosen = self._table_rows(units, start, best, scores)
        else:
            chosen = self._around(units, start, best, budget, list_budget, scores)
        if asked.wants_list:
            chosen = self._with_lists(units, chosen, scores, list_budget)
        chosen = self._covering(units, chosen, query, budget * 2)
        chosen = _with_qualification(units, chosen)
        chosen, needs_subject = self._with_what_it_points_to(units, chosen, budget)
        if passage.owner != "clinic" and not about_them:
            # Another provider's closing words about itself ("We discuss the treatment
            # course in full before beginning") are not part of the answer.
            while (
                len(chosen) > 1
                and chosen[-1] > best
                and speaks_for_itself(units[chosen[-1]].text, passage.publisher)
            ):
                last = chosen.pop()
                if _in_list(units, last):  # a list goes whole, with its introduction
                    first, _ = _list_span(units, last)
                    while len(chosen) > 1 and chosen[-1] >= first and chosen[-1] > best:
                        chosen.pop()
        picked = tuple(units[i] for i in chosen)
        score = max(heading, scores[best]) + sum(scores[i] for i in chosen) * 0.1
        return _Quote(picked, score, opens_section=chosen[0] == 0, needs_subject=needs_subject)

    def _covering(
        self,
        units: Sequence[Unit],
        chosen: list[int],
        query: Mapping[str, float],
        budget: int,
    ) -> list[int]:
        """``chosen`` carried on through the sentence after it that holds a telling word
        of the question the quote does not have yet ("what does the evidence say about
        microdosing?": the programs, then "However, the clinical evidence ... is
        limited"), while it fits ``budget``; lists are never entered this way."""
        telling = {t for t, w in query.items() if w >= 1.0 and self.weight(t) >= TELLING_WEIGHT}
        have = set(tokenize(" ".join(units[i].text for i in chosen)))
        size = _size([units[i] for i in chosen])
        end = chosen[-1]
        for i in range(end + 1, len(units)):
            if _in_list(units, i):
                break
            size += len(units[i].text) + 1
            if size > budget:
                break
            new = (telling - have) & set(tokenize(units[i].text))
            if new:
                return [*chosen, *range(end + 1, i + 1)]
        return chosen

    @staticmethod
    def _table_rows(
        units: Sequence[Unit], start: int, best: int, scores: Sequence[float]
    ) -> list[int]:
        """A table's header and the rows that share the question's words (the row the
        quote is built around, if none does): a comparison grid is quoted for the rows
        asked about, each shown with its column names."""
        first, end = _list_span(units, start)
        head = (
            [first, first + 1]
            if first + 1 < end and _TABLE_RULE.match(units[first + 1].text)
            else []
        )
        rows = [i for i in range(first + len(head), end) if scores[i] > 0]
        if not rows:
            rows = [best] if best >= first + len(head) else list(range(first + len(head), end))
        return [*head, *rows]

    def _around(
        self,
        units: Sequence[Unit],
        start: int,
        best: int,
        budget: int,
        list_budget: int,
        scores: Sequence[float],
    ) -> list[int]:
        """The span that starts at ``start``: a whole list when it is in one; then the
        sentences after it that fit ``budget``, and a list whose introduction ends the
        span, whole. It stops before the introduction of another list, unless that
        introduction goes on from the sentence before it ("These programs typically
        involve:"), the list shares a word of the question and all of it fits ``budget``."""
        if _in_list(units, start):
            first, end = _list_span(units, start)
            if _size(units[first:end]) > list_budget and best != first:
                # The answer is one item far down a very long list: its introduction (a
                # table's header) and it.
                rule = [first + 1] if _TABLE_RULE.match(units[first + 1].text) else []
                return [first, *rule, best] if best > first + len(rule) else [first, *rule]
            chosen = list(range(first, end))
        else:
            chosen = [start]
        size = _size([units[i] for i in chosen])
        i = chosen[-1] + 1
        while i < len(units):
            if _in_list(units, i):
                first, end = _list_span(units, i)
                goes_on = (
                    not is_list_item(units[i])
                    and opens_dangling(units[i].text)
                    and any(scores[j] > 0 for j in range(first, end))
                    and size + _size(units[first:end]) <= budget
                )
                if not (units[chosen[-1]].text.endswith(":") or goes_on):
                    break  # another list, about another point
                if _size(units[first:end]) > list_budget:
                    break
                chosen += [j for j in range(first, end) if j not in chosen]
                size += _size(units[first:end])
                i = end
                continue
            if size + len(units[i].text) > budget:
                break
            chosen.append(i)
            size += len(units[i].text) + 1
            i += 1
        return chosen

    def _with_lists(
        self, units: Sequence[Unit], chosen: list[int], scores: Sequence[float], budget: int
    ) -> list[int]:
        """``chosen`` grown by the lists right before or after it that are on the
        question's subject (their introduction or items share its words) or follow it,
        while they fit ``budget``: a question that asks for a list gets all of it."""
        taken = sorted(chosen)
        size = _size([units[i] for i in taken])
        grown = True
        while grown:
            grown = False
            after, before = taken[-1] + 1, taken[0] - 1
            for i, follows in ((after, True), (before, False)):
                if not (0 <= i < len(units)) or not _in_list(units, i):
                    continue
                first, end = _list_span(units, i)
                extra = [j for j in range(first, end) if j not in taken]
                relevant = any(scores[j] > 0 for j in range(first, end))
                cost = _size([units[j] for j in extra])
                if extra and (relevant or follows) and size + cost <= budget:
                    taken = sorted({*taken, *extra})
                    size += cost
                    grown = True
        return taken

    def _with_what_it_points_to(
        self, units: Sequence[Unit], chosen: list[int], budget: int
    ) -> tuple[list[int], bool]:
        """``chosen`` with the sentences before it that its first sentence points back to
        (at most two, in the same passage), and whether it still opens by pointing back
        (its subject must then be named from the heading)."""
        steps = 0
        while opens_dangling(units[chosen[0]].text) and chosen[0] > 0 and steps < 2:
            before = chosen[0] - 1
            if is_list_item(units[before]):
                # "These approaches..." after a list: the list is what it points to.
                first, _ = _list_span(units, before)
                earlier = list(range(first, before + 1))
            else:
                earlier = [before]
            if _size([units[i] for i in earlier]) > budget:
                break  # what it points to is too long to quote as well
            chosen = [*earlier, *chosen]
            steps += 1
        first_unit = units[chosen[0]]
        # A list (or table) with no introduction says what it is about only in the heading.
        headless = is_list_item(first_unit)
        return chosen, opens_dangling(first_unit.text) or headless

    def _text(self, quote: _Quote, passage: Passage, already: str) -> str:
        """The quote as Markdown: references left out, abbreviations spelled out on
        their first use in the reply, and an FAQ answer that opens with a bare reply
        ("No.", "Potentially, yes — ...") preceded by the question it answers."""
        text = _render(quote.units)
        spelled = {
            k: v for k, v in self.spelled(passage.source).items() if v.lower() not in already
        }
        text = expand_abbreviations(text, spelled)
        if self._with_question(quote, passage):
            heading = " ".join(passage.section.split())
            return f"**{markdown_safe(natural_heading(heading, self.acronyms))}** {text}"
        return text

    @staticmethod
    def _with_question(quote: _Quote, passage: Passage) -> bool:
        """Whether the quote is an FAQ answer that opens with a bare reply, shown after
        the question it answers."""
        return (
            quote.opens_section
            and passage.section.rstrip().endswith("?")
            and bool(_BARE_REPLY.match(quote.units[0].text))
        )

    @classmethod
    def _answers_another_question(
        cls, quote: _Quote, passage: Passage, query: Mapping[str, float]
    ) -> bool:
        """Whether the quote is an FAQ answer opening with a bare reply ("Potentially,
        yes") to an FAQ question that shares no word with the patient's: under their
        question it would read as a yes or no to what they asked."""
        return cls._with_question(quote, passage) and not any(
            token in query for token in tokenize(passage.section)
        )

    def _again(self, intro: str, passage: Passage) -> str:
        """The introduction of a second quote from the first one's publisher (or, when
        it names none, from the same article)."""
        publisher = " ".join(passage.publisher.split())
        key = "also" if publisher else "same_article_also"
        subject = re.search(r"“(.+)”:$", intro)
        if subject:
            return self.texts.get(
                "attribution", f"{key}_on", publisher=publisher, subject=subject[1]
            )
        return self.texts.get("attribution", key, publisher=publisher)

    def _introduce(self, quote: _Quote, passage: Passage, asked: Asked) -> tuple[str, bool]:
        """How the quote is introduced ("" for the clinic's own words on the subject
        asked), and whether it is another provider speaking of its own practice."""
        about = _about(passage)
        heading = natural_heading(passage.section or passage.title, self.acronyms)
        asked_about = asked.treatments or self.implied
        # The subject is named when the quote does not say it, or when it is about a form
        # of treatment the question did not name, unless the quote opens with the
        # question it answers.
        subject = (
            (quote.needs_subject or bool(about and not about & asked_about))
            and bool(heading)
            and not self._with_question(quote, passage)
        )
        if passage.owner == "clinic":
            intro = self.texts.get("attribution", "clinic_on", subject=heading) if subject else ""
            return intro, False
        words = " ".join(u.text for u in quote.units)
        if self._with_question(quote, passage):
            words = f"{passage.section} {words}"  # "Do I need a referral to be seen at X?"
        publisher = " ".join(passage.publisher.split())
        if publisher and speaks_for_itself(words, publisher):
            return self.texts.get("attribution", "own_practice", publisher=publisher), True
        if publisher:
            key = "third_party_on" if subject else "third_party"
            return self.texts.get("attribution", key, publisher=publisher, subject=heading), False
        key = "unnamed_on" if subject else "unnamed"
        return self.texts.get("attribution", key, subject=heading), False

    def _order(self, passages: Sequence[Passage], asked: Asked, asking: str) -> list[Passage]:
        """The passages to quote from, best first. When the question names one form of
        treatment and the best passage's headings name only others, the next passage
        (of the two after it) whose headings name the one asked comes first ("are IV
        infusions covered?" is answered from the section on IV infusions, not from a
        section on KAP that compares it with them)."""
        ranked = list(passages)
        if len(asked.treatments) != 1 or not ranked:
            return ranked
        if names_publisher(asking, ranked[0].publisher):
            return ranked  # asked about that provider: its own words answer
        about = _about(ranked[0])
        if about and not about & asked.treatments:
            for i, other in enumerate(ranked[1:3], start=1):
                if _about(other) & asked.treatments:
                    return [other, *ranked[:i], *ranked[i + 1 :]]
        return ranked

    def _second(
        self,
        first: tuple[_Quote, Passage],
        passages: Sequence[Passage],
        query: Mapping[str, float],
        asked: Asked,
        question: str,
        context: str,
    ) -> tuple[_Quote, Passage] | None:
        """A shorter quote from another section, when it adds to the first."""
        quote, top = first
        asking = f"{question} {context}"
        if asked.yes_no and quote.opens_section and top.section.rstrip().endswith("?"):
            return None  # an FAQ entry that asks the question answers it whole
        for other in passages[1:3]:
            if (other.source, other.section) == (top.source, top.section):
                continue
            about = _about(other)
            if asked.treatments and about and not about & asked.treatments:
                return None  # about another form of treatment than the one asked
            about_them = names_publisher(asking, other.publisher)
            span = self.quote(other, query, asked, self.max_chars // 2, about_them)
            if not span.units or span.score <= 0:
                return None
            if self._answers_another_question(span, other, query):
                continue
            if (
                other.owner != "clinic"
                and not about_them
                and speaks_for_itself(" ".join(u.text for u in span.units), other.publisher)
            ):
                return None  # another provider's words about itself add nothing here
            if not (
                span.score >= self.second_ratio * quote.score
                or 0 < top.similarity <= other.similarity
            ):
                return None
            # What the first quote said already is not said again (a list stays whole).
            units = tuple(
                u
                for u in span.units
                if is_list_item(u)
                or u.text.endswith(":")  # a list's introduction stays with it
                or not any(same_sentence(u.text, q.text) for q in quote.units)
            )
            if not units or len(units) < len(span.units) // 2 + 1:
                return None  # it says again what the first quote said
            # What is left may point back to the sentence left out ("It differs from IV
            # ketamine in that:"): its subject is then named from the heading.
            needs_subject = span.needs_subject or (
                units[0] is not span.units[0] and opens_dangling(units[0].text)
            )
            return _Quote(units, span.score, span.opens_section, needs_subject), other
        return None

    def compose(
        self, question: str, passages: Sequence[Passage], context: str = "", said: str = ""
    ) -> Composition:
        """Quote the passages for ``question``. ``context`` is the earlier turns' words
        a follow-up was searched with: they count for ``context_weight`` of a word of the
        question's own when choosing what to quote ("is there a therapist involved in
        that?" after at-home ketamine quotes what is said of therapy, not of at-home
        programs in general). ``said`` is the conversation's last answer: what it said
        is not quoted again when another passage has something new."""
        # A list of references or a page's furniture is not an answer.
        passages = [p for p in passages if not _FURNITURE.match(p.section.strip())]
        if not passages:
            return Composition("", ())
        asked = read_question(question)
        if context:  # the form of treatment the conversation is about counts too
            treatments = asked.treatments | treatments_in(context)
            asked = Asked(asked.yes_no, asked.wants_list, asked.comparison, treatments)
        query = dict.fromkeys(tokenize(context), self.context_weight) | dict.fromkeys(
            tokenize(question), 1.0
        )
        ordered = self._order(passages, asked, f"{question} {context}")
        asking = f"{question} {context}"
        about_them = names_publisher(asking, ordered[0].publisher)
        first = self.quote(ordered[0], query, asked, self.max_chars, about_them)
        if not first.units:
            return Composition("", ())
        # A follow-up is answered with something new when the next passages have it; an
        # FAQ's bare reply is not quoted under a question it does not answer.
        rejects: list[Callable[[_Quote, Passage], bool]] = [
            lambda quote, _passage: _said_before(quote.units, said),
            lambda quote, passage: self._answers_another_question(quote, passage, query),
        ]
        for reject in rejects:
            if reject(first, ordered[0]):
                for i, other in enumerate(ordered[1:3], start=1):
                    them = names_publisher(asking, other.publisher)
                    instead = self.quote(other, query, asked, self.max_chars, them)
                    if instead.units and not reject(instead, other):
                        first, ordered = instead, [other, *ordered[:i], *ordered[i + 1 :]]
                        break
        parts = [(first, ordered[0])]
        second = self._second(parts[0], ordered, query, asked, question, context)
        if second is not None and _said_before(second[0].units, said):
            second = None
        if second is not None:
            parts.append(second)
        paragraphs: list[str] = []
        other_practice = False
        first_passage = parts[0][1]
        for n, (quote, passage) in enumerate(parts, start=1):
            intro, own = self._introduce(quote, passage, asked)
            if (
                n > 1
                and intro
                and passage.owner != "clinic"
                and (
                    (passage.publisher and passage.publisher == first_passage.publisher)
                    or (not passage.publisher and passage.source == first_passage.source)
                )
            ):
                intro = self._again(intro, passage)
            # Their own practice, unless the patient asked about them by name.
            named = names_publisher(asking, passage.publisher)
            other_practice = other_practice or (own and not named)
            text = f"{self._text(quote, passage, ' '.join(paragraphs).lower())} [{n}]"
            if passage.owner == "clinic":
                paragraphs.append(f"{intro}\n\n{text}" if intro else text)
            else:
                quoted = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
                paragraphs.append(f"{intro}\n\n{quoted}")
        return Composition("\n\n".join(paragraphs), tuple(p for _, p in parts), other_practice)
