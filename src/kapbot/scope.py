"""Questions about a treatment other than the clinic's own (pure).

"How much does MDMA-assisted therapy cost?" is close to the corpus as a whole (the
passages on what ketamine-assisted therapy costs), so similarity alone lets it through,
and the answer would quote ketamine's prices for a question about MDMA. kapbot declines
a question that names another treatment (a psychedelic other than ketamine, or a brain
stimulation treatment) and not the clinic's own, unless a retrieved passage speaks of
that treatment. A question that names both ("is ketamine faster than ECT?") is about the
clinic's treatment and goes through as usual, and so does one that names it as the
patient's own history ("I've done ECT, am I still a candidate?").

The list is of treatments, not of medicines: a question about the patient's own
medicines ("can I take my Xanax before a session?") is about ketamine treatment, and gets
its answer with the pointer to the prescriber (see :mod:`kapbot.guardrails`).

Example:
    >>> other_treatment("How much does MDMA-assisted therapy cost?")
    'MDMA'
    >>> other_treatment("Is ketamine faster than ECT?") is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# (name shown to the patient, how patients write it, in English and Spanish). Acronyms that are also everyday
# words or typos ("ect" for "etc") match in capitals only.
_OTHER: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "psilocybin",
            r"(?i:\bpsilo(?:cyb|cib|syb)in[ae]?\b|\bmagic mushrooms?\b|\bshrooms\b|\bhongos m[aá]gicos\b)",
        ),
        ("MDMA", r"(?i:\bmdma\b|\becstasy\b|\b[eé]xtasis\b)"),
        ("LSD", r"(?i:\blsd\b)"),
        ("ayahuasca", r"(?i:\bayahuasca\b)"),
        ("DMT", r"(?i:\b(5-meo-)?dmt\b)"),
        ("ibogaine", r"(?i:\biboga(ine)?\b)"),
        ("mescaline", r"(?i:\bmescaline\b|\bpeyote\b)"),
        ("TMS", r"(?i:\btms\b|\btranscranial magnetic|\bestimulaci[oó]n magn[eé]tica)"),
        (
            "ECT",
            r"\bECT\b|(?i:\belectroconvulsiv|\belectroshock|\bshock therapy\b|\belectrochoque)",
        ),
        ("deep brain stimulation", r"(?i:\bdeep brain stimulation\b)|\bDBS\b"),
        ("vagus nerve stimulation", r"(?i:\bvagus nerve stimulation\b)|\bVNS\b"),
        ("stellate ganglion block", r"(?i:\bstellate ganglion\b)|\bSGB\b"),
    )
)
# The clinic's own treatment, in English and Spanish.
_OWN = re.compile(
    r"\b(ketamin\w*|esketamin\w*|spravato|kap|ketamine-assisted|infusions?)\b", re.IGNORECASE
)


# The patient's own history ("I did ECT years ago, am I still a candidate?"): the other
# treatment is background to a question about this one, not its subject.
_HISTORY = re.compile(
    r"\b(i|i'?ve|i'?d|i'?m|we|we'?ve)\b[^.?!;]{0,40}?\b(did|done|do|had|have had|tried|took|"
    r"taken|used|been on|been through|went through|gone through|received|underwent|"
    r"finished|started|am on|doing)\b",
    re.IGNORECASE,
)


def _named(question: str) -> tuple[str, re.Pattern[str]] | None:
    """The other treatment ``question`` is about and its pattern, or None: none named,
    ketamine named too, or named as the patient's own history."""
    if _OWN.search(question):
        return None
    for name, pattern in _OTHER:
        match = pattern.search(question)
        if match is None:
            continue
        sentence_start = max(question.rfind(end, 0, match.start()) for end in ".?!;")
        if _HISTORY.search(question[sentence_start + 1 : match.start()]):
            return None
        return name, pattern
    return None


def other_treatment(question: str) -> str | None:
    """The other treatment ``question`` is about, or None: none named, ketamine named too,
    or named as the patient's own history."""
    named = _named(question)
    return named[0] if named else None


def uncovered_treatment(question: str, passages: Iterable[str]) -> str | None:
    """The other treatment ``question`` is about when none of ``passages`` mentions it.

    Args:
        question: What the patient typed (not the rewritten query: earlier turns may
            name ketamine when this message asks about something else).
        passages: The texts retrieved for it.
    """
    named = _named(question)
    if named is None:
        return None
    name, pattern = named
    return None if any(pattern.search(text) for text in passages) else name


def scope_pattern(words: str) -> re.Pattern[str] | None:
    """A pattern for the clinic's own subject from comma-separated ``words``, or None
    for none. Each word matches as a whole word, in any case ("ketamine" in
    "ketamine-assisted" and "ketamine's", not "KAP" in "Kaplan").

    Example:
        >>> bool(scope_pattern("ketamine, KAP").search("Ketamine-assisted therapy"))
        True
        >>> scope_pattern(" , ") is None
        True
    """
    names = [re.escape(w.strip()) for w in words.split(",") if w.strip()]
    if not names:
        return None
    return re.compile(r"\b(?:" + "|".join(names) + r")\b", re.IGNORECASE)


def sources_in_scope(passages: Iterable[tuple[str, str]], pattern: re.Pattern[str]) -> set[str]:
    """The documents, of ``(source, text)`` passages, any passage of which names the
    clinic's subject: the rest are about something else (another service's FAQ)."""
    return {source for source, text in passages if pattern.search(text)}
