"""The words kapbot says around the clinic's quotes, from reviewed data (``data/replies.yaml``).

Declines, the way to reach the clinic, the lead-in of suggested questions and the
introductions of quotes are text a clinic reviews, not code; this module loads them once
and fills them in. The clinic's phone number, e-mail, hours, booking link and address
come only from settings: a contact sentence names what is set and nothing else.

Example:
    >>> texts = ReplyTexts.load()
    >>> texts.contact(Settings(clinic_name="Calm Clinic", clinic_phone="555-0100"))
    'You can reach Calm Clinic by phone at 555-0100.'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kapbot.settings import Settings

REPLIES_PATH = Path(__file__).parent / "data" / "replies.yaml"
# The crisis replies: the first one, to a bystander, again, again after a refusal, again for
# an emergency under way; each in English and Spanish (``_es``).
CRISIS_REPLIES = ("crisis", "crisis_other", "crisis_again", "crisis_again_refused", "crisis_urgent")
CRISIS_REPLY_KEYS = tuple(f"{name}{suffix}" for name in CRISIS_REPLIES for suffix in ("", "_es"))
# Every text the code fills in, and the placeholders each may use.
_REQUIRED: dict[str, dict[str, frozenset[str]]] = {
    "declines": {
        "not_covered": frozenset({"clinic"}),
        "other_treatment": frozenset({"clinic", "name"}),
        "task": frozenset({"clinic"}),
        "spanish": frozenset(),
        "invalid": frozenset(),
    },
    "contact": {
        "lead": frozenset({"clinic"}),
        "phone": frozenset({"phone"}),
        "email": frozenset({"email"}),
        "hours": frozenset({"hours"}),
        "booking": frozenset({"booking_url"}),
        "address": frozenset({"address"}),
        "none": frozenset({"clinic"}),
    },
    "answers": {"tentative": frozenset({"clinic"})},
    "suggestions": {"lead": frozenset()},
    "safety": {
        **{key: frozenset({"after_hours"}) for key in CRISIS_REPLY_KEYS},
        "acknowledgement_help": frozenset(),
        "acknowledgement_help_es": frozenset(),
        "after_hours": frozenset({"clinic", "phone", "tel"}),
        "acknowledgement": frozenset({"clinic"}),
        "acknowledgement_es": frozenset({"clinic"}),
        "check_in": frozenset(),
        "check_in_es": frozenset(),
        "check_in_urgent": frozenset(),
        "check_in_urgent_es": frozenset(),
        "banner": frozenset(),
        "concern": frozenset(),
        "results_vary": frozenset(),
        "see_provider": frozenset(),
        "error": frozenset(),
        "notice": frozenset({"clinic", "days"}),
    },
    "handoff": {
        "intro": frozenset({"clinic"}),
        "thanks": frozenset({"name", "clinic", "best_time"}),
        "already": frozenset(),
        "failed": frozenset(),
    },
    "attribution": {
        "third_party": frozenset({"publisher"}),
        "third_party_on": frozenset({"publisher", "subject"}),
        "unnamed": frozenset(),
        "unnamed_on": frozenset({"subject"}),
        "clinic_on": frozenset({"subject"}),
        "also": frozenset({"publisher"}),
        "also_on": frozenset({"publisher", "subject"}),
        "same_article_also": frozenset(),
        "same_article_also_on": frozenset({"subject"}),
        "own_practice": frozenset({"publisher"}),
        "not_ours": frozenset({"clinic"}),
        "practical": frozenset({"clinic"}),
        "generated": frozenset({"publishers"}),
    },
}


def _placeholders(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class ReplyTexts:
    """The texts of ``data/replies.yaml``, checked: ``section -> key -> text``."""

    sections: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: Path = REPLIES_PATH) -> ReplyTexts:
        """Read and check the file (every text present, no unknown placeholder).

        Raises:
            ValueError: a text is missing, empty or uses a placeholder it may not.
        """
        return _load(path)

    def get(self, section: str, key: str, **values: Any) -> str:
        """One text, filled in."""
        return self.sections[section][key].format(**values)

    def decline(self, reason: str, clinic: str, **values: Any) -> str:
        """What a decline says (``not_covered``, ``other_treatment``, ``task``, ``spanish``, ``invalid``)."""
        return self.get("declines", reason, clinic=clinic, **values)

    def crisis(
        self,
        settings: Settings,
        language: str = "en",
        emergency: bool = False,
        again: bool = False,
        refused: bool = False,
        other: bool = False,
    ) -> str:
        """The crisis reply, in Spanish for ``language="es"``, with the clinic's after-hours
        line when it is set. For an emergency under way (an overdose taken, someone not
        breathing, bleeding) its first two resources change places: emergency help first.
        ``again``: the shorter reply for a conversation that has just had the full one;
        ``refused`` with it: the one for a person who refuses help or whose call went
        unanswered (text or chat first); ``other``: the first reply to someone writing about
        another person in danger.

        Example:
            >>> "tel:" in ReplyTexts.load().crisis(Settings())
            True
        """
        line = ""
        if settings.clinic_after_hours_phone:
            phone = settings.clinic_after_hours_phone
            tel = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
            line = self.get(
                "safety", "after_hours", clinic=settings.clinic_name, phone=phone, tel=tel
            )
            line += "\n"
        if again and emergency:
            key = "crisis_urgent"
        elif again:
            key = "crisis_again_refused" if refused else "crisis_again"
        else:
            key = "crisis_other" if other else "crisis"
        key += "_es" if language == "es" else ""
        text = self.get("safety", key, after_hours=line).strip()
        if emergency:
            lines = text.split("\n")
            items = [i for i, row in enumerate(lines) if row.startswith("- ")][:2]
            if len(items) == 2:
                first, second = items
                lines[first], lines[second] = lines[second], lines[first]
            text = "\n".join(lines)
        return text

    def acknowledgement(
        self, settings: Settings, language: str = "en", arrived: bool = False
    ) -> str:
        """The short reply to "ok thanks" or "I'm okay now" after a crisis reply; with
        ``arrived``, to "the ambulance is here" (no invitation to ask about treatments)."""
        if arrived:
            return self.get(
                "safety", "acknowledgement_help_es" if language == "es" else "acknowledgement_help"
            )
        key = "acknowledgement_es" if language == "es" else "acknowledgement"
        return self.get("safety", key, clinic=settings.clinic_name)

    @staticmethod
    def has_contact(settings: Settings) -> bool:
        """Whether any way to reach the clinic is set."""
        s = settings
        return any((s.clinic_phone, s.clinic_email, s.clinic_booking_url, s.clinic_address))

    def contact(self, settings: Settings) -> str:
        """How to reach the clinic, from the settings that are set.

        Example:
            >>> ReplyTexts.load().contact(Settings(clinic_name="Calm Clinic"))
            'Please contact Calm Clinic directly; the care team will be glad to help.'
        """
        s = settings
        ways = []
        if s.clinic_phone:
            ways.append(self.get("contact", "phone", phone=s.clinic_phone))
        if s.clinic_email:
            ways.append(self.get("contact", "email", email=s.clinic_email))
        if ways and s.clinic_hours:
            ways[-1] += " " + self.get("contact", "hours", hours=s.clinic_hours)
        if s.clinic_booking_url:
            ways.append(self.get("contact", "booking", booking_url=s.clinic_booking_url))
        if not ways:
            sentence = self.get("contact", "none", clinic=s.clinic_name)
        else:
            joined = ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + " or " + ways[-1]
            sentence = f"{self.get('contact', 'lead', clinic=s.clinic_name)} {joined}."
        if s.clinic_address:
            sentence += " " + self.get("contact", "address", address=s.clinic_address)
        return sentence


@lru_cache(maxsize=4)
def _load(path: Path) -> ReplyTexts:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the reply texts {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected sections of texts")
    sections: dict[str, dict[str, str]] = {}
    for section, keys in _REQUIRED.items():
        found = data.get(section)
        if not isinstance(found, dict):
            raise ValueError(f"{path}: the section '{section}' is missing")
        sections[section] = {}
        for key, allowed in keys.items():
            text = found.get(key)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{path}: '{section}.{key}' is missing or empty")
            unknown = _placeholders(text) - allowed
            if unknown:
                raise ValueError(
                    f"{path}: '{section}.{key}' uses {sorted(unknown)}; "
                    f"it may use {sorted(allowed) or 'no placeholder'}"
                )
            # Spaces tidied, line breaks kept (a reply's paragraphs and lists).
            lines = (" ".join(line.split()) for line in text.strip().splitlines())
            sections[section][key] = "\n".join(lines)
    return ReplyTexts(sections)


def safety_text(key: str) -> str:
    """One of the fixed safety texts (``concern``, ``results_vary``, ``see_provider``,
    ``error``, ``banner``) of ``data/replies.yaml``."""
    return ReplyTexts.load().get("safety", key)
