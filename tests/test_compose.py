"""Unit tests for kapbot.compose: extractive quotes, whole and attributed."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from kapbot.chunking import split_sentences
from kapbot.compose import Composition, ExtractiveComposer
from kapbot.keyword import tokenize
from kapbot.records import Passage

MARKER = re.compile(r"\[(\d+)\]")
TRAILING_MARKER = re.compile(r" \[(\d+)\]$")


def passage(
    text: str, source: str = "a.md", pid: str | None = None, owner: str = "clinic", **more: Any
) -> Passage:
    """A passage whose section is its heading line (as the chunker stores it); the
    clinic's own by default, so its quotes need no introduction."""
    first = text.split("\n", 1)[0]
    section = first.lstrip("#").strip() if first.startswith("#") else ""
    return Passage(
        id=pid or f"{source}#{section}",
        text=text,
        source=source,
        score=1.0,
        section=section,
        owner=owner,
        **more,
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
    # A quote may hold paragraphs of its own (a paragraph after a list); its marker
    # ends its last one.
    quotes = re.split(r"(?<=\])\n\n", composition.text)
    for part in quotes:
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
        # "It has been used..." points back: the sentence it points to comes first.
        (
            "Has it been used in medicine for long?",
            OVERVIEW,
            "Ketamine is an anesthetic. It has been used in medicine",
            None,
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
    # Its subject (at-home programs) is named, as the question names none.
    intro, quote = result.text.split("\n\n")
    assert intro == "About “At-Home Ketamine”:"
    assert quote.startswith("Programs mail the ketamine to the patient.")


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
    # Of the insurance passage, the sentence about the treatment asked about (KAP, not
    # Spravato) is quoted.
    assert "KAP is rarely covered by insurance. [2]" in closer.text
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


RISKS = passage(
    "### Risks\n\nRisks include dissociation, nausea and a potential for abuse or "
    "dependence. A history of addiction may rule a person out.",
    source="risks.md",
)


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        # "Potentially, yes" to another question would read as a yes to this one.
        ("can you get addicted to it", "risks.md"),
        ("what if I had a drug problem in the past?", "risks.md"),
        # The FAQ's own question, in the patient's words.
        ("can I keep my current medications?", "faq.md"),
    ],
)
def test_a_bare_faq_reply_is_not_quoted_under_a_question_it_does_not_answer(
    question: str, quoted: str
) -> None:
    for passages in ([MEDICATIONS, RISKS], [RISKS, MEDICATIONS]):
        result = ExtractiveComposer(uniform).compose(question, passages)
        assert ("Potentially, yes" in result.text) is (quoted == "faq.md"), result.text
        assert quoted in {p.source for p in result.cited}


# --- Whole, readable, attributed quotes ---------------------------------------------------


def test_footnote_digits_and_reference_markers_are_left_out() -> None:
    source = passage(
        "## Uses\n\nIt shows promise in anxiety and PTSD.3 Research is new [12]. "
        "Doctors use it widely.¹"
    )
    text = ExtractiveComposer(uniform).compose("Does it help PTSD and anxiety?", [source]).text
    assert "PTSD.3" not in text and "[12]" not in text and "¹" not in text
    assert "PTSD." in text


def test_a_sentence_that_points_back_comes_with_the_one_it_points_to() -> None:
    source = passage(
        "## Side effects\n\nKetamine therapy can lead to several possible side effects. "
        "These include nausea and dizziness. Most pass within hours."
    )
    result = ExtractiveComposer(idf({"nausea": 5.0}, default=0.1)).compose(
        "will it make me nauseous? nausea", [source]
    )
    assert result.text.startswith("Ketamine therapy can lead to several possible side effects.")


