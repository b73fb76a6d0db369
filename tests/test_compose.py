"""Unit tests for kapbot.compose: extractive quotes, generated-answer filtering, fallbacks."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from kapbot.chunking import split_sentences
from kapbot.compose import (
    Composition,
    ExtractiveComposer,
    GenerativeComposer,
    filter_generated,
    supported,
)
from kapbot.keyword import tokenize
from kapbot.records import Passage

MARKER = re.compile(r"\[(\d+)\]")
TRAILING_MARKER = re.compile(r" \[(\d+)\]$")


def passage(text: str, source: str = "a.md", pid: str | None = None) -> Passage:
    """A passage whose section is its heading line (as the chunker stores it)."""
    first = text.split("\n", 1)[0]
    section = first.lstrip("#").strip() if first.startswith("#") else ""
    return Passage(
        id=pid or f"{source}#{section}", text=text, source=source, score=1.0, section=section
    )


def uniform(_token: str) -> float:
    return 1.0


def idf(weights: dict[str, float], default: float = 1.0):  # type: ignore[no-untyped-def]
    """A weight function keyed by plain words (stemmed here, as the composer sees them)."""
    stemmed = {tokenize(word)[0]: w for word, w in weights.items()}
    return lambda token: stemmed.get(token, default)


def flat(text: str) -> str:
    return " ".join(text.split())


def parts_of(composition: Composition) -> list[tuple[str, int]]:
    """(quote, n) for each paragraph "quote [n]" of an extractive answer."""
    out = []
    for part in composition.text.split("\n\n"):
        match = TRAILING_MARKER.search(part)
        assert match, f"paragraph without a trailing [n] marker: {part!r}"
        out.append((part[: match.start()], int(match.group(1))))
    return out


def first_use_order(text: str) -> list[int]:
    seen: list[int] = []
    for n in (int(m) for m in MARKER.findall(text)):
        if n not in seen:
            seen.append(n)
    return seen


COST = passage(
    "## Cost of KAP\n\nThe cost varies by clinic. One KAP session costs $750 here. "
    "Insurance rarely pays for it.",
    source="cost.md",
)
COST_MORE = passage(
    "## Cost of KAP\n\nPayment plans spread the cost of KAP over six months. Ask the front desk.",
    source="cost.md",
    pid="cost-2",
)
INSURANCE = passage(
    "## Insurance\n\nSome insurers cover the cost of Spravato. KAP is rarely covered by insurance.",
    source="insurance.md",
)
PARKING = passage(
    "## Parking\n\nPatients park in the blue garage behind the clinic.", source="parking.md"
)
LENGTH = passage(
    "## Length of a session\n\nA ketamine session lasts about 90 minutes. Patients rest afterwards.",
    source="length.md",
)


# --- ExtractiveComposer -------------------------------------------------------------------


def test_empty_passages_give_empty_composition() -> None:
    assert ExtractiveComposer(uniform).compose("What does KAP cost?", []) == Composition("", ())


@pytest.mark.parametrize(
    ("question", "passages"),
    [
        ("What does KAP cost?", [COST]),
        ("What does KAP cost?", [COST, INSURANCE]),
        ("Does insurance cover the cost of KAP?", [INSURANCE, COST, PARKING]),
        ("How long does a ketamine session last?", [LENGTH, COST]),
        ("Where do patients park?", [PARKING, LENGTH]),
    ],
)
def test_answer_quotes_cited_passages_verbatim(question: str, passages: list[Passage]) -> None:
    result = ExtractiveComposer(uniform).compose(question, passages)
    parts = parts_of(result)
    assert parts and result.cited
    for quote, n in parts:
        source = result.cited[n - 1]
        assert source in passages
        assert quote.strip(), "a citation marker with nothing quoted"
        # The quote is a contiguous span of the passage body ...
        assert flat(quote) in flat(source.text)
        # ... and each of its sentences appears in the passage as written.
        for line in quote.split("\n"):
            for sentence in split_sentences(line):
                assert sentence in source.text


@pytest.mark.parametrize(
    ("question", "passages", "expected_cited"),
    [
        # Two relevant passages from different sources: both cited, in ranking order.
        ("What does KAP cost and does insurance cover it?", [COST, INSURANCE], [COST, INSURANCE]),
        # Same (source, section) as the first: skipped; the next different one is cited.
        (
            "What does KAP cost and does insurance cover it?",
            [COST, COST_MORE, INSURANCE],
            [COST, INSURANCE],
        ),
        # Only same-section passages: one source.
        ("What does KAP cost?", [COST, COST_MORE], [COST]),
        # An unrelated second passage is not cited.
        ("What does KAP cost?", [COST, PARKING], [COST]),
    ],
)
def test_citation_numbering(
    question: str, passages: list[Passage], expected_cited: list[Passage]
) -> None:
    result = ExtractiveComposer(uniform).compose(question, passages)
    numbers = [int(n) for n in MARKER.findall(result.text)]
    assert list(result.cited) == expected_cited
    assert first_use_order(result.text) == list(range(1, len(result.cited) + 1))
    assert 0 not in numbers
    assert max(numbers) == len(result.cited)
    for quote, n in parts_of(result):
        assert flat(quote) in flat(result.cited[n - 1].text)


def test_same_section_passage_is_never_a_second_source() -> None:
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose(
        "payment plans for the cost of KAP", [COST, COST_MORE]
    )
    assert result.cited == (COST,)
    assert "[2]" not in result.text
    assert "Payment plans" not in result.text


def test_second_ratio_controls_the_second_source() -> None:
    question = "What does one KAP session cost here, and is Spravato covered?"
    strict = ExtractiveComposer(uniform, second_ratio=10.0).compose(question, [COST, INSURANCE])
    loose = ExtractiveComposer(uniform, second_ratio=0.0).compose(question, [COST, INSURANCE])
    assert strict.cited == (COST,)
    assert loose.cited == (COST, INSURANCE)


FAQ = passage(
    "## What does KAP cost?\n\nPrices vary by clinic and by plan. A full KAP program often "
    "includes six sessions. Ask us for a written quote.",
    source="faq.md",
)
OVERVIEW = passage(
    "## Overview\n\nKetamine is an anesthetic. It has been used in medicine since 1970. "
    "Sessions cost about $750 each. Insurance rarely pays.",
    source="overview.md",
)


@pytest.mark.parametrize(
    ("question", "source", "starts_with", "absent"),
    [
        # Heading (kap, cost) beats every sentence (at most kap): the section's first sentence.
        ("What does KAP cost?", FAQ, "Prices vary by clinic and by plan.", None),
        # Heading matches nothing: the best-matching sentence and what follows it.
        ("What do sessions cost?", OVERVIEW, "Sessions cost about $750 each.", "anesthetic"),
        (
            "Has it been used in medicine for long?",
            OVERVIEW,
            "It has been used in medicine",
            "anesthetic",
        ),
    ],
)
def test_faq_heading_or_best_sentence(
    question: str, source: Passage, starts_with: str, absent: str | None
) -> None:
    result = ExtractiveComposer(uniform).compose(question, [source])
    assert result.text.startswith(starts_with)
    if absent:
        assert absent not in result.text


def test_rare_words_choose_the_sentence() -> None:
    text = (
        "## Overview\n\nKetamine sessions are supervised by a nurse. Staff are kind. "
        "The cost is $750 per visit."
    )
    question = "What is the cost of a ketamine session?"
    # Uniform weights: the first sentence shares two words (ketamine, session).
    plain = ExtractiveComposer(uniform).compose(question, [passage(text)])
    assert plain.text.startswith("Ketamine sessions are supervised")
    # "cost" is rare in the index and "ketamine"/"session" are everywhere.
    weighted = ExtractiveComposer(idf({"cost": 5.0, "ketamine": 0.1, "session": 0.1}))
    result = weighted.compose(question, [passage(text)])
    assert result.text.startswith("The cost is $750 per visit.")
    assert "supervised" not in result.text


HOME_PROGRAMS = (
    "## At-Home Ketamine\n\nAt-home ketamine programs have grown rapidly with telehealth. "
    "Programs mail the ketamine to the patient. "
    "A therapist is not part of the dosing itself."
)


def test_a_follow_ups_own_words_choose_the_quote_over_the_conversations() -> None:
    # "is there a therapist involved in that?" after a question on at-home programs:
    # the conversation's words found the passage; the question's own choose the quote.
    # Together the conversation's words weigh more than "therapist"; halved, less.
    composer = ExtractiveComposer(
        idf({"therapist": 1.0, "ketamine": 0.3, "programs": 0.5, "home": 0.5}, default=0.0)
    )
    followed = composer.compose(
        "is there a therapist involved in that?",
        [passage(HOME_PROGRAMS)],
        context="at-home ketamine programs",
    )
    assert followed.text.startswith("A therapist is not part of the dosing itself.")
    # The same words as one question: the conversation's words outnumber its own.
    as_one = composer.compose(
        "is there a therapist involved in that? at-home ketamine programs", [passage(HOME_PROGRAMS)]
    )
    assert as_one.text.startswith("At-home ketamine programs have grown")


@pytest.mark.parametrize(("weight", "starts"), [(1.0, "At-home ketamine"), (0.0, "A therapist")])
def test_context_weight_sets_what_the_conversations_words_count(weight: float, starts: str) -> None:
    composer = ExtractiveComposer(uniform, context_weight=weight)
    result = composer.compose(
        "is there a therapist involved?",
        [passage(HOME_PROGRAMS)],
        context="at-home ketamine programs",
    )
    assert result.text.startswith(starts)


def test_context_words_still_choose_when_the_question_has_none_of_its_own() -> None:
    result = ExtractiveComposer(uniform).compose(
        "and how does that work?", [passage(HOME_PROGRAMS)], context="mail ketamine"
    )
    assert result.text.startswith("Programs mail the ketamine to the patient.")


def test_quote_respects_length_budget() -> None:
    sentences = [f"Sentence number {i} talks about ketamine care." for i in range(1, 11)]
    text = "## Care\n\n" + " ".join(sentences)
    result = ExtractiveComposer(uniform, max_chars=100).compose("ketamine care", [passage(text)])
    ((quote, _),) = parts_of(result)
    assert len(quote) <= 100
    assert quote.startswith(sentences[0])
    assert sentences[1] in quote  # the budget is used, not just one sentence
    assert sentences[3] not in quote


SIDE_EFFECTS = passage(
    "## Side effects\n\nMost people tolerate ketamine well. Common side effects include:\n\n"
    "- Nausea during the session\n- Raised blood pressure\n- Dizziness afterwards\n\n"
    "Serious problems are rare. Call us with any concern:\n\n- Phone the clinic line",
    source="effects.md",
)


@pytest.mark.parametrize(
    "question",
    ["Will I feel dizziness?", "Can it cause nausea?", "What about raised blood pressure?"],
)
def test_list_item_is_quoted_with_its_introduction(question: str) -> None:
    result = ExtractiveComposer(uniform).compose(question, [SIDE_EFFECTS])
    ((quote, n),) = parts_of(result)
    assert n == 1 and result.cited == (SIDE_EFFECTS,)
    lines = quote.split("\n")
    assert lines[:4] == [
        "Common side effects include:",
        "- Nausea during the session",
        "- Raised blood pressure",
        "- Dizziness afterwards",
    ]
    assert "Most people tolerate" not in quote
    # The next list belongs to another point.
    assert "Call us with any concern:" not in quote
    assert "Phone the clinic line" not in quote


def test_matching_item_of_a_long_list_is_quoted() -> None:
    items = "\n".join(
        f"- Item number {i} is a fairly ordinary entry in this long list" for i in range(1, 20)
    )
    text = f"## Effects\n\nPossible effects include:\n\n{items}\n- Dizziness can follow a session"
    result = ExtractiveComposer(uniform).compose("Will I feel dizziness?", [passage(text)])
    assert "Dizziness can follow a session" in result.text


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:alert(1)'>link</a>",
    ],
)
def test_html_in_passages_is_escaped(markup: str) -> None:
    first = passage(f"## Safety\n\nStaff watch every ketamine session {markup} closely.")
    second = passage(
        f"## Monitoring\n\nA nurse checks every ketamine session {markup} twice.", source="b.md"
    )
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose(
        "Who watches a ketamine session?", [first, second]
    )
    assert len(result.cited) == 2
    assert "<" not in result.text and ">" not in result.text
    assert markup.replace("<", "&lt;").replace(">", "&gt;") in result.text


def test_passage_without_body_is_not_cited() -> None:
    result = ExtractiveComposer(uniform).compose("What does KAP cost?", [passage("## Cost\n\n")])
    assert result.text.strip() != "[1]"
    assert result.cited == ()


def test_bracketed_numbers_in_passage_do_not_become_citations() -> None:
    source = passage("## FDA approval\n\nSpravato was approved in 2019 [12]. It is a spray.")
    result = ExtractiveComposer(uniform).compose("When was Spravato approved?", [source])
    assert result.cited == (source,)
    assert [int(n) for n in MARKER.findall(result.text)] == [1]


# --- supported / filter_generated ----------------------------------------------------------

P_COST = passage(
    "## Cost of KAP\n\nOne KAP session costs $750 at our clinic. Insurance rarely pays for "
    "ketamine sessions.",
    source="cost.md",
)
P_LENGTH = LENGTH
GOOD_COST = "One KAP session costs $750 at our clinic"
GOOD_LENGTH = "A ketamine session lasts about 90 minutes"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (f"{GOOD_COST}.", True),
        (f"{GOOD_COST} [1].", True),
        ("Insurance rarely pays for ketamine sessions.", True),
        ("One KAP session costs $5,000 at our clinic.", False),  # invented figure
        ("One KAP session costs $750 at our clinic in 2024.", False),  # invented year
        ("Ketamine permanently cures depression for everyone who tries it.", False),
        ("", False),
        ("[1]", False),
        ("The of and.", False),  # stop words only: nothing to support
    ],
)
def test_supported(sentence: str, expected: bool) -> None:
    assert supported(sentence, P_COST.text) is expected


@pytest.mark.parametrize(
    "output",
    [
        f"{GOOD_COST} [0].",
        f"{GOOD_COST} [9].",
        f"{GOOD_COST} [3].",  # two passages given
        f"{GOOD_COST}.",  # no marker
        "One KAP session costs $5,000 at our clinic [1].",  # number not in the passage
        "Ketamine permanently cures depression for everyone who tries it [1].",
        f"{GOOD_COST} [2].",  # cites the wrong passage
        "",
        "NO_ANSWER",
    ],
)
def test_invalid_sentences_are_dropped(output: str) -> None:
    passages = [P_COST, P_LENGTH]
    assert filter_generated(output, passages) is None
    # Next to a good sentence, only the good sentence survives.
    mixed = filter_generated(f"{output}\n{GOOD_LENGTH} [2].", passages)
    assert mixed == Composition(f"{GOOD_LENGTH}. [1]", (P_LENGTH,))


def test_good_sentence_is_kept_verbatim() -> None:
    result = filter_generated(f"{GOOD_COST} [1].", [P_COST, P_LENGTH])
    assert result == Composition(f"{GOOD_COST}. [1]", (P_COST,))


def test_renumbered_in_order_of_first_use() -> None:
    output = f"{GOOD_LENGTH} [2]. {GOOD_COST} [1]. Patients rest afterwards [2]."
    result = filter_generated(output, [P_COST, P_LENGTH])
    assert result == Composition(
        f"{GOOD_LENGTH}. [1] {GOOD_COST}. [2] Patients rest afterwards. [1]",
        (P_LENGTH, P_COST),
    )


def test_bullets_and_lines_are_sentences() -> None:
    output = f"- {GOOD_COST} [1].\n* {GOOD_LENGTH} [2].\n\n• Something nobody said here [1]."
    result = filter_generated(output, [P_COST, P_LENGTH])
    assert result == Composition(f"{GOOD_COST}. [1] {GOOD_LENGTH}. [2]", (P_COST, P_LENGTH))


def test_only_supporting_citations_are_kept() -> None:
    # Cites both, but only the second passage says it.
    result = filter_generated(f"{GOOD_LENGTH} [1][2].", [P_COST, P_LENGTH])
    assert result == Composition(f"{GOOD_LENGTH}. [1]", (P_LENGTH,))


def test_generated_html_is_escaped() -> None:
    result = filter_generated(f"<b>{GOOD_COST}</b> [1].", [P_COST])
    assert result is not None
    assert "<" not in result.text and "&lt;b&gt;" in result.text


@pytest.mark.parametrize("figure", ["$75", "$50", "$7"])
def test_number_that_is_part_of_another_number_is_dropped(figure: str) -> None:
    assert filter_generated(f"One KAP session costs {figure} at our clinic [1].", [P_COST]) is None


def test_marker_after_the_full_stop_is_kept() -> None:
    result = filter_generated(f"{GOOD_COST}. [1]", [P_COST])
    assert result == Composition(f"{GOOD_COST}. [1]", (P_COST,))


# --- GenerativeComposer --------------------------------------------------------------------


class Recording:
    """Wraps a chat model and keeps what it was asked."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[Any] = []

    def invoke(self, messages: Any) -> Any:
        self.calls.append(messages)
        return self.model.invoke(messages)


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, messages: Any) -> Any:
        self.calls += 1
        raise RuntimeError("model server is down")


