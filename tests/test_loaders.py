"""Unit tests for kapbot.loaders.load_file: every format, every refusal, clear messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fpdf import FPDF
from langchain_core.documents import Document

from kapbot.errors import LoadError
from kapbot.loaders import load_file
from kapbot.records import FaqQuestion
from tests.conftest import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*.md"))


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _load(path: Path, **kwargs: int) -> Document:
    return load_file(path, source=f"docs/{path.name}", **kwargs)


def _load_error(path: Path, **kwargs: int) -> str:
    with pytest.raises(LoadError) as info:
        _load(path, **kwargs)
    return str(info.value)


def _pdf(path: Path, *pages: str, title: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


# --- Markdown -------------------------------------------------------------------------

FRONT_MATTER_MD = """---
title: "Parking at the clinic"
publisher: Example Clinic
url: https://example.org/parking
added: 2024-03-05
---

# Parking

Patients can park in the blue garage behind the clinic.
"""


def test_markdown_front_matter_becomes_metadata(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path, "parking.md", FRONT_MATTER_MD))

    assert doc.metadata == {
        "source": "docs/parking.md",
        "title": "Parking at the clinic",
        "publisher": "Example Clinic",
        "url": "https://example.org/parking",
        "added": "2024-03-05",
        "format": "md",
        "owner": "third_party",  # not said: never presented as the clinic's own
    }


@pytest.mark.parametrize(
    ("line", "owner"),
    [
        ("owner: clinic", "clinic"),
        ("owner: third_party", "third_party"),
        ("owner: Third-Party", "third_party"),
    ],
)
def test_owner_says_whose_words_a_document_is(tmp_path: Path, line: str, owner: str) -> None:
    doc = _load(_write(tmp_path, "a.md", f"---\ntitle: A\n{line}\n---\n\nText."))
    assert doc.metadata["owner"] == owner


def test_an_unknown_owner_is_an_error_that_names_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="clinic, third_party"):
        _load(_write(tmp_path, "a.md", "---\ntitle: A\nowner: partner\n---\n\nText."))


def test_markdown_body_excludes_front_matter(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path, "parking.md", FRONT_MATTER_MD))

    assert doc.page_content == (
        "# Parking\n\nPatients can park in the blue garage behind the clinic."
    )


@pytest.mark.parametrize(
    ("added_line", "expected"),
    [
        ("added: 2024-03-05", "2024-03-05"),
        ('added: "2024-03-05"', "2024-03-05"),
        ("added: 2024-03-05 10:30:00", "2024-03-05T10:30:00"),
    ],
    ids=["unquoted date", "quoted date", "unquoted datetime"],
)
def test_added_is_an_iso_string_whatever_yaml_parses_it_as(
    tmp_path: Path, added_line: str, expected: str
) -> None:
    path = _write(tmp_path, "a.md", f"---\ntitle: A\n{added_line}\n---\n\nBody text.\n")

    added = _load(path).metadata["added"]

    assert added == expected
    assert isinstance(added, str)


def test_front_matter_author_is_kept_and_unknown_keys_are_not(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "a.md", "---\ntitle: A\nauthor: Dr. Who\nsource_file: x.txt\n---\n\nBody.\n"
    )

    metadata = _load(path).metadata

    assert metadata["author"] == "Dr. Who"
    assert "source_file" not in metadata


def test_markdown_without_front_matter_takes_title_from_first_heading(tmp_path: Path) -> None:
    path = _write(tmp_path, "hours.md", "# Opening hours\n\nWe open at nine on weekdays.\n")

    doc = _load(path)

    assert doc.metadata["title"] == "Opening hours"
    assert doc.page_content.startswith("# Opening hours\n")


def test_markdown_title_is_first_heading_even_after_a_short_preamble(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "parking.md", "Last updated: May 2024\n\n# Parking\n\nUse the blue garage.\n"
    )

    assert _load(path).metadata["title"] == "Parking"


def test_markdown_suffix_is_recorded_as_format(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path, "notes.markdown", "# Notes\n\nSome text.\n"))

    assert doc.metadata["format"] == "markdown"


def test_windows_line_endings_are_normalised(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "a.md", b"---\r\ntitle: T\r\n---\r\n# H\r\n\r\nBody one.\r\nBody two.\r\n"
    )

    doc = _load(path)

    assert doc.metadata["title"] == "T"
    assert doc.page_content == "# H\n\nBody one.\nBody two."


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_documents_load_with_metadata_and_without_front_matter(path: Path) -> None:
    doc = load_file(path, source=path.name)
    front_matter = path.read_text(encoding="utf-8").split("\n---\n", 1)[0]

    assert doc.metadata["source"] == path.name
    assert doc.metadata["format"] == "md"
    assert doc.metadata["title"] and doc.metadata["title"] in front_matter
    assert doc.metadata["added"] == "2026-11-22"
    assert not doc.page_content.startswith("---")
    assert "source_file:" not in doc.page_content
    assert "removed:" not in doc.page_content


# --- Plain text -----------------------------------------------------------------------


def test_text_title_is_a_short_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.txt", "Parking for patients\n\nUse the blue garage.\n")

    doc = _load(path)

    assert doc.metadata["title"] == "Parking for patients"
    assert doc.metadata["format"] == "txt"
    assert doc.page_content == "Parking for patients\n\nUse the blue garage."


def test_text_title_falls_back_to_file_name_when_first_line_is_a_sentence(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        "parking_notes-2024.txt",
        "Patients can park in the blue garage behind the clinic on weekdays.\nMore.\n",
    )

    assert _load(path).metadata["title"] == "Parking notes 2024"


def test_text_title_falls_back_to_file_name_when_first_line_is_too_long(tmp_path: Path) -> None:
    path = _write(tmp_path, "faq.txt", "word " * 40 + "\n\nBody.\n")

    assert _load(path).metadata["title"] == "Faq"


# --- HTML -----------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head>
<title>Clinic hours</title>
<style>body { color: STYLE_MARKER; }</style>
<script>var tracker = "SCRIPT_MARKER";</script>
</head>
<body>
<h1>Opening hours</h1>
<p>We are open
   on weekdays.</p>
<h2>What to bring</h2>
<ul><li>Photo ID</li><li>Insurance <b>card</b></li></ul>
<table><tr><th>Day</th><th>Hours</th></tr><tr><td>Monday</td><td>9-5</td></tr></table>
<script>document.write("INLINE_SCRIPT_MARKER")</script>
<style>.x { display: none }</style>
</body></html>
"""