def test_a_quote_that_points_back_to_nothing_gets_its_subject_from_the_heading() -> None:
    spravato = passage(
        "## Spravato®\n\nIt must be given in a certified clinic. It is a nasal spray.",
        owner="third_party",
        publisher="Journey Clinical",
    )
    text = ExtractiveComposer(uniform).compose("where is it given, a certified clinic?", [spravato])
    intro, quote = text.text.split("\n\n")
    assert intro == "Journey Clinical writes about “Spravato®”:"
    assert quote.startswith("> It must be given in a certified clinic.")


EFFECTS = passage(
    "## Ketamine Treatment Side Effects\n\nKetamine therapy can lead to several possible "
    "side effects. These include nausea and raised blood pressure.\n\n"
    "Potential common side effects of ketamine treatment include:\n\n- Nausea or vomiting\n"
    "- Sleepiness\n- Dizziness\n\nPotential serious side effects of ketamine treatment "
    "include:\n\n- Respiratory depression\n- Liver damage\n\nTalk to your care team."
)


def test_a_question_asking_for_a_list_gets_every_list_on_its_subject_whole() -> None:
    text = ExtractiveComposer(uniform).compose("what are the side effects?", [EFFECTS]).text
    for item in ("Nausea or vomiting", "Sleepiness", "Dizziness", "Respiratory depression"):
        assert f"- {item}" in text
    assert "Liver damage" in text
    assert text.index("common side effects") < text.index("- Nausea or vomiting")


def test_a_list_is_never_cut() -> None:
    items = "\n".join(f"- Item {i} about sessions" for i in range(1, 9))
    source = passage(f"## Sessions\n\nA session includes:\n\n{items}")
    text = ExtractiveComposer(uniform, max_chars=60).compose("Item 3 sessions?", [source]).text
    assert all(f"- Item {i} about sessions" in text for i in range(1, 9))
    assert text.startswith("A session includes:")


def test_a_line_introducing_nothing_quoted_is_left_out() -> None:
    source = passage(
        "## What to expect\n\nKAP has four stages. Here is what you can expect in the process:"
    )
    text = ExtractiveComposer(uniform).compose("what can I expect in the process?", [source]).text
    assert text == "KAP has four stages. [1]"


def test_a_list_whose_introduction_goes_on_from_the_quote_comes_with_it() -> None:
    source = passage(
        "## At-home programs\n\nAt-home programs have grown rapidly. These programs "
        "typically involve:\n\n- Screening by video\n- Lozenges taken at home\n\n"
        "Some programs recommend therapy."
    )
    weights = idf({"grown": 5.0})
    text = ExtractiveComposer(weights).compose("how have home programs grown?", [source]).text
    assert "These programs typically involve:\n- Screening by video\n- Lozenges" in text
    # A list whose introduction starts a new point is another list.
    other = passage(
        "## At-home programs\n\nAt-home programs have grown rapidly. Costs vary:\n\n"
        "- Screening by video\n- Lozenges taken at home"
    )
    plain = ExtractiveComposer(weights).compose("how have home programs grown?", [other]).text
    assert plain.endswith("At-home programs have grown rapidly. [1]")


def test_another_providers_words_about_itself_leave_no_list_introduction_behind() -> None:
    source = passage(
        "## Philosophy\n\nKAP builds on altered states. In other words:\n\n"
        "- Other models ask: can we reduce symptoms?\n- KAP asks: how do we grow?",
        owner="third_party",
        publisher="Journey Clinical",
    )
    text = (
        ExtractiveComposer(idf({"altered": 5.0}))
        .compose("what does KAP build on, altered states?", [source])
        .text
    )
    assert "altered states. [1]" in text
    assert "In other words" not in text


def test_a_quote_left_pointing_back_by_a_sentence_said_already_names_its_subject() -> None:
    first = passage("## Spravato\n\nSpravato contains esketamine, a derivative of ketamine.")
    second = passage(
        "## Spravato vs IV\n\nSpravato contains esketamine, a derivative of ketamine. "
        "It differs from IV ketamine in that:\n\n- It is FDA-approved\n- It needs a clinic",
        source="b.md",
    )
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose(
        "is spravato esketamine, a derivative of ketamine?", [first, second]
    )
    assert result.text.count("Spravato contains esketamine") == 1
    assert "About “Spravato vs IV”:\n\nIt differs from IV ketamine in that:" in result.text


