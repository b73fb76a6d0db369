"""The crisis reply and what a conversation keeps of it (pure, reading reviewed data).

The reply's words are reviewed data (``data/replies.yaml``, section ``safety``), in English
and Spanish. A message that got the crisis reply is never stored nor used to answer a later
question: :func:`without_crisis` is what may be kept of a conversation.

Example:
    >>> is_crisis_reply(crisis_message())
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from kapbot.settings import Settings
from kapbot.texts import CRISIS_REPLY_KEYS, ReplyTexts, safety_text

CONCERN_NOTE = safety_text("concern")


def crisis_message(
    settings: Settings | None = None,
    language: str = "en",
    emergency: bool = False,
    again: bool = False,
    refused: bool = False,
    other: bool = False,
) -> str:
    """The reviewed crisis reply (``data/replies.yaml``, ``safety.crisis``), in Spanish for
    ``language="es"``, with the clinic's after-hours line when it is set, emergency help
    first for an emergency under way, and shorter ``again`` right after a full one (text or
    chat first when the person ``refused`` a call or no one answered), and to a bystander
    writing about ``other`` people in danger."""
    return ReplyTexts.load().crisis(
        settings or Settings(), language, emergency, again, refused, other
    )


def is_crisis_reply(text: object) -> bool:
    """Whether ``text`` is the crisis reply (in either language)."""
    if not isinstance(text, str):
        return False
    return any(opening in text for opening in _openings())


def replied_crisis(history: Sequence[Mapping[str, str]]) -> bool:
    """Whether one of the last two replies in ``history`` was the crisis reply."""
    return any(is_crisis_reply(r) for r in _replies(history)[-2:])


def without_crisis(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``history`` without any message that got the crisis reply, nor the reply: what may
    be stored of a conversation."""
    kept: list[dict[str, Any]] = []
    for turn in history:
        if turn.get("role") == "assistant" and is_crisis_reply(turn.get("content")):
            if kept and kept[-1].get("role") == "user":
                kept.pop()
            continue
        kept.append(dict(turn))
    return kept


@lru_cache(maxsize=1)
def _openings() -> dict[str, str]:
    """The first line of every crisis reply, and the key of the reply it opens."""
    texts = ReplyTexts.load()
    return {
        texts.get("safety", key, after_hours="").strip().split("\n", 1)[0]: key
        for key in CRISIS_REPLY_KEYS
    }


def _replies(history: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [t.get("content") for t in history if t.get("role") == "assistant"]


def last_crisis_language(history: Sequence[Mapping[str, Any]]) -> str | None:
    """The language (``en``/``es``) of the latest reply in ``history`` if it was the crisis
    reply; ``None`` when the latest reply was anything else."""
    replies = _replies(history)
    if not replies or not is_crisis_reply(replies[-1]):
        return None
    spanish = [line for line, key in _openings().items() if key.endswith("_es")]
    return "es" if any(opening in str(replies[-1]) for opening in spanish) else "en"


def last_crisis_urgent(history: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the latest reply in ``history`` was a crisis reply for an emergency under
    way (emergency help before anything else)."""
    replies = _replies(history)
    if not replies or not is_crisis_reply(replies[-1]):
        return False
    rows = str(replies[-1]).split("\n")
    first = next((row for row in rows if row.startswith("- ")), "")
    return rows[0] in _urgent_rows() or first in _urgent_rows()


@lru_cache(maxsize=1)
def _urgent_rows() -> frozenset[str]:
    """The first list rows of the first crisis replies for an emergency under way, and the
    opening of the one given again."""
    texts, settings = ReplyTexts.load(), Settings()
    rows = {
        next(row for row in text.split("\n") if row.startswith("- "))
        for text in (
            texts.crisis(settings, language, emergency=True, other=other)
            for language in ("en", "es")
            for other in (False, True)
        )
    }
    rows |= {line for line, key in _openings().items() if key.startswith("crisis_urgent")}
    return frozenset(rows)