def test_html_title_comes_from_title_element(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path, "hours.html", PAGE))

    assert doc.metadata["title"] == "Clinic hours"
    assert doc.metadata["format"] == "html"


def test_html_blocks_become_markdown_lines(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path, "hours.html", PAGE))

    lines = [line for line in doc.page_content.splitlines() if line.strip()]
    assert lines == [
        "# Opening hours",
        "We are open on weekdays.",
        "## What to bring",
        "- Photo ID",
        "- Insurance card",
        "| Day | Hours |",
        "| Monday | 9-5 |",
    ]


@pytest.mark.parametrize(
    "page",
    [
        PAGE,
        "<html><body><div>Call us today</div><script>var x = 'SCRIPT_MARKER';</script>"
        "<style>p { color: STYLE_MARKER }</style></body></html>",
    ],
    ids=["with block markup", "without block markup"],
)
def test_html_script_and_style_content_is_dropped(tmp_path: Path, page: str) -> None:
    content = _load(_write(tmp_path, "page.htm", page)).page_content

    assert "MARKER" not in content
    assert "tracker" not in content
    assert "document.write" not in content
    assert "display" not in content


def test_html_without_block_markup_falls_back_to_visible_text(tmp_path: Path) -> None:
    page = "<html><body><div>Call us today</div><script>var x = 1;</script></body></html>"

    doc = _load(_write(tmp_path, "page.html", page))

    assert doc.page_content == "Call us today"


def test_html_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    page = "<html><body><h1>Parking</h1><p>Use the blue garage.</p></body></html>"

    assert _load(_write(tmp_path, "p.html", page)).metadata["title"] == "Parking"


def test_html_text_outside_block_elements_is_kept(tmp_path: Path) -> None:
    page = "<html><body><h1>Hours</h1><div>We open at 9 am on weekdays.</div></body></html>"

    assert "We open at 9 am on weekdays." in _load(_write(tmp_path, "h.html", page)).page_content