def test_a_quote_never_stops_right_before_the_sentence_that_qualifies_it() -> None:
    source = passage(
        "## Microdosing\n\nDaily low-dose programs have grown in popularity. However, the "
        "evidence for them is limited. Other programs exist."
    )
    composer = ExtractiveComposer(idf({"popularity": 5.0}), max_chars=60)
    text = composer.compose("are microdosing programs popular, popularity?", [source]).text
    assert text == (
        "Daily low-dose programs have grown in popularity. However, the evidence for them "
        "is limited. [1]"
    )


def test_a_sentence_about_another_treatment_than_the_one_asked_counts_for_half() -> None:
    source = passage(
        "## Set and setting\n\nInfusion clinics often forgo music in busy rooms. "
        "In KAP the room is calm, with music chosen with the therapist."
    )
    composer = ExtractiveComposer(idf({"music": 3.0, "room": 3.0}), max_chars=70)
    text = composer.compose("is there music in the room for KAP?", [source]).text
    assert text.startswith("In KAP the room is calm"), text


_TIES = """
from kapbot.compose import ExtractiveComposer
from kapbot.keyword import tokenize
from kapbot.records import Passage
# 0.1 + 0.2 + 0.7 is 1.0 or 0.9999999999999999, depending on the order of the sum.
weights = dict(zip(tokenize("alpha bravo charlie delta"), (0.1, 0.2, 0.7, 1.0)))
text = "## Notes\\n\\nAlpha bravo charlie are here. Delta is there."
passage = Passage(id="a", text=text, source="a.md", score=1.0, section="Notes", owner="clinic")
composer = ExtractiveComposer(lambda t: weights.get(t, 0.0), max_chars=20)
print(composer.compose("alpha bravo charlie delta", [passage]).text)
"""


def test_the_same_question_gets_the_same_quote_whatever_the_string_hashing() -> None:
    # Sentence scores are sums of word weights: summed in a set's order, their last bits
    # (and so ties) depended on PYTHONHASHSEED, and a reply could differ between runs.
    import os
    import subprocess
    import sys

    outputs = {
        subprocess.run(
            [sys.executable, "-c", _TIES],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3, 4, 5, 6)
    }
    assert len(outputs) == 1, outputs


def test_the_same_sentence_is_never_quoted_twice() -> None:
    first = passage("## What is KAP\n\nKAP pairs ketamine with structured psychotherapy.")
    second = passage(
        "## KAP\n\nKAP pairs ketamine with structured psychotherapy sessions.", source="b.md"
    )
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose("what is KAP?", [first, second])
    assert result.cited == (first,)


def test_a_second_quote_about_another_treatment_than_the_one_asked_is_left_out() -> None:
    kap = passage("## How KAP differs from IV\n\nKAP adds therapy to ketamine; IV does not.")
    spravato = passage(
        "## Spravato®\n\nIt differs from IV ketamine in that it is FDA-approved.", source="s.md"
    )
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose(
        "how is KAP different from IV ketamine?", [kap, spravato]
    )
    assert result.cited == (kap,)


def test_another_providers_words_are_introduced_by_its_publisher() -> None:
    source = passage(
        "## Legality\n\nKetamine is a Schedule III controlled substance.",
        owner="third_party",
        publisher="Choosing Therapy",
    )
    unnamed = replace(source, publisher="", source="u.md", id="u")
    text = ExtractiveComposer(uniform).compose("is ketamine a controlled substance?", [source]).text
    assert text == (
        "Choosing Therapy writes:\n\n> Ketamine is a Schedule III controlled substance. [1]"
    )
    text = (
        ExtractiveComposer(uniform).compose("is ketamine a controlled substance?", [unnamed]).text
    )
    assert text.startswith("An article in our materials (its publisher is not named) writes:")