QUESTION = "What does KAP cost and how long is a session?"
PASSAGES = [P_COST, P_LENGTH]
EXTRACTIVE = ExtractiveComposer(uniform)


def test_generative_uses_filtered_model_answer() -> None:
    model = Recording(
        FakeListChatModel(
            responses=[
                f"{GOOD_LENGTH} [2]. Ketamine cures everything [1]. {GOOD_COST} [1].",
                f"{GOOD_COST} [1].",
            ]
        )
    )
    composer = GenerativeComposer(model, EXTRACTIVE)
    first = composer.compose(QUESTION, PASSAGES)
    assert first == Composition(f"{GOOD_LENGTH}. [1] {GOOD_COST}. [2]", (P_LENGTH, P_COST))
    second = composer.compose(QUESTION, PASSAGES)
    assert second == Composition(f"{GOOD_COST}. [1]", (P_COST,))
    assert len(model.calls) == 2
    # The model saw the numbered passage bodies and the question.
    (system_role, _), (human_role, human) = model.calls[0]
    assert (system_role, human_role) == ("system", "human")
    assert "[1] One KAP session costs $750" in human
    assert "[2] A ketamine session lasts" in human
    assert "## Cost of KAP" not in human
    assert human.endswith(f"Question: {QUESTION}")


def test_generative_is_told_the_conversations_words_of_a_follow_up() -> None:
    model = Recording(FakeListChatModel(responses=[f"{GOOD_COST} [1]."]))
    result = GenerativeComposer(model, EXTRACTIVE).compose(
        "and what does that cost?", PASSAGES, context="KAP"
    )
    assert result == Composition(f"{GOOD_COST}. [1]", (P_COST,))
    (_, _), (_, human) = model.calls[0]
    assert human.endswith("Question: and what does that cost? (earlier in the conversation: KAP)")


