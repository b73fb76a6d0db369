"""Unit tests for kapbot.chunking: sections, sentences, packing and content-hash ids."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from langchain_core.documents import Document

from kapbot.chunking import (
    body_of,
    chunk_document,
    chunk_id,
    document_records,
    question_documents,
    sentence_documents,
    split_sections,
    split_sentences,
)
from kapbot.loaders import load_file
from kapbot.records import FaqQuestion
from tests.conftest import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*.md"))
MAX_CHARS = 700
HEADING = re.compile(r"^#{1,6}\s+\S")
ITEM = re.compile(r"^\s*(?:[-*+·•]|\d+[.)])\s+|^\s*\|")


def _norm(text: str) -> str:
    return " ".join(text.split())


@cache
def _corpus_doc(name: str) -> Document:
    return load_file(CORPUS / name, source=name)


def _doc(text: str, **metadata: str) -> Document:
    return Document(page_content=text, metadata={"source": "test.md", **metadata})


def _bodies(chunks: list[Document]) -> list[str]:
    return [body_of(c.page_content) for c in chunks]


def _units(text: str) -> list[str]:
    """The document's sentences and list items/table rows, in order (the test's oracle).

    Paragraph lines are joined and split with split_sentences; a list item or table row is
    one unit; heading lines are left out.
    """
    units: list[str] = []
    for section in split_sections(text):
        for block in section.blocks:
            paragraph: list[str] = []
            for line in [*block.split("\n"), ""]:
                if line and not ITEM.match(line):
                    paragraph.append(line)
                    continue
                units += split_sentences(" ".join(paragraph))
                paragraph = []
                if line:
                    units.append(line.strip())
    return units


def _assert_units_whole_and_in_order(text: str, chunks: list[Document]) -> None:
    """Every unit sits whole in exactly one chunk; chunks hold nothing else, in order."""
    bodies = [_norm(b) for b in _bodies(chunks)]
    index, pos = 0, 0
    for unit in map(_norm, _units(text)):
        rest = bodies[index][pos:].lstrip()
        if not rest:  # this chunk is used up: the unit must open the next one
            index, pos = index + 1, 0
            assert index < len(bodies), f"unit lost: {unit!r}"
            rest = bodies[index]
        assert rest.startswith(unit), (
            f"unit cut or out of order: {unit!r}\nchunk {index} continues with {rest[:120]!r}"
        )
        pos = len(bodies[index]) - len(rest) + len(unit)
    assert index == len(bodies) - 1 and not bodies[index][pos:].strip(), "chunk holds extra text"


# --- The real corpus ------------------------------------------------------------------


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_chunks_start_with_their_own_heading(name: str) -> None:
    chunks = chunk_document(_corpus_doc(name))

    for chunk in chunks:
        section = chunk.metadata["section"]
        if section:
            assert re.match(rf"#{{1,6}} {re.escape(section)}\n\n\S", chunk.page_content)
        else:
            assert not HEADING.match(chunk.page_content)


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_chunk_bodies_never_cross_a_section(name: str) -> None:
    doc = _corpus_doc(name)
    chunks = chunk_document(doc)

    for body in _bodies(chunks):
        assert not any(HEADING.match(line) for line in body.splitlines())
    headings = [s.heading for s in split_sections(doc.page_content)]
    chunk_sections = [c.metadata["section"] for c in chunks]
    assert list(dict.fromkeys(chunk_sections)) == list(dict.fromkeys(headings))


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_sentences_are_never_cut(name: str) -> None:
    doc = _corpus_doc(name)

    _assert_units_whole_and_in_order(doc.page_content, chunk_document(doc))


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_chunks_keep_every_word_of_the_body(name: str) -> None:
    doc = _corpus_doc(name)
    body_words = [
        word
        for line in doc.page_content.splitlines()
        if not HEADING.match(line)
        for word in line.split()
    ]

    chunk_words = [word for body in _bodies(chunk_document(doc)) for word in body.split()]

    assert chunk_words == body_words


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_chunk_ids_are_unique_hex_and_stable(name: str) -> None:
    first = chunk_document(_corpus_doc(name))
    again = chunk_document(load_file(CORPUS / name, source=name))

    ids = [c.id for c in first]
    assert all(re.fullmatch(r"[0-9a-f]{64}", i or "") for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == [c.id for c in again]
    assert all(c.id == chunk_id(c.page_content, c.metadata) for c in first)


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_chunks_fit_max_chars_unless_one_long_unit(name: str) -> None:
    chunks = chunk_document(_corpus_doc(name))

    assert len(chunks) > 3
    for body in _bodies(chunks):
        single_unit = "\n" not in body and len(split_sentences(body)) == 1
        assert len(body) <= MAX_CHARS or single_unit, body[:80]


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_chunks_carry_document_metadata(name: str) -> None:
    doc = _corpus_doc(name)

    for chunk in chunk_document(doc):
        assert chunk.metadata["source"] == name
        assert chunk.metadata["title"] == doc.metadata["title"]
        assert chunk.metadata["section_path"].endswith(chunk.metadata["section"])


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_editing_one_sentence_changes_only_that_sections_chunk_ids(name: str) -> None:
    doc = _corpus_doc(name)
    sections = split_sections(doc.page_content)
    target = sections[len(sections) // 2]
    paragraph = next(b for b in target.blocks if not ITEM.match(b))
    sentence = split_sentences(paragraph)[0]
    heading_at = doc.page_content.index(f"{'#' * target.level} {target.heading}\n")
    at = doc.page_content.index(sentence, heading_at)
    edited_text = (
        doc.page_content[:at]
        + sentence.replace(" ", " really ", 1)
        + doc.page_content[at + len(sentence) :]
    )
    before = chunk_document(doc)
    after = chunk_document(Document(page_content=edited_text, metadata=doc.metadata))

    def ids(chunks: list[Document], in_target: bool) -> list[str | None]:
        return [c.id for c in chunks if (c.metadata["section"] == target.heading) == in_target]

    assert ids(after, in_target=False) == ids(before, in_target=False)
    assert ids(after, in_target=True) != ids(before, in_target=True)
    assert len(ids(before, in_target=False)) > 3


# --- Packing --------------------------------------------------------------------------


def test_sentence_longer_than_max_chars_stays_whole() -> None:
    long_sentence = "Ketamine " + "really " * 60 + "helps."
    text = f"## Effects\n\nShort opener here. {long_sentence} Short closer here."

    chunks = chunk_document(_doc(text), max_chars=200, min_chars=50)

    holders = [b for b in _bodies(chunks) if long_sentence in b]
    assert len(holders) == 1
    assert len(long_sentence) > 200
    assert all(len(b) <= 200 for b in _bodies(chunks) if long_sentence not in b)
    _assert_units_whole_and_in_order(text, chunks)


def test_long_section_is_split_into_several_chunks_within_max_chars() -> None:
    sentences = [f"Sentence {i} talks about one more practical detail of care." for i in range(40)]
    text = "## Care\n\n" + " ".join(sentences)

    chunks = chunk_document(_doc(text), max_chars=300, min_chars=80)

    assert len(chunks) > 5
    assert all(len(b) <= 300 for b in _bodies(chunks))
    assert all(c.page_content.startswith("## Care\n\n") for c in chunks)
    _assert_units_whole_and_in_order(text, chunks)


def test_short_last_piece_joins_the_previous_chunk() -> None:
    first, second, tail = "A" * 599 + ".", "B" * 599 + ".", "Call us today."
    text = f"## S\n\n{first} {second} {tail}"

    bodies = _bodies(chunk_document(_doc(text), max_chars=700, min_chars=160))

    assert bodies == [first, f"{second} {tail}"]


def test_chunks_of_a_section_are_in_document_order() -> None:
    sentences = [f"Point number {i} is made here in full." for i in range(30)]
    text = "## List\n\n" + " ".join(sentences)

    bodies = _bodies(chunk_document(_doc(text), max_chars=200, min_chars=50))

    assert " ".join(bodies) == " ".join(sentences)


def test_many_short_paragraphs_still_fit_max_chars() -> None:
    text = "## S\n\n" + "\n\n".join("Short one." for _ in range(63))

    bodies = _bodies(chunk_document(_doc(text), max_chars=700, min_chars=160))

    assert all(len(b) <= 700 for b in bodies), [len(b) for b in bodies]


# --- Metadata -------------------------------------------------------------------------

NESTED = """Welcome to the clinic.