def test_another_providers_own_practice_is_never_presented_as_the_clinics() -> None:
    source = passage(
        "## Is KAP covered by insurance?\n\nWe do not bill insurance directly. Patients may "
        "receive partial reimbursement.",
        owner="third_party",
        publisher="Cohen & Associates",
    )
    result = ExtractiveComposer(uniform).compose("do you bill insurance directly?", [source])
    assert result.text.startswith("Cohen & Associates writes about its own practice:")
    assert result.other_practice
    # Asked about them by name: their practice is what was asked, and no note says so.
    named = ExtractiveComposer(uniform).compose("does Cohen bill insurance directly?", [source])
    assert named.text.startswith("Cohen & Associates writes about its own practice:")
    assert not named.other_practice


def test_a_second_quote_of_another_providers_own_practice_is_left_out() -> None:
    first = passage("## Cost\n\nKAP costs vary by clinic and plan.")
    theirs = passage(
        "## Our pricing\n\nSpecific pricing for KAP is not listed on our website.",
        source="c.md",
        owner="third_party",
        publisher="Cohen & Associates",
    )
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose(
        "what does KAP cost, pricing?", [first, theirs]
    )
    assert result.cited == (first,)
    asked_about_them = ExtractiveComposer(uniform, second_ratio=0.0).compose(
        "what does KAP cost at Cohen, pricing?", [first, theirs]
    )
    assert asked_about_them.cited == (first, theirs)


def test_abbreviations_the_document_spells_out_are_spelled_out_once() -> None:
    source = passage("## Spravato\n\nSpravato operates under a REMS program. REMS rules apply.")
    spelled = {"a.md": {"REMS": "Risk Evaluation and Mitigation Strategy"}}
    composer = ExtractiveComposer(uniform, spelled=lambda s: spelled.get(s, {}))
    text = composer.compose("what is the REMS program for spravato?", [source]).text
    assert text.count("Risk Evaluation and Mitigation Strategy") == 1
    assert "REMS \\[Risk Evaluation and Mitigation Strategy\\] program" in text


def test_a_yes_no_faq_answer_is_not_followed_by_a_second_quote() -> None:
    faq = passage("## Is KAP legal?\n\nYes, when a licensed provider prescribes it.")
    other = passage("## Law\n\nKAP is legal in many states under supervision.", source="b.md")
    result = ExtractiveComposer(uniform, second_ratio=0.0).compose("is KAP legal?", [faq, other])
    assert result.cited == (faq,)


def test_a_table_row_is_shown_with_its_column_names() -> None:
    table = passage(
        "## Differences\n\n| Aspect | KAP | Infusion Therapy |\n| --- | --- | --- |\n"
        "| Duration of Benefit | Longer-lasting with integration | May require maintenance |"
    )
    text = ExtractiveComposer(uniform).compose("which one lasts longer, duration?", [table]).text
    assert (
        "- Duration of Benefit — KAP: Longer-lasting with integration; Infusion Therapy: " in text
    )
    assert "|" not in text


def test_another_providers_phone_number_is_shown_only_when_asked_for_by_name() -> None:
    source = passage(
        "## Booking\n\nA first visit starts with an evaluation. Call us at 941-555-0100 or "
        "visit https://example.org/book to schedule.",
        owner="third_party",
        publisher="Cohen & Associates",
    )
    composer = ExtractiveComposer(uniform)
    text = composer.compose("how do I schedule an evaluation visit?", [source]).text
    assert "941-555-0100" not in text and "example.org" not in text
    named = composer.compose("how do I schedule a visit with Cohen?", [source]).text
    assert "941-555-0100" in named


