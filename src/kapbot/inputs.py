"""Cleaning what a patient typed before anything else looks at it (pure functions).

Control and bidirectional-override characters are removed (they can hide or reorder
text), HTML tags and template syntax are reduced to their words, whitespace is
collapsed, and messages over the limit are cut with a notice.

Example:
    >>> clean_message("  <b>What does\\u202e KAP cost?</b> ", max_chars=2000).text
    'What does KAP cost?'
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Bidi embeddings/overrides/isolates, zero-width characters and the BOM.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
# A tag inside a word ("<scr<i>ipt>") is removed without a space so the outer tag is seen.
_TAG_JOINED = re.compile(r"(?<=[A-Za-z])<\s*/?\s*[a-zA-Z][^<>]*>(?=[A-Za-z])")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\$\{|[{}]")


@dataclass(frozen=True)
class CleanMessage:
    text: str
    notices: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.text


def clean_message(raw: object, max_chars: int) -> CleanMessage:
    """Normalise one message; ``text`` is empty when nothing usable is left."""
    if not isinstance(raw, str):
        return CleanMessage("")
    notices: list[str] = []
    # Cut a huge message before the character-level work so it is answered fast.
    text = raw[: max_chars * 4]
    # Entities first, so "&#x202E;" cannot smuggle in what the next steps remove.
    text = unicodedata.normalize("NFKC", html.unescape(text))
    text = "".join(ch if unicodedata.category(ch) != "Cc" or ch in "\n\t" else " " for ch in text)
    text = _INVISIBLE.sub("", text)
    # Until nothing changes: "<img<b> src=x>" must not turn into "<img src=x>".
    previous = None
    while previous != text:
        previous, text = text, _TAG.sub(" ", _TAG_JOINED.sub("", text))
    text = _TEMPLATE.sub(" ", text)
    text = " ".join(text.split())
    if len(text) > max_chars or len(raw) > max_chars * 4:
        cut = text[:max_chars]
        space = cut.rfind(" ")
        text = cut[:space] if space > max_chars * 0.8 else cut
        notices.append(f"Your message was long, so I read only its first {max_chars:,} characters.")
    return CleanMessage(text, tuple(notices))
