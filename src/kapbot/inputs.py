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
_SEPARATORS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
# A tag inside a word ("<scr<i>ipt>") is removed without a space so the outer tag is seen.
_TAG_JOINED = re.compile(r"(?<=[A-Za-z])<\s*/?\s*[a-zA-Z][^<>]*>(?=[A-Za-z])")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\$\{|[{}]")


@dataclass(frozen=True)
class CleanMessage:
    """A cleaned message: ``text`` within the length limit; ``readings``, what the crisis
    check reads: the whole message before the cut (a risk said past the limit is still
    seen), with markup removed as in ``text`` and with markup read as a space
    ("kill<br>myself")."""

    text: str
    notices: tuple[str, ...] = ()
    readings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.readings:
            object.__setattr__(self, "readings", (self.text,))

    @property
    def empty(self) -> bool:
        return not self.text


def clean_message(raw: object, max_chars: int) -> CleanMessage:
    """Normalise one message; ``text`` is empty when nothing usable is left."""
    if not isinstance(raw, str):
        return CleanMessage("")
    notices: list[str] = []
    # Cut a huge message before the character-level work so it is answered fast.
    # Its end too: what someone adds after pasting something long matters most.
    text = raw if len(raw) <= max_chars * 5 else raw[: max_chars * 4] + "\n" + raw[-max_chars:]
    # Entities first, so "&#x202E;" cannot smuggle in what the next steps remove.
    text = unicodedata.normalize("NFKC", html.unescape(text))
    # Control characters: the ones that separate (tabs, line breaks) read as spaces, the
    # rest are dropped, so that one inside a word ("ki\\x01ll") cannot hide it.
    text = "".join(
        " " if ch in _SEPARATORS else ch
        for ch in text
        if unicodedata.category(ch) != "Cc" or ch in _SEPARATORS
    )
    text = spaced = encodable(_INVISIBLE.sub("", text))
    # Until nothing changes: "<img<b> src=x>" must not turn into "<img src=x>".
    previous = None
    while previous != text:
        previous, text = text, _TAG.sub(" ", _TAG_JOINED.sub("", text))
    text = _TEMPLATE.sub(" ", text)
    text = whole = " ".join(text.split())
    spaced = " ".join(_TEMPLATE.sub(" ", _TAG.sub(" ", spaced)).split())
    if len(text) > max_chars or len(raw) > max_chars * 4:
        cut = text[:max_chars]
        space = cut.rfind(" ")
        text = cut[:space] if space > max_chars * 0.8 else cut
        notices.append(f"Your message was long, so I read only its first {max_chars:,} characters.")
    readings = (whole,) if spaced == whole else (whole, spaced)
    return CleanMessage(text, tuple(notices), readings)


def encodable(text: str) -> str:
    """``text`` without what cannot be encoded or shown: lone surrogates (from a broken
    JSON escape such as ``\\ud800`` or invalid UTF-8 read with ``surrogateescape``),
    unassigned code points and invisible format characters.

    Example:
        >>> encodable("I want to kill myself \\ud800")
        'I want to kill myself '
    """
    return "".join(ch for ch in text if unicodedata.category(ch) not in {"Cs", "Cn", "Cf"})