def test_a_list_of_references_is_never_quoted() -> None:
    refs = passage("## References\n\n- Smith, A. (2020). Ketamine in practice. Journal, 1, 2-3.")
    answer = passage("## Evidence\n\nStudies of ketamine in practice are growing.", source="b.md")
    result = ExtractiveComposer(uniform).compose("ketamine in practice studies?", [refs, answer])
    assert result.cited == (answer,)


def test_a_list_with_another_providers_address_goes_whole_or_not_at_all() -> None:
    source = passage(
        "## Contact\n\nReach our team:\n\n- By phone: 941-555-0100\n- Our friendly front desk\n\n"
        "Evaluations come first.",
        owner="third_party",
        publisher="Cohen & Associates",
    )
    text = ExtractiveComposer(uniform).compose("how do I reach the front desk team?", [source]).text
    assert "front desk" not in text and "941" not in text


def test_another_providers_call_to_action_and_disclaimer_are_left_out() -> None:
    source = passage(
        "## Getting started\n\nA first visit starts with a medical evaluation of your history. "
        "Create your patient portal to get started with your evaluation.",
        owner="third_party",
        publisher="Journey Clinical",
    )
    disclaimer = passage(
        "## Medical Disclaimer\n\nThis evaluation article is not medical advice.", source="b.md"
    )
    composer = ExtractiveComposer(uniform)
    result = composer.compose("what happens at the first evaluation visit?", [source, disclaimer])
    assert "medical evaluation of your history" in result.text
    assert "portal" not in result.text
    assert result.cited == (source,)


PROCEDURES = passage(
    "## Procedures\n\nKAP Sessions:\n\n- Lozenges or injections\n- 1.5 to 3-hour sessions\n"
    "- Conducted with a licensed therapist\n\nInfusion Therapy:\n\n- IV ketamine, higher doses\n"
    "- 40 to 60-minute sessions, often in a series\n- No integrated psychotherapy",
    source="procedures.md",
)


@pytest.mark.parametrize(
    ("question", "quoted", "not_quoted"),
    [
        ("How long is an infusion session?", "40 to 60-minute sessions", "1.5 to 3-hour"),
        ("How long is a KAP session?", "1.5 to 3-hour sessions", "40 to 60-minute"),
    ],
)
def test_a_list_item_is_about_the_treatment_its_introduction_names(
    question: str, quoted: str, not_quoted: str
) -> None:
    # Both items say "sessions"; only their lists' introductions say which treatment.
    text = ExtractiveComposer(uniform).compose(question, [PROCEDURES]).text
    assert quoted in text
    assert not_quoted not in text


def test_a_second_quote_from_an_article_that_names_no_publisher_says_it_is_the_same() -> None:
    first = passage(
        "## Procedures\n\nInfusion sessions last 40 to 60 minutes.",
        source="u.md",
        owner="third_party",
    )
    second = passage(
        "## Outcomes\n\nInfusion sessions often come in a series of six.",
        source="u.md",
        pid="u-2",
        owner="third_party",
    )
    other = replace(second, source="v.md", id="v")
    composer = ExtractiveComposer(uniform, second_ratio=0.1)
    same = composer.compose("How long are infusion sessions?", [first, second]).text
    assert same.count("its publisher is not named") == 1
    assert "The same article also writes" in same
    different = composer.compose("How long are infusion sessions?", [first, other]).text
    assert different.count("its publisher is not named") == 2
    assert "The same article" not in different


def test_a_paragraph_after_a_list_is_not_read_as_its_last_item() -> None:
    effects = passage(
        "## Side effects\n\nCommon side effects include:\n\n- Nausea\n- Headache\n\n"
        "Serious side effects include:\n\n- Liver damage",
        source="effects.md",
        owner="third_party",
        publisher="Choosing Therapy",
    )
    text = ExtractiveComposer(uniform).compose("What are the side effects?", [effects]).text
    assert "> - Headache\n>\n> Serious side effects include:\n> - Liver damage" in text
