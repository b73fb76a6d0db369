"""Heading-aware chunking: pure functions from one Document to its chunks.

A chunk never crosses a section boundary and never cuts a sentence: sections are split
into units (sentences of a paragraph, list items, table rows), and units are packed into
chunks of at most ``max_chars`` (a single longer unit stays whole). Each chunk starts with
its section heading line, so a passage shown to a patient says what it is about, and both
the embedding and the keyword index see the heading words (FAQ headings are questions).

A chunk's id is a SHA-256 of its text and metadata: the same text of the same document
always gets the same id, which is what makes re-ingestion idempotent.

Example:
    >>> doc = Document(page_content="## Cost\\n\\nIt varies. Ask us.", metadata={"source": "a.md"})
    >>> [c.page_content for c in chunk_document(doc)]
    ['## Cost\\n\\nIt varies. Ask us.']
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from kapbot.records import FaqQuestion

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+·•]|\d+[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")
_ITEM_MARK = re.compile(r"^\s*(?:[-*+·•]|\d+[.)])\s+")
CHUNK = "chunk"
SENTENCE = "sentence"
QUESTION = "question"
# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "al",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "no",
        "fig",
        "approx",
        "inc",
        "ltd",
        "co",
        "jr",
        "sr",
        "u.s",
        "u.k",
        "a.m",
        "p.m",
    ]
)
# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and an
# upper-case letter, digit, quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"”’)\]]*)\s+(?=[\"“‘(\[]?[A-Z0-9¿¡])")


@dataclass(frozen=True)
class Unit:
    """A sentence, list item or table row, and what joins it to the unit before it
    (" " inside a paragraph, "\n" between list items, "\n\n" between blocks)."""

    text: str
    sep: str


@dataclass(frozen=True)
class Section:
    """A heading with the blocks of text under it (before the next heading)."""

    heading: str
    level: int
    path: tuple[str, ...]
    blocks: tuple[str, ...]


def split_sections(text: str) -> list[Section]:
    """Split Markdown text at headings; text before the first heading has heading ''."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    heading, level = "", 0
    lines: list[str] = []

    def flush() -> None:
        blocks = _blocks(lines)
        if blocks:
            path = tuple(h for _, h in stack) if heading else ()
            sections.append(Section(heading, level, path, tuple(blocks)))

    in_fence = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        lines = []
        level, heading = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
    flush()
    return sections