@pytest.mark.parametrize(
    "response",
    [
        "NO_ANSWER",
        "Sorry. NO_ANSWER",
        f"{GOOD_COST} [0]. {GOOD_LENGTH} [7].",  # only invalid citations
        f"{GOOD_COST}. {GOOD_LENGTH}.",  # no citations at all
        "Ketamine cures everything forever [1].",  # unsupported
        "One KAP session costs $5,000 at our clinic [1].",  # invented figure
        "",
    ],
)
def test_generative_falls_back_to_extractive(response: str) -> None:
    model = Recording(FakeListChatModel(responses=[response]))
    result = GenerativeComposer(model, EXTRACTIVE).compose(QUESTION, PASSAGES)
    assert len(model.calls) == 1
    assert result == EXTRACTIVE.compose(QUESTION, PASSAGES)
    assert result.cited  # the fallback did answer


def test_generative_survives_a_failing_model(caplog: pytest.LogCaptureFixture) -> None:
    model = Broken()
    with caplog.at_level(logging.WARNING, logger="kapbot.compose"):
        result = GenerativeComposer(model, EXTRACTIVE).compose(QUESTION, PASSAGES)
    assert model.calls == 1
    assert result == EXTRACTIVE.compose(QUESTION, PASSAGES)
    assert "model server is down" in caplog.text


