"""What a patient's question asks for (pure): a yes or no, a list, a comparison; which
form of treatment it is about.

The composer uses this to put the answer first: a yes/no question gets the sentence
that settles it before anything else, a question that asks for a list gets the whole
list with its introduction, and a quote about one form of treatment is never shown
under a question about another.

Example:
    >>> asked = read_question("Is IV ketamine addictive?")
    >>> asked.yes_no, asked.wants_list, sorted(asked.treatments)
    (True, False, ['iv'])
    >>> read_question("what are the side effects?").wants_list
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Forms of ketamine treatment and the words that name them (not "ketamine" itself,
# which all of them share).
TREATMENTS: dict[str, re.Pattern[str]] = {
    "kap": re.compile(
        r"\b(kap|ketamine[- ]assisted|psychotherapy[- ]integrated|integrated psychotherapy)\b",
        re.IGNORECASE,
    ),
    "at_home": re.compile(
        r"\b(at[- ]home|home[- ]based|in your home|from home|lozenges?|troches?|"
        r"microdos\w*|mindbloom|telehealth)\b",
        re.IGNORECASE,
    ),
    "iv": re.compile(r"\b(iv|intravenous\w*|infusions?|drips?)\b", re.IGNORECASE),
    "spravato": re.compile(
        r"\b(spravato|esketamine|nasal spray|intranasal|spray)\b", re.IGNORECASE
    ),
}
_YES_NO = re.compile(
    r"^(?:(?:so|and|but|ok|okay|also|then|hi|hey|hello|well|um|uh|sorry|quick question)"
    r"[,.!]?\s+)*"
    r"(?:is|isn'?t|are|aren'?t|am|was|were|can|cant|can'?t|could|do|does|doesn'?t|dont|"
    r"don'?t|did|will|won'?t|would|wouldn'?t|should|shouldn'?t|shall|has|have|had|may|might|"
    r"must|es|puedo|hay|tiene)\b",
    re.IGNORECASE,
)
# "Is it IV or oral?" asks which, not whether.
_CHOICE = re.compile(r"\bor\b(?!\s+(?:not|no|anything|something|so)\b)", re.IGNORECASE)
_LIST = re.compile(
    r"\b(side[- ]?effects?|risks?|dangers?|downsides?|symptoms?|steps?|stages?|phases?|"
    r"types?|kinds?|options?|benefits?|pros|cons|conditions|disorders|requirements?|"
    r"contraindications?|what happens|what to expect|who (?:should|shouldn'?t|can'?t|"
    r"cannot|can not|is not|isn'?t|may not|must not)|who (?:is|are) (?:a )?(?:good )?"
    r"(?:fit|candidates?)|list|examples?|what (?:are|were) the|which (?:ones|treatments|"
    r"conditions|people))\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"\b(vs\.?|versus|compared?|comparison|differ\w*|better|worse|instead of|same as|"
    r"faster|slower|cheaper|longer|safer)\b",
    re.IGNORECASE,
)


# How to reach the clinic: its phone, e-mail, address, hours or booking.
_CONTACT = re.compile(
    r"\b(?:phone number|(?:your|the clinic['’]?s|the office['’]?s|office) phone|phone hours|"
    r"number to call|call (?:you|the clinic|your office|the office)|"
    r"contact (?:you|the clinic|your (?:office|clinic|team))|e-?mail address|"
    r"(?:book|schedule|make)(?:ing)? (?:a|an|my|the)? ?(?:appointment|consultation|"
    r"evaluation|visit|intake)|your (?:address|location|office hours|opening hours|hours)|"
    r"where are you(?: located| based)?|opening hours|office hours|are you open|"
    r"when (?:are|is) (?:you|the clinic|your office) open|cancel\w*|reschedul\w*|"
    r"(?:change|move) (?:my|an|the) (?:appointment|session|visit))\b",
    re.IGNORECASE,
)


# The clinic's own practice: what it costs, insurance, paying, referrals.
_PRACTICAL = re.compile(
    r"\b(?:cost\w*|price\w*|pricing|pay|paying|paid|payment\w*|afford\w*|expensive|cheap\w*|"
    r"fees?|charge\w*|out of pocket|insur\w*|covered|coverage|reimburs\w*|referr?al\w*|"
    r"refer(?:red)?|hsa|fsa|medicare|medicaid)\b",
    re.IGNORECASE,
)


def asks_practical(question: str) -> bool:
    """Whether a question is about the clinic's own practice (cost, insurance, paying,
    referrals), which the articles describe only in general or at other providers.

    Example:
        >>> asks_practical("does insurance cover it?"), asks_practical("is it safe?")
        (True, False)
    """
    return bool(_PRACTICAL.search(question))


def asks_contact(question: str) -> bool:
    """Whether a question asks how to reach the clinic (phone, e-mail, address, hours,
    booking): the documents are other providers' articles, so the answer is the
    clinic's own contact from settings.

    Example:
        >>> asks_contact("what's your phone number?"), asks_contact("what happens at my first visit?")
        (True, False)
    """
    return bool(_CONTACT.search(question))


@dataclass(frozen=True)
class Asked:
    """What a question asks for.

    Attributes:
        yes_no: It asks whether something is so ("is it legal?", "can I do it at home?").
        wants_list: It asks for several things ("side effects", "who shouldn't...",
            "what happens in a session").
        comparison: It compares ("vs", "different from", "better than").
        treatments: The forms of treatment it names (``TREATMENTS`` keys).
    """

    yes_no: bool = False
    wants_list: bool = False
    comparison: bool = False
    treatments: frozenset[str] = frozenset()


def treatments_in(text: str) -> frozenset[str]:
    """The forms of treatment a text names (``TREATMENTS`` keys).

    Example:
        >>> sorted(treatments_in("How KAP differs from a ketamine infusion clinic"))
        ['iv', 'kap']
    """
    return frozenset(name for name, pattern in TREATMENTS.items() if pattern.search(text))


def read_question(question: str) -> Asked:
    """Read what ``question`` asks for (see :class:`Asked`)."""
    text = " ".join(question.split())
    first = re.split(r"(?<=[?])\s+", text, maxsplit=1)[0]
    yes_no = bool(_YES_NO.match(first)) and not _CHOICE.search(first)
    return Asked(
        yes_no=yes_no,
        wants_list=bool(_LIST.search(text)),
        comparison=bool(_COMPARISON.search(text))
        or (" or " in f" {text.lower()} " and len(treatments_in(text)) > 1),
        treatments=treatments_in(text),
    )