def _blocks(lines: list[str]) -> list[str]:
    """Group lines into blocks separated by blank lines."""
    blocks: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, keeping every character of each sentence."""
    text = " ".join(paragraph.split())
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end(1)
        candidate = text[start:end]
        last_word = candidate.rstrip('"”’)]').rstrip(".!?").rsplit(" ", 1)[-1].lower()
        if last_word.strip("(") in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue  # "e.g. The", "U.S. Food", "A. Smith": not a sentence end
        sentences.append(candidate.strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _units(block: str) -> list[Unit]:
    """Sentences of a paragraph; one unit per list item or table row."""
    lines = block.split("\n")
    if all(_LIST_ITEM.match(line) or _TABLE_ROW.match(line) for line in lines):
        return [Unit(line.strip(), "\n") for line in lines]
    if any(_LIST_ITEM.match(line) or _TABLE_ROW.match(line) for line in lines):
        # Mixed block (a paragraph, perhaps hard-wrapped, then items): items stay one
        # per line; consecutive text lines are one paragraph.
        units: list[Unit] = []
        paragraph: list[str] = []

        def flush() -> None:
            sentences = split_sentences(" ".join(paragraph))
            units.extend(Unit(s, " " if i else "\n") for i, s in enumerate(sentences))
            paragraph.clear()

        for line in lines:
            if _LIST_ITEM.match(line) or _TABLE_ROW.match(line):
                flush()
                units.append(Unit(line.strip(), "\n"))
            else:
                paragraph.append(line)
        flush()
        return units
    return [Unit(s, " ") for s in split_sentences(block)]


def _size(units: list[Unit]) -> int:
    return sum(len(u.text) for u in units) + sum(len(u.sep) for u in units[1:])


def _pack(units: list[Unit], max_chars: int) -> list[list[Unit]]:
    """Greedy packing towards equal-sized chunks of at most ``max_chars``.

    A unit ending in ':' (a list's introduction) stays with what follows it when
    they fit together.
    """
    target = _size(units) / max(1, math.ceil(_size(units) / max_chars))
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    size = 0
    for unit in units:
        grown = size + len(unit.sep) + len(unit.text)
        introduces = bool(current) and current[-1].text.endswith(":")
        if current and (grown > max_chars or (size >= target and not introduces)):
            groups.append(current)
            current, size = [], 0
            grown = len(unit.text)
        current.append(unit)
        size = grown
    if current:
        groups.append(current)
    return groups


def _render(units: list[Unit]) -> str:
    parts: list[str] = []
    for i, unit in enumerate(units):
        if i:
            parts.append(unit.sep)
        parts.append(unit.text)
    return "".join(parts)


def chunk_id(text: str, metadata: dict[str, object]) -> str:
    """Content hash of a chunk: same text and metadata, same id."""
    payload = json.dumps({"text": text, "metadata": metadata}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chunk_document(doc: Document, *, max_chars: int = 700, min_chars: int = 160) -> list[Document]:
    """Split one loaded document into chunk Documents with ids and section metadata.

    Args:
        doc: A document from :func:`kapbot.loaders.load_file`.
        max_chars: Upper bound on a chunk's body (a longer sentence stays whole).
        min_chars: A section's last chunk shorter than this joins the previous one
            when the two still fit in ``max_chars + min_chars``.

    Returns:
        Chunks in document order; each has ``id`` and metadata ``section`` and
        ``section_path`` plus the document's metadata (but not its ``questions``: see
        :func:`question_documents`). (No position is stored: it would
        change the ids of every later chunk when one sentence is inserted.)
    """
    return list(_iter_chunks(doc, max_chars, min_chars))


def _iter_chunks(doc: Document, max_chars: int, min_chars: int) -> Iterator[Document]:
    for section in split_sections(doc.page_content):
        units = units_of("\n\n".join(section.blocks))
        groups = _pack(units, max_chars)
        if len(groups) > 1:
            tail, head = _size(groups[-1]), _size(groups[-2])
            if tail < min_chars and head + tail <= max_chars + min_chars:
                groups[-2:] = [groups[-2] + groups[-1]]
        header = f"{'#' * section.level} {section.heading}\n\n" if section.heading else ""
        for group in groups:
            text = header + _render(group)
            metadata = {
                **{k: v for k, v in doc.metadata.items() if k != "questions"},
                "kind": CHUNK,
                "section": section.heading,
                "section_path": " > ".join(section.path),
            }
            yield Document(id=chunk_id(text, metadata), page_content=text, metadata=metadata)


def plain_unit(text: str) -> str:
    """A unit's text as it appears inside its sentence records: no list mark, one space."""
    return " ".join(_ITEM_MARK.sub("", text).split())


def sentence_documents(chunk: Document) -> list[Document]:
    """The sentences of a chunk, and each pair of neighbouring ones, as records pointing back at it.

    Sentence vectors match a question to the one sentence that answers it far more
    sharply than a whole passage's vector does, and their best similarity is the
    relevance signal abstention uses. A list is one record with its introduction, so that
    "- Liver damage" keeps the context that it is a side effect. Each pair of neighbouring
    sentences is a record too: an answer is often a statement plus the sentence that
    explains it, and the pair matches a question that the halves match only weakly.
    The heading is not a record of its own: a short heading ("Neuroplasticity") is close to
    every question that names its topic, and would vote equally for every chunk of its
    section; the chunk's own vector already includes it.
    """
    if not chunk.id:
        raise ValueError("a chunk needs its id before its sentences can point at it")
    units = units_of(body_of(chunk.page_content))
    groups: list[str] = []
    i = 0
    while i < len(units):
        group = [units[i].text]
        j = i + 1
        if units[i].text.endswith(":") or is_list_item(units[i]):
            while j < len(units) and is_list_item(units[j]):
                group.append(units[j].text)
                j += 1
        groups.append(" ".join(_ITEM_MARK.sub("", t) for t in group))
        i = j
    texts = groups + [f"{a} {b}" for a, b in itertools.pairwise(groups)]
    meta = {"kind": SENTENCE, "parent": chunk.id, "source": chunk.metadata.get("source", "")}
    out: list[Document] = []
    for text in dict.fromkeys(texts):
        out.append(Document(id=chunk_id(text, meta), page_content=text, metadata=dict(meta)))
    return out


