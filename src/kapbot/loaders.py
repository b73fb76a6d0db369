"""Turn one file (.md, .txt, .html, .pdf) into one LangChain ``Document``.

The document's ``page_content`` is Markdown-like text (``#`` headings, ``-`` list items,
blank lines between blocks) so one chunker serves every format. Metadata carries the
front matter (title, publisher, url, added) and ``source``, the document's path id.

A Markdown document's front matter may also list the questions patients ask that it
answers, each with the verbatim quote that answers it::

    questions:
      - question: "do i need a referral"
        quote: "No referral is required."

They come back in ``metadata["questions"]`` as a tuple of :class:`FaqQuestion`; chunks do
not inherit them (see :func:`kapbot.chunking.question_documents`).

Every failure is a :class:`~kapbot.errors.LoadError` whose message names the reason;
callers add the file name.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from langchain_core.documents import Document

from kapbot.errors import LoadError
from kapbot.records import FaqQuestion

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:(.*?)\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
# Control characters other than tab, newline and carriage return (C0, DEL and C1).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Unicode line and paragraph separators act as line breaks in str.splitlines().
_SEPARATORS = re.compile("[\u2028\u2029]")
_FRONT_MATTER_KEYS = ("title", "publisher", "url", "added", "author")
# Whose words a document is: the clinic's own, or a third party's (another provider's
# article), which replies attribute to its publisher and never present as the clinic's.
OWNERS = ("clinic", "third_party")
DEFAULT_OWNER = "third_party"


def load_file(path: Path, *, source: str, max_bytes: int = 20_000_000) -> Document:
    """Read ``path`` into a Document.

    Args:
        path: The file to read.
        source: The id the document is indexed under (its path, as the caller names it).
        max_bytes: Files larger than this are refused.

    Returns:
        A Document whose metadata has at least ``source``, ``title`` and ``format``.

    Raises:
        LoadError: unreadable, empty, too large, binary, wrongly encoded, a PDF without
            text, front matter that does not parse, or an unsupported type.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"unsupported file type '{suffix or '(none)'}'; supported: "
            + ", ".join(SUPPORTED_SUFFIXES)
        )
    data = _read_bytes(path, max_bytes)
    if suffix == ".pdf":
        body, meta = _pdf(data)
    else:
        text = _decode(data)
        body, meta = _PARSERS[suffix](text)
    body = _normalise_newlines(body).strip()
    if not body:
        raise LoadError("no text to index (the file is empty apart from front matter or markup)")
    title = str(meta.get("title") or _title_from(body, path)).strip()
    metadata: dict[str, Any] = {"source": source, "title": title, "format": suffix.lstrip(".")}
    for key in _FRONT_MATTER_KEYS[1:]:
        value = meta.get(key)
        if value not in (None, ""):
            metadata[key] = _scalar(value)
    metadata["owner"] = _owner(meta.get("owner"))
    questions = _questions(meta.get("questions"))
    if questions:
        metadata["questions"] = questions
    return Document(page_content=body, metadata=metadata)


def _owner(value: object) -> str:
    """The front matter's ``owner``: ``clinic`` or ``third_party`` (the default: a
    document is never presented as the clinic's own unless the content team says so)."""
    if value in (None, ""):
        return DEFAULT_OWNER
    owner = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if owner not in OWNERS:
        raise LoadError(
            f"front matter 'owner' is {value!r}; it must be one of: {', '.join(OWNERS)}"
        )
    return owner