# --- PDF ------------------------------------------------------------------------------


def test_pdf_text_is_loaded_from_every_page(tmp_path: Path) -> None:
    path = _pdf(
        tmp_path / "parking.pdf",
        "Parking for Patients\nPatients can park in the blue garage behind the clinic.",
        "Second page about insurance coverage.",
    )

    doc = _load(path)

    assert "Patients can park in the blue garage behind the clinic." in doc.page_content
    assert "Second page about insurance coverage." in doc.page_content
    assert doc.metadata["format"] == "pdf"
    assert doc.metadata["title"] == "Parking for Patients"


def test_pdf_title_comes_from_pdf_metadata(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "x.pdf", "Hello world.", title="Clinic Parking Guide")

    assert _load(path).metadata["title"] == "Clinic Parking Guide"


def test_pdf_without_text_is_refused(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))

    assert "no extractable text" in _load_error(path)


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is plain text and not a PDF at all",
        bytes(range(1, 256)) * 4,
        b"%PDF-1.4\n" + b"garbage " * 50,
    ],
    ids=["plain text", "binary", "pdf header then garbage"],
)
def test_file_named_pdf_that_is_not_a_pdf_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "not a readable PDF" in _load_error(_write(tmp_path, "fake.pdf", data))


# --- Encodings and control characters --------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_decoded(tmp_path: Path, codec: str) -> None:
    text = "Caf\u00e9 hours\n\nWe serve caf\u00e9 au lait to patients."
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec]
    path = _write(tmp_path, "cafe.txt", bom + text.encode(codec))

    doc = _load(path)

    assert doc.page_content == text
    assert doc.metadata["title"] == "Caf\u00e9 hours"