## Costs

Prices vary.

### Insurance

Some plans pay.

## Safety

It is safe.
"""


def test_chunk_metadata_has_section_and_section_path() -> None:
    chunks = chunk_document(_doc(NESTED, title="Guide", publisher="Clinic"))

    assert [(c.metadata["section"], c.metadata["section_path"]) for c in chunks] == [
        ("", ""),
        ("Costs", "Costs"),
        ("Insurance", "Costs > Insurance"),
        ("Safety", "Safety"),
    ]


def test_chunk_metadata_keeps_document_metadata() -> None:
    doc = _doc(NESTED, title="Guide", publisher="Clinic")

    chunks = chunk_document(doc)

    for chunk in chunks:
        assert chunk.metadata["source"] == "test.md"
        assert chunk.metadata["title"] == "Guide"
        assert chunk.metadata["publisher"] == "Clinic"
    assert "section" not in doc.metadata


def test_text_before_first_heading_has_no_heading_line() -> None:
    chunks = chunk_document(_doc(NESTED))

    assert chunks[0].page_content == "Welcome to the clinic."
    assert chunks[2].page_content == "### Insurance\n\nSome plans pay."


def test_split_sections_builds_heading_paths() -> None:
    sections = split_sections("# A\n\nx\n\n## B\n\ny\n\n### C\n\nz\n\n## D\n\nw\n")

    assert [(s.heading, s.level, s.path, s.blocks) for s in sections] == [
        ("A", 1, ("A",), ("x",)),
        ("B", 2, ("A", "B"), ("y",)),
        ("C", 3, ("A", "B", "C"), ("z",)),
        ("D", 2, ("A", "D"), ("w",)),
    ]


def test_heading_inside_code_fence_does_not_start_a_section() -> None:
    text = "## Setup\n\nRun this:\n\n```\n# not a heading\necho hi\n```\n"

    sections = split_sections(text)

    assert [s.heading for s in sections] == ["Setup"]
    assert "# not a heading" in sections[0].blocks[-1]


def test_closing_hashes_of_a_heading_are_dropped() -> None:
    assert split_sections("## Costs ##\n\nText.")[0].heading == "Costs"


def test_hash_at_end_of_heading_word_is_kept() -> None:
    assert split_sections("## Learning C#\n\nText.")[0].heading == "Learning C#"


# --- Sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "Clients use e.g. lozenges at home. Then they rest.",
            ["Clients use e.g. lozenges at home.", "Then they rest."],
        ),
        ("Dr. Smith sees patients. She is kind.", ["Dr. Smith sees patients.", "She is kind."]),
        (
            "It is cleared by the U.S. Food and Drug Administration. Coverage varies.",
            ["It is cleared by the U.S. Food and Drug Administration.", "Coverage varies."],
        ),
        (
            "A trial (Dore et al., 2019) found benefits. Others agree.",
            ["A trial (Dore et al., 2019) found benefits.", "Others agree."],
        ),
        ("Dore et al. 2019 found benefits.", ["Dore et al. 2019 found benefits."]),
        (
            "Plan 1.5 to 3-hour sessions. Bring water.",
            ["Plan 1.5 to 3-hour sessions.", "Bring water."],
        ),
        ("Is it safe? Yes. It is.", ["Is it safe?", "Yes.", "It is."]),
        ("It works! Really.", ["It works!", "Really."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        (
            "She said \u201cIt helps.\u201d Then she left.",
            ["She said \u201cIt helps.\u201d", "Then she left."],
        ),
        (
            "She asked \u2018Why?\u2019 Nobody knew.",
            ["She asked \u2018Why?\u2019", "Nobody knew."],
        ),
        ('"Is it safe?" she asked.', ['"Is it safe?" she asked.']),
        (
            "Costs vary (see Fig. 2). \u201cCall us,\u201d they say.",
            ["Costs vary (see Fig. 2).", "\u201cCall us,\u201d they say."],
        ),
        ("One.   Two\nlines.", ["One.", "Two lines."]),
        ("", []),
        ("   \n ", []),
    ],
    ids=[
        "e.g.",
        "Dr.",
        "U.S.",
        "et al. comma",
        "et al. year",
        "decimal",
        "question mark",
        "exclamation",
        "straight quotes",
        "curly double quotes",
        "curly single quotes",
        "question inside quote then lower case",
        "bracket and quote start",
        "whitespace collapsed",
        "empty",
        "blank",
    ],
)
def test_split_sentences(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected


# --- Lists and tables -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "body"),
    [
        (
            "Bring these:\n- Photo ID\n- Insurance card\n- A friend to drive you home",
            "Bring these:\n- Photo ID\n- Insurance card\n- A friend to drive you home",
        ),
        (
            "Bring these:\n\n* Photo ID\n* Insurance card",
            "Bring these:\n\n* Photo ID\n* Insurance card",
        ),
        (
            "Steps:\n1. Eat lightly. Do not drive.\n2) Arrive early.",
            "Steps:\n1. Eat lightly. Do not drive.\n2) Arrive early.",
        ),
    ],
    ids=["intro in block", "intro in own paragraph", "numbered items with sentences"],
)
def test_list_items_stay_one_per_line_with_their_intro(block: str, body: str) -> None:
    chunks = chunk_document(_doc(f"## What to bring\n\n{block}\n"))

    assert _bodies(chunks) == [body]


def test_long_list_is_split_between_whole_items() -> None:
    items = [f"- Item number {i} that patients often bring along" for i in range(30)]
    text = "## Items\n\n" + "\n".join(items)

    chunks = chunk_document(_doc(text), max_chars=300, min_chars=80)

    assert len(chunks) > 2
    lines = [line for body in _bodies(chunks) for line in body.split("\n")]
    assert lines == items
    assert all(len(b) <= 300 for b in _bodies(chunks))


def test_intro_line_stays_with_its_list_when_they_fit() -> None:
    opener = "Preparation matters for a calm and safe session. " * 7 + "Plan to rest."
    intro = "Bring these items to every session:"
    items = "\n".join(f"- Item number {i} to bring along" for i in range(11))
    text = f"## Prepare\n\n{opener}\n\n{intro}\n{items}\n"
    assert len(intro) + 1 + len(items) <= MAX_CHARS

    bodies = _bodies(chunk_document(_doc(text)))

    holder = next(b for b in bodies if intro in b)
    assert "- Item number 0 to bring along" in holder, bodies


def test_hard_wrapped_intro_of_a_list_keeps_sentences_whole() -> None:
    sentences = [
        f"Sentence number {i} explains one more practical detail about preparing for a session."
        for i in range(12)
    ]
    lines, line = [], ""
    for word in " ".join(sentences).split():
        if len(line) + len(word) + 1 > 72:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    text = "## Prepare\n\n" + "\n".join(lines) + "\n- Bring water\n- Bring a friend\n"

    _assert_units_whole_and_in_order(text, chunk_document(_doc(text)))


def test_table_is_split_between_whole_rows() -> None:
    rows = ["| Treatment | Cost |", "| --- | --- |"] + [
        f"| Option {i} with a description | ${i}00 per session. Varies. |" for i in range(20)
    ]
    text = "## Prices\n\n" + "\n".join(rows)

    chunks = chunk_document(_doc(text), max_chars=250, min_chars=60)

    assert len(chunks) > 2
    lines = [line for body in _bodies(chunks) for line in body.split("\n")]
    assert lines == rows


# --- Ids and helpers ------------------------------------------------------------------


def test_chunk_id_depends_on_text_and_metadata_not_key_order() -> None:
    base = chunk_id("Text.", {"source": "a.md", "section": "S"})

    assert base == chunk_id("Text.", {"section": "S", "source": "a.md"})
    assert base != chunk_id("Text!", {"source": "a.md", "section": "S"})
    assert base != chunk_id("Text.", {"source": "b.md", "section": "S"})
    assert re.fullmatch(r"[0-9a-f]{64}", base)


def test_same_text_in_two_documents_gets_two_ids() -> None:
    text = "## Parking\n\nUse the blue garage."

    a = chunk_document(Document(page_content=text, metadata={"source": "a.md"}))
    b = chunk_document(Document(page_content=text, metadata={"source": "b.md"}))

    assert a[0].page_content == b[0].page_content
    assert a[0].id != b[0].id


@pytest.mark.parametrize(
    ("chunk_text", "body"),
    [
        ("## Cost\n\nIt varies. Ask us.", "It varies. Ask us."),
        ("### A > B\n\n- item", "- item"),
        ("Just text.\nMore text.", "Just text.\nMore text."),
        ("#hashtag is not a heading", "#hashtag is not a heading"),
    ],
)
def test_body_of_drops_only_a_heading_line(chunk_text: str, body: str) -> None:
    assert body_of(chunk_text) == body


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(_doc("")) == []
    assert chunk_document(_doc("## Heading only\n")) == []


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) == 5
    assert all(isinstance(p, Path) and p.stat().st_size > 1000 for p in CORPUS_FILES)


def test_sentence_records_are_sentences_and_neighbouring_pairs_without_the_heading() -> None:
    text = (
        "## Side effects\n\nSome feel dizzy. It passes.\n\n"
        "Common side effects include:\n\n- Nausea\n- Headache"
    )
    [chunk] = chunk_document(_doc(text), max_chars=700, min_chars=160)

    records = sentence_documents(chunk)

    assert [r.page_content for r in records] == [
        "Some feel dizzy.",
        "It passes.",
        "Common side effects include: Nausea Headache",
        "Some feel dizzy. It passes.",
        "It passes. Common side effects include: Nausea Headache",
    ]
    assert all(r.metadata["parent"] == chunk.id for r in records)
    assert all(r.metadata["kind"] == "sentence" for r in records)
    assert len({r.id for r in records}) == len(records)


def test_a_one_sentence_chunk_gets_its_sentence_as_a_record() -> None:
    [chunk] = chunk_document(_doc("## Cost\n\nIt varies."), max_chars=700, min_chars=160)

    assert [r.page_content for r in sentence_documents(chunk)] == ["It varies."]


def test_sentence_records_need_the_chunk_id() -> None:
    with pytest.raises(ValueError, match="needs its id"):
        sentence_documents(Document(page_content="Text.", metadata={"source": "a.md"}))


def _chunks(text: str) -> list[Document]:
    return chunk_document(_doc(text), max_chars=200, min_chars=50)


def test_a_question_points_at_the_chunk_that_contains_its_quote() -> None:
    chunks = _chunks(
        "## Referral\n\nNo referral is required. Call **our office** to book.\n\n"
        "## Payment\n\nVisits are paid at the time of service by card or cash."
    )
    faqs = [
        FaqQuestion("do i need a doctor's note first", "no referral is  required."),
        FaqQuestion("how do i book", "Call our office to book."),
        FaqQuestion("can i pay cash", "by card or cash"),
    ]

    records, unmatched = question_documents(chunks, faqs)

    assert unmatched == []
    parents = {r.page_content: r.metadata["parent"] for r in records}
    assert parents["do i need a doctor's note first"] == chunks[0].id
    assert parents["how do i book"] == chunks[0].id  # emphasis marks and case ignored
    assert parents["can i pay cash"] == chunks[1].id
    assert all(r.metadata["kind"] == "question" for r in records)
    assert all(r.metadata["source"] == "test.md" for r in records)


def test_a_question_whose_quote_is_nowhere_is_returned_unmatched() -> None:
    chunks = _chunks("## Cost\n\nIt varies by plan.")
    missing = FaqQuestion("is it free", "Treatment is free of charge.")

    records, unmatched = question_documents(chunks, [missing])

    assert records == [] and unmatched == [missing]


def test_a_quote_found_in_two_chunks_gives_each_a_record() -> None:
    chunks = _chunks("## A\n\nAsk your provider.\n\n## B\n\nAsk your provider.")

    records, _ = question_documents(chunks, [FaqQuestion("who decides", "Ask your provider.")])

    assert sorted(r.metadata["parent"] for r in records) == sorted(c.id for c in chunks)
    assert len({r.id for r in records}) == 2


def test_chunks_do_not_inherit_the_documents_questions() -> None:
    doc = _doc("## Cost\n\nIt varies.")
    doc.metadata["questions"] = (FaqQuestion("how much", "It varies."),)

    [chunk] = chunk_document(doc, max_chars=700, min_chars=160)

    assert "questions" not in chunk.metadata
    assert chunk.id == chunk_document(_doc("## Cost\n\nIt varies."))[0].id


def test_every_bundled_question_quotes_its_document() -> None:
    for path in sorted(CORPUS.glob("*.md")):
        doc = load_file(path, source=path.name)
        questions = doc.metadata.get("questions", ())
        _, unmatched = question_documents(
            chunk_document(doc, max_chars=1200, min_chars=250), questions
        )
        assert questions, f"{path.name} has no curated questions"
        assert unmatched == [], f"{path.name}: {unmatched[:3]}"


def test_document_records_are_each_chunk_then_its_sentences_then_the_questions() -> None:
    doc = _doc(
        "## Referral\n\nNo referral is required. Call our office to book.\n\n"
        "## Payment\n\nVisits are paid at the time of service by card or cash."
    )
    kept = FaqQuestion("can i pay cash", "by card or cash")
    lost = FaqQuestion("is it free", "Treatment is free of charge.")
    doc.metadata["questions"] = (kept, lost)

    records, unmatched = document_records(doc, max_chars=200, min_chars=50)

    chunks = chunk_document(doc, max_chars=200, min_chars=50)
    expected = [r.page_content for c in chunks for r in (c, *sentence_documents(c))]
    assert [r.page_content for r in records] == [*expected, "can i pay cash"]
    assert records[-1].metadata["parent"] == chunks[1].id
    assert unmatched == [lost]