AT_HOME = (
    "## At-Home Ketamine\n\nAt-home ketamine programs have grown with telehealth. "
    "Lozenges are mailed to the patient.\n\n"
    "Psychotherapy is not built into the dosing model itself. Check-ins are by video."
)


def test_a_sentence_the_sentence_search_matched_can_anchor_the_quote() -> None:
    """No shared rare word finds the therapy sentence; its record's similarity does."""
    question = "with the at-home version is a therapist involved?"
    words_only = ExtractiveComposer(uniform).compose(question, [passage(AT_HOME)])
    assert words_only.text.startswith("At-home ketamine programs")  # shares "at-home"

    therapy = "Psychotherapy is not built into the dosing model itself."
    matched = (
        (therapy + " Check-ins are by video.", 0.62),  # a pair record
        (therapy, 0.58),
        ("At-home ketamine programs have grown with telehealth.", 0.30),
    )
    found = replace(passage(AT_HOME), matched=matched)
    result = ExtractiveComposer(uniform).compose(question, [found])
    assert result.text.startswith(therapy)
    # Without the weight, only the words choose (the old behaviour).
    unweighted = ExtractiveComposer(uniform, semantic_weight=0.0).compose(question, [found])
    assert unweighted.text == words_only.text


def test_only_a_question_heading_makes_the_sections_start_the_answer() -> None:
    """A heading that names the topic ("At-Home Ketamine Lozenges") matches many questions
    about it; only an FAQ-style question heading makes the section's start the answer."""
    body = (
        "At-home ketamine programs have grown with telehealth. Staff answer by video.\n\n"
        "Lozenges are mailed to the patient."
    )
    question = "at-home ketamine lozenges mailed to the patient"
    topic = passage("## At-Home Ketamine Lozenges\n\n" + body)
    assert ExtractiveComposer(uniform).compose(question, [topic]).text.startswith("Lozenges")
    faq = passage("## How do at-home ketamine lozenges reach the patient?\n\n" + body)
    assert ExtractiveComposer(uniform).compose(question, [faq]).text.startswith("At-home")