def test_utf16_markdown_front_matter_is_parsed(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.md", "---\ntitle: Sixteen\n---\n\nBody.\n".encode("utf-16"))

    doc = _load(path)

    assert doc.metadata["title"] == "Sixteen"
    assert doc.page_content == "Body."


def test_utf8_bom_is_accepted_and_not_in_the_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.txt", "\ufeffHello there\nBody.".encode())

    doc = _load(path)

    assert doc.page_content == "Hello there\nBody."
    assert "\ufeff" not in doc.metadata["title"]


def test_utf8_bom_before_front_matter_does_not_hide_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.md", "\ufeff---\ntitle: T\n---\n\nBody.\n".encode())

    doc = _load(path)

    assert doc.metadata["title"] == "T"
    assert doc.page_content == "Body."


@pytest.mark.parametrize("char", ["\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
def test_control_characters_are_removed_from_good_text(tmp_path: Path, char: str) -> None:
    path = _write(tmp_path, "a.txt", f"Title\n\nHello{char} wor{char}ld.\tTabbed.\n")

    assert _load(path).page_content == "Title\n\nHello world.\tTabbed."


def test_c1_control_characters_are_removed(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.txt", "Title\n\nResults vary\u0085 ask your provider.\n")

    assert "\u0085" not in _load(path).page_content


# --- Refusals ---------------------------------------------------------------------------

BAD_INPUTS: list[tuple[str, str, bytes, str]] = [
    # (id, file name, content, distinctive part of the message)
    ("empty", "a.md", b"", "file is empty"),
    ("whitespace only", "a.txt", b"  \n\n \t\r\n", "file is empty"),
    ("front matter only", "a.md", b"---\ntitle: Only a title\n---\n\n\n", "no text to index"),
    (
        "binary garbage with NUL",
        "a.md",
        b"\x89PNG\r\n\x1a\n" + os.urandom(2048) + b"\x00" + os.urandom(2048),
        "binary data",
    ),
    ("many control characters", "a.txt", b"ab\x01\x02\x03\x04" * 200, "control characters"),
    ("utf-16 without BOM", "a.txt", "Hello there".encode("utf-16-le"), "NUL bytes"),
    ("latin-1", "a.txt", "caf\xe9 r\xe9sum\xe9".encode("latin-1"), "byte 0xe9 at offset 3"),
    (
        "front matter is a list",
        "a.md",
        b"---\n- title\n- publisher\n---\n\nBody.\n",
        "front matter must be a mapping",
    ),
    (
        "front matter is a string",
        "a.md",
        b"---\njust words\n---\n\nBody.\n",
        "front matter must be a mapping",
    ),
    (
        "front matter not closed",
        "a.md",
        b"---\ntitle: Something\n\n# Body\n\nText here.\n",
        "no closing '---' line",
    ),
    ("unsupported suffix", "a.docx", b"PK\x03\x04 word document", "unsupported file type '.docx'"),
    ("no suffix", "README", b"Some text.", "unsupported file type '(none)'"),
]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_raises_load_error_with_reason(
    tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    assert expected in _load_error(_write(tmp_path, name, data))


def test_wrong_encoding_message_names_utf8_and_offset(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.txt", b"Tarifas\n\n" + "caf\xe9 r\xe9sum\xe9".encode("latin-1"))

    message = _load_error(path)

    assert "not valid UTF-8" in message
    assert "offset 12" in message


@pytest.mark.parametrize(
    ("front_matter", "line"),
    [
        ("title: A\npublisher: B\n  url: C", 4),
        ("title: X\n\tbad: tab", 3),
        ('title: "unclosed\npublisher: [x', 3),
    ],
    ids=["bad indentation", "tab", "unclosed quote"],
)
def test_invalid_yaml_front_matter_names_the_line(
    tmp_path: Path, front_matter: str, line: int
) -> None:
    path = _write(tmp_path, "a.md", f"---\n{front_matter}\n---\n\n# Body\n\nText.\n")

    message = _load_error(path)

    assert "front matter is not valid YAML" in message
    assert f"at line {line}:" in message


def test_empty_front_matter_block_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.md", "---\n---\n\n# Parking\n\nUse the blue garage.\n")

    doc = _load(path)

    assert doc.page_content == "# Parking\n\nUse the blue garage."


def test_file_over_max_bytes_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", b"x" * 2_000_001)

    message = _load_error(path, max_bytes=2_000_000)

    assert "over the 2 MB limit" in message


def test_file_of_exactly_max_bytes_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.txt", b"Title\n\n" + b"x" * 93)

    assert _load(path, max_bytes=100).page_content.endswith("x" * 93)


def test_small_size_limit_is_reported_readably(tmp_path: Path) -> None:
    message = _load_error(_write(tmp_path, "a.txt", b"x" * 101), max_bytes=100)

    assert "over the 0 MB limit" not in message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "no such file" in _load_error(tmp_path / "missing.md")


def test_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()

    assert "is a folder" in _load_error(tmp_path / "folder.md")


# --- Curated questions in front matter ------------------------------------------------


def test_front_matter_questions_become_typed_records(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "faq.md",
        '---\ntitle: FAQ\nquestions:\n  - question: "do i need a   referral"\n'
        '    quote: "No referral is required."\n---\n\n## Referral\n\nNo referral is required.\n',
    )

    doc = _load(path)

    assert doc.metadata["questions"] == (
        FaqQuestion("do i need a referral", "No referral is required."),
    )
    assert "questions" not in doc.page_content


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ("questions: do i need a referral", "must be a list"),
        ("questions:\n  - do i need a referral", "entry 1 must have exactly the keys"),
        ('questions:\n  - question: "a"\n    answer: "b"', "entry 1 must have exactly the keys"),
        ('questions:\n  - question: "a"\n    quote: 3', "entry 1: question and quote must be text"),
        ('questions:\n  - question: " "\n    quote: "b"', "entry 1: question or quote is empty"),
    ],
)
def test_malformed_questions_are_refused_with_the_reason(
    tmp_path: Path, questions: str, message: str
) -> None:
    path = _write(tmp_path, "faq.md", f"---\ntitle: FAQ\n{questions}\n---\n\nBody text.\n")

    assert message in _load_error(path)


def test_bundled_documents_carry_curated_questions() -> None:
    for path in sorted(CORPUS.glob("*.md")):
        questions = load_file(path, source=path.name).metadata["questions"]
        assert len(questions) >= 30, path.name
        assert all(isinstance(q, FaqQuestion) for q in questions)
