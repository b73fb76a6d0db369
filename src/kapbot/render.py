"""How a reply looks in the web chat (pure: records in, message dicts out).

The answer is one chat message; each citation follows as its own collapsible message
(title, publisher, link, section and the quoted passage), so every answer carries its
numbered sources panel. A crisis reply is one message, never collapsed, marked with a CSS
class so the page shows it unmistakably. Nothing a patient or a document wrote is ever
rendered as HTML: it is escaped before the chat's Markdown renderer sees it.
"""

from __future__ import annotations

import html
import re
from pathlib import PurePosixPath
from typing import Any

from kapbot.chunking import body_of
from kapbot.compose import markdown_safe
from kapbot.readable import strip_references
from kapbot.records import Citation, Reply
from kapbot.suggest import suggestion_block
from kapbot.texts import ReplyTexts, safety_text

CRISIS_CLASS = "kapbot-crisis"
FRIENDLY_ERROR = safety_text("error")
_SAFE_URL = re.compile(r"^https?://[^\s<>()\"']+$")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~-])")


def user_message(text: str) -> dict[str, Any]:
    """The patient's message as typed, shown literally (never as HTML or Markdown)."""
    escaped = html.escape(text, quote=False)
    return {"role": "user", "content": _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)}


def plain_title(text: str) -> str:
    """A title for a collapsible header: no markup characters at all."""
    return re.sub(r"[<>\[\]`*_]", "", text).strip()


def document_title(citation: Citation) -> str:
    """The document's title, or (a document without one) its file's name in words: a
    patient never sees a file path."""
    if plain_title(citation.title):
        return plain_title(citation.title)
    stem = PurePosixPath(citation.source.replace("\\", "/")).stem
    words = " ".join(re.sub(r"[-_.]+", " ", stem).split())
    return plain_title(words[:1].upper() + words[1:]) or "A clinic document"


def source_body(citation: Citation, publisher: str = "") -> str:
    """Markdown for one source: who published it, a link to the original when the
    document names one, the section and the passage (never the file's path)."""
    lines = []
    who = plain_title(publisher or citation.publisher)
    lines.append(f"**{who}**" if who else "Publisher not named")
    if citation.url and _SAFE_URL.match(citation.url):
        lines.append(f"[{markdown_safe(plain_title(citation.url))}]({citation.url})")
    if citation.section:
        lines.append(f"Section: {markdown_safe(plain_title(citation.section))}")
    passage = markdown_safe(strip_references(body_of(citation.text) or citation.text))
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in passage.splitlines())
    return "  \n".join(lines) + "\n\n" + quoted


def source_message(citation: Citation) -> dict[str, Any]:
    """A collapsed chat message holding one citation."""
    title = f"[{citation.n}] {document_title(citation)}"
    return {
        "role": "assistant",
        "content": source_body(citation),
        "metadata": {"title": title, "status": "done"},
    }


def shown_text(reply: Reply) -> str:
    """The reply's text as the chat shows it: suggested questions are buttons there, not
    a list at the end of the text."""
    if not reply.suggestions:
        return reply.text
    block = suggestion_block(ReplyTexts.load().get("suggestions", "lead"), reply.suggestions)
    return reply.text.removesuffix(block).rstrip()


def reply_messages(reply: Reply) -> list[dict[str, Any]]:
    """The chat messages for one reply: the answer, then its sources."""
    if reply.kind == "crisis":
        content = f'<div class="{CRISIS_CLASS}" role="alert">\n\n{reply.text}\n\n</div>'
        return [{"role": "assistant", "content": content}]
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": shown_text(reply)}]
    if reply.citations:
        messages[0]["content"] += "\n\n*Sources:*"
    messages += [source_message(c) for c in reply.citations]
    return messages