def _plain(text: str) -> str:
    """Text compared for quoting: emphasis marks dropped, whitespace folded, lower case."""
    return " ".join(text.replace("**", "").replace("__", "").split()).lower()


def question_documents(
    chunks: Sequence[Document],
    questions: Sequence[FaqQuestion],
    spell: Callable[[str], str] | None = None,
) -> tuple[list[Document], list[FaqQuestion]]:
    """Records for the questions a document answers, each pointing at the chunk it quotes.

    A patient's question is far nearer to another question than to the statement that
    answers it, so a curated question ("is it covered by insurance?") finds its passage
    when the patient's words share nothing with the passage's. A question is attached to
    every chunk that contains its quote (compared without emphasis marks, case or
    spacing), so it follows its passage through any re-chunking. ``spell`` corrects a
    question's typos (curated questions are written as patients type, and patients'
    messages are corrected the same way before they are searched).

    Returns:
        The question records, and the questions whose quote no chunk contains.
    """
    texts = [(chunk, _plain(chunk.page_content)) for chunk in chunks]
    out: list[Document] = []
    unmatched: list[FaqQuestion] = []
    for faq in questions:
        quote = _plain(faq.quote)
        parents = [chunk for chunk, text in texts if quote and quote in text]
        if not parents:
            unmatched.append(faq)
        for chunk in parents:
            if not chunk.id:
                raise ValueError("a chunk needs its id before questions can point at it")
            meta = {
                "kind": QUESTION,
                "parent": chunk.id,
                "source": chunk.metadata.get("source", ""),
            }
            text = spell(faq.question) if spell is not None else faq.question
            out.append(Document(id=chunk_id(text, meta), page_content=text, metadata=meta))
    unique = {d.id: d for d in out}
    return list(unique.values()), unmatched


def is_list_item(unit: Unit) -> bool:
    """A list item or table row (not a sentence of a paragraph)."""
    return unit.sep != " " and bool(_LIST_ITEM.match(unit.text) or _TABLE_ROW.match(unit.text))


def units_of(text: str) -> list[Unit]:
    """The sentences, list items and table rows of a passage body, in order."""
    units: list[Unit] = []
    for block in _blocks(text.splitlines()):
        block_units = _units(block)
        if units and block_units:
            block_units[0] = Unit(block_units[0].text, "\n\n")
        units += block_units
    return units


def body_of(chunk_text: str) -> str:
    """A chunk's text without its heading line (what the document says under it)."""
    first, _, rest = chunk_text.partition("\n")
    return rest.lstrip("\n") if _HEADING.match(first) else chunk_text


def document_records(
    doc: Document, *, max_chars: int, min_chars: int
) -> tuple[list[Document], list[FaqQuestion]]:
    """Everything ingest embeds for one loaded document: each chunk followed by its
    sentences, then the curated questions attached to the chunks they quote.

    Returns:
        The records, and the curated questions whose quote no chunk contains.
    """
    from kapbot.spelling import Speller

    chunks = chunk_document(doc, max_chars=max_chars, min_chars=min_chars)
    records = [r for c in chunks for r in (c, *sentence_documents(c))]
    spell = Speller.build([doc.page_content]).correct
    asked, unmatched = question_documents(chunks, doc.metadata.get("questions", ()), spell)
    return records + asked, unmatched