def _questions(value: object) -> tuple[FaqQuestion, ...]:
    """The front matter's ``questions``: a list of {question, quote} mappings."""
    if value in (None, "", []):
        return ()
    if not isinstance(value, list):
        raise LoadError("front matter 'questions' must be a list of {question, quote} entries")
    out: list[FaqQuestion] = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, dict) or set(item) != {"question", "quote"}:
            raise LoadError(
                f"front matter 'questions' entry {n} must have exactly the keys "
                "'question' and 'quote'"
            )
        question, quote = item["question"], item["quote"]
        if not isinstance(question, str) or not isinstance(quote, str):
            raise LoadError(f"front matter 'questions' entry {n}: question and quote must be text")
        if not question.strip() or not quote.strip():
            raise LoadError(f"front matter 'questions' entry {n}: question or quote is empty")
        out.append(FaqQuestion(" ".join(question.split()), " ".join(quote.split())))
    return tuple(out)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"file is {_human(size)}, over the {_human(max_bytes)} limit")
        data = path.read_bytes()
    except PermissionError as exc:
        raise LoadError("cannot read the file: permission denied") from exc
    except IsADirectoryError as exc:
        raise LoadError("is a folder, not a file") from exc
    except FileNotFoundError as exc:
        raise LoadError("no such file") from exc
    except OSError as exc:
        raise LoadError(f"cannot read the file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise LoadError("file is empty")
    return data


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError("has a UTF-16 byte-order mark but is not valid UTF-16") from exc
    else:
        if b"\x00" in data[:8192]:
            raise LoadError("looks like binary data, not text (it contains NUL bytes)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = data[exc.start : exc.start + 1].hex()
            raise LoadError(
                f"is not valid UTF-8 (byte 0x{bad} at offset {exc.start}); "
                "save it as UTF-8 and ingest again"
            ) from exc
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise LoadError(f"looks like binary data, not text ({controls} control characters)")
    return _SEPARATORS.sub("\n", _CONTROL.sub("", text))


def _markdown(text: str) -> tuple[str, dict[str, Any]]:
    meta: dict[str, Any] = {}
    if text.startswith("---"):
        match = _FRONT_MATTER.match(text)
        if match is None:
            raise LoadError("front matter starts with '---' but has no closing '---' line")
        try:
            parsed = yaml.safe_load(match.group(1) or "")
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 2}" if where is not None else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise LoadError(f"front matter is not valid YAML{line}: {problem}") from exc
        if parsed is None:
            parsed = {}
        if not isinstance(parsed, dict):
            raise LoadError("front matter must be a mapping of keys to values (title: ...)")
        meta = {str(k): v for k, v in parsed.items()}
        text = text[match.end() :]
    return text, meta


def _plain(text: str) -> tuple[str, dict[str, Any]]:
    return text, {}


def _html(text: str) -> tuple[str, dict[str, Any]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    meta: dict[str, Any] = {}
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = soup.title.get_text(" ", strip=True)
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "header"]):
        tag.decompose()
    lines: list[str] = []
    body = soup.body or soup
    blocks = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote"]
    containers = ["div", "section", "article", "main", "td", "dd", "dt"]
    for el in body.find_all([*blocks, *containers]):
        if el.find_parent(["li", "p", "pre", "blockquote", "tr"]) is not None:
            continue  # its text is part of the enclosing block
        if el.name in containers:
            # Only the container's own text: nested blocks are visited on their own.
            own = " ".join(str(t) for t in el.find_all(string=True, recursive=False))
            if own.split():
                lines += ["", " ".join(own.split()), ""]
            continue
        content = " ".join(el.get_text(" ", strip=True).split())
        if not content:
            continue
        name = el.name
        if name and name[0] == "h" and name[1:].isdigit():
            if name == "h1" and "title" not in meta:
                meta["title"] = content
            lines += ["", "#" * int(name[1:]) + " " + content, ""]
        elif name == "li":
            lines.append("- " + content)
        elif name == "tr":
            cells = [c.get_text(" ", strip=True) for c in el.find_all(["td", "th"])]
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines += ["", content, ""]
    if not any(line.strip() for line in lines):
        # Pages without block markup: fall back to their visible text.
        lines = [body.get_text("\n", strip=True)]
    return "\n".join(lines), meta


def _pdf(data: bytes) -> tuple[str, dict[str, Any]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("PDF is encrypted; save an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"is not a readable PDF ({exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise LoadError("PDF has no extractable text (probably scanned images); add a text version")
    meta: dict[str, Any] = {}
    if info is not None and info.title:
        meta["title"] = str(info.title)
    return text, meta


_PARSERS: dict[str, Callable[[str], tuple[str, dict[str, Any]]]] = {
    ".md": _markdown,
    ".markdown": _markdown,
    ".txt": _plain,
    ".html": _html,
    ".htm": _html,
}


def _title_from(body: str, path: Path) -> str:
    """The first heading, else a short first line, else the file name."""
    for line in body.splitlines():
        if re.match(r"#{1,6}\s+\S", line):
            return line.lstrip("#").strip()
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            if len(line) <= 120 and not line.endswith((".", ",", ";", ":")):
                return line
            break
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize() or path.name


def _human(size: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