def test_a_second_passage_as_close_in_meaning_is_quoted_with_few_shared_words() -> None:
    # The insurance passage shares one word ("cost") with the question, far below the
    # ratio, but the search found it at least as similar to the question as the first
    # passage: both are quoted.
    question = "money is tight, what does one KAP session cost here?"
    first = replace(COST, similarity=0.40)
    composer = ExtractiveComposer(uniform, second_ratio=10.0)
    closer = composer.compose(question, [first, replace(INSURANCE, similarity=0.40)])
    further = composer.compose(question, [first, replace(INSURANCE, similarity=0.39)])
    unknown = composer.compose(question, [first, INSURANCE])  # similarity 0: only BM25 found it
    assert [p.source for p in closer.cited] == ["cost.md", "insurance.md"]
    assert "Spravato" in closer.text and "[2]" in closer.text
    assert [p.source for p in further.cited] == ["cost.md"]
    assert [p.source for p in unknown.cited] == ["cost.md"]


def test_a_second_passage_sharing_no_word_is_not_quoted_however_close() -> None:
    question = "money is tight, what does one KAP session cost here?"
    composer = ExtractiveComposer(uniform, second_ratio=0.0)
    result = composer.compose(
        question, [replace(COST, similarity=0.40), replace(PARKING, similarity=0.90)]
    )
    assert [p.source for p in result.cited] == ["cost.md"]


MEDICATIONS = passage(
    "### Can KAP be combined with my current medications?\n\nPotentially, yes — but this "
    "depends on your medication history. Some patients continue their medications.",
    source="faq.md",
)
REFERRAL = passage(
    "### Do I need a referral?\n\nNo referral is required. Call our office to book.",
    source="faq.md",
)


@pytest.mark.parametrize(
    ("question", "source", "heading"),
    [
        # A bare reply quoted for another question keeps the question it answers.
        ("can I stop my lithium, does my medication history matter?", MEDICATIONS, True),
        ("do I need a referral?", REFERRAL, True),
        # Quoted from further in, or not a bare reply: no heading.
        ("do patients continue their medications?", MEDICATIONS, False),
        ("how do I book with your office?", REFERRAL, False),
    ],
)
def test_a_bare_faq_reply_is_quoted_with_its_question(
    question: str, source: Passage, heading: bool
) -> None:
    text = ExtractiveComposer(uniform).compose(question, [source]).text
    shown = f"**{source.section}** "
    assert text.startswith(shown) is heading, text
    if heading:
        assert text[len(shown) :].startswith(("Potentially, yes", "No referral"))
