"""Making a follow-up question standalone before retrieval.

"and what does that cost?" means nothing to a retriever on its own. Without an LLM,
:func:`standalone_query` detects a message that leans on earlier turns (pronouns such as
"it"/"that", openings such as "and"/"what about", or too few words of its own) and
appends the topic words of the conversation: the patient's recent questions and the
names the assistant's last answer used. With a chat model configured,
:class:`LLMCondenser` asks it to rewrite the question and falls back to the rules on
any failure.

Example:
    >>> standalone_query("and what does that cost?",
    ...                  [{"role": "user", "content": "What is Spravato?"}])
    'and what does that cost? (Spravato)'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kapbot.keyword import STOPWORDS

log = logging.getLogger(__name__)

Turn = Mapping[str, str]

_WORD = re.compile(r"[A-Za-z][A-Za-z'’®-]*")
_ANAPHORA = frozenset(
    "it its it's itself that this those these they them their theirs there one ones same "
    "he she him her former latter".split()
)
_OPENINGS = (
    "and ",
    "but ",
    "also ",
    "so ",
    "or ",
    "then ",
    "what about",
    "how about",
    "and what",
    "what else",
    "why",
    "how come",
    "compared",
)
# Words of a question that are not its topic ("what", "tell", "looking").
_FILLER = frozenset(
    """a about after again all also am an and any are as at be been before being but by can
    could did do does doing for from get got had has have how i if in into is it just kind
    know like me more most my need no not of on or other our out over really say should so
    some still tell than thanks thank that the them then there these they thing things this
    those to too very want was way we well were what when where which while who why will
    with would you your yes ok okay please happens happen looking look wondering curious
    hear heard hi hello hey difference different differences compare comparison
    between versus vs""".split()
)
# Words that, alone, do not say what a question is about ("is it safe?", "side effects?").
_GENERIC = _FILLER | frozenset(
    """long many much one type types cost costs price pay paying expensive cheap safe safety risk risks side effects effect
    work works working help helps covered cover insurance long take takes last lasts
    session sessions often much many teenagers teens kids children old age people patients
    ptsd anxiety depression better worse different difference same compare""".split()
)
_MARKER = re.compile(r"\[\d+\]")
_CONTEXT = re.compile(r" \([^()]+\)$")
# "and the nasal spray one?", "what about KAP?": a follow-up that opens like this and
# names a form of treatment asks the earlier question again about that form.
_CONTRAST = ("and ", "what about", "how about", "but what about", "also what about")
# Words that name a form of ketamine treatment (not "ketamine" itself, which all share,
# nor "psychotherapy": "and what about the psychotherapy part?" asks about KAP still).
_TREATMENT_WORDS = frozenset(
    """kap ketamine-assisted iv infusion infusions drip spravato esketamine
    nasal spray intranasal at-home home sublingual lozenge lozenges troche troches oral
    intramuscular im injection injections""".split()
)


# Words that already name the clinic's subject.
_SUBJECT_WORDS = frozenset("ketamine esketamine spravato kap ketamina".split())


def _words(text: str) -> list[str]:
    """Words without their contractions ("what's" -> "what")."""
    words = _WORD.findall(_MARKER.sub(" ", text))
    return [re.split(r"['’]", w)[0] for w in words if re.split(r"['’]", w)[0]]


def needs_context(question: str) -> bool:
    """Whether a message probably depends on earlier turns."""
    lowered = " ".join(question.lower().split())
    words = [w.lower().strip("'’") for w in _words(question)]
    if not words:
        return False
    if lowered.startswith(_OPENINGS):
        return True
    if any(w in _ANAPHORA for w in words):
        return True
    own_topic = [w for w in words if w not in _GENERIC and len(w) > 2]
    return len(own_topic) == 0


def _topic_words(text: str) -> list[str]:
    """Words of a turn that name its topic (not generic question words)."""
    out: list[str] = []
    for word in _words(text):
        lowered = word.lower().strip("'’").split("'")[0].split("’")[0]
        acronym = len(word) >= 2 and word.isupper()
        if lowered in _FILLER or lowered in _ANAPHORA or lowered in STOPWORDS:
            continue
        if len(lowered) < 3 and not acronym:
            continue
        if word not in out:
            out.append(word)
    return out


def _names(text: str) -> list[str]:
    """Proper names and acronyms in an answer (Spravato, KAP, IV, REMS)."""
    names: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", _MARKER.sub(" ", text)):
        for i, word in enumerate(_words(sentence)):
            bare = word.strip("'’®-")
            is_acronym = len(bare) >= 2 and bare.isupper()
            is_name = i > 0 and bare[:1].isupper() and bare[1:].islower() and len(bare) > 3
            if (is_acronym or is_name) and bare not in names:
                names.append(bare)
    return names[:6]


def _names_treatment(word: str) -> bool:
    return word.lower().strip("'’®-") in _TREATMENT_WORDS


def switches_treatment(question: str) -> bool:
    """Whether a follow-up asks the earlier question about another form of treatment
    ("and the nasal spray one?", "what about KAP, is that covered?"): the conversation's
    own treatment words would then pull the search back to the one it is leaving.

    Example:
        >>> switches_treatment("and what about with the spray version?")
        True
        >>> switches_treatment("can I take it at home?")  # "it": the same treatment
        False
    """
    lowered = " ".join(question.lower().split())
    return lowered.startswith(_CONTRAST) and any(_names_treatment(w) for w in _words(question))


_ORDINALS = {
    "first": 0, "1st": 0, "former": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2,
    "fourth": 3, "4th": 3, "fifth": 4, "5th": 4, "last": -1, "final": -1, "latter": -1,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\bthe\s+(?:(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last|final)\s+"
    r"(?:one|option|stage|step|kind|type|model|thing|part)s?|(former|latter))\b",
    re.IGNORECASE,
)
_LIST_LINE = re.compile(r"^\s*(?:>\s*)?[-*•]\s+(.+?)\s*(?:\[\d+\])?\s*$")
# "…: a pre-therapy assessment, preparation sessions, and post-ketamine integration."
_ENUMERATION = re.compile(r":\s*([^:.;]+?,[^:.;]+?)(?:\.|;|$)")
_SEPARATORS = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")
_LEADING_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)


def ordinal_item(question: str, answer: str) -> str | None:
    """What "the second one", "the last stage" or "the latter" in ``question`` points to
    in the list the last ``answer`` gave (its list lines, or an enumeration after a
    colon), or None.

    Example:
        >>> ordinal_item("is the second one covered?",
        ...              "Four options: KAP, at-home programs, IV infusions, and Spravato.")
        'at-home programs'
        >>> ordinal_item("what happens in the last one?", "- Preparation\\n- Integration [1]")
        'Integration'
    """
    match = _ORDINAL.search(question)
    if match is None:
        return None
    position = _ORDINALS[(match.group(1) or match.group(2)).lower()]
    items = [m.group(1) for line in answer.splitlines() if (m := _LIST_LINE.match(line))]
    if len(items) < 2:
        enumeration = _ENUMERATION.search(" ".join(answer.split()))
        if enumeration is None:
            return None
        items = [i.strip() for i in _SEPARATORS.split(enumeration.group(1)) if i.strip()]
    if len(items) < 2 or position >= len(items):
        return None
    # No brackets: the conversation's words are added in brackets (:func:`has_context`).
    item = " ".join(re.sub(r"[()\[\]]", " ", items[position]).split())
    return _LEADING_ARTICLE.sub("", item) or None


def standalone_query(question: str, history: Sequence[Turn] | None, turns: int = 6) -> str:
    """The question itself, or the question plus the conversation's topic words (less
    the conversation's treatment words when the question switches treatment). A question
    that points into the list the last answer gave ("is the second one covered?") is
    searched with that item's words."""
    if not history:
        return question
    recent = list(history)[-turns:]
    last = next((t for t in reversed(recent) if t.get("role") == "assistant"), None)
    item = ordinal_item(question, last.get("content", "")) if last is not None else None
    if item is not None:
        return f"{question} ({item})"
    if not needs_context(question):
        return question
    topic: list[str] = []
    # The patient's most recent questions, newest first, until one stands on its own.
    for turn in reversed(recent):
        if turn.get("role") != "user":
            continue
        words = _topic_words(turn.get("content", ""))
        topic = [w for w in words if w not in topic] + topic
        if not needs_context(turn.get("content", "")):
            break
    last_answer = next((t for t in reversed(recent) if t.get("role") == "assistant"), None)
    if last_answer is not None:
        lowered = {w.lower() for w in topic}
        topic += [n for n in _names(last_answer.get("content", "")) if n.lower() not in lowered]
    if switches_treatment(question):
        topic = [w for w in topic if not _names_treatment(w)]
        if not topic:
            # "what is KAP?" then "and the spray?": the earlier question had no words but
            # its treatment and its question words; those ask the same of the new one.
            asked = next((t for t in reversed(recent) if t.get("role") == "user"), None)
            words = _words(asked.get("content", "")) if asked is not None else []
            topic = [w for w in words if not _names_treatment(w)]
    if not topic:
        return question
    return f"{question} ({' '.join(topic)})"


# A question, not a remark ("ok thanks", "hello"): a question word first, or a "?".
_ASKS = re.compile(
    r"^\W*(?:(?:so|and|but|ok|okay|also|then|well)\W+)*(?:what|whats|how|is|isnt|are|"
    r"can|cant|could|do|does|did|will|would|should|shouldnt|who|when|where|which|why|"
    r"any|anything)\b",
    re.IGNORECASE,
)
_REMARKS = frozenset(
    "ok okay thanks thank you cool great nice hi hello hey bye yes no sure right got it".split()
)


def with_subject(question: str, subject: str) -> str:
    """A question that leans on a subject nobody named yet ("who shouldn't do this?",
    "how long does it last?", at the start of a conversation) read as being about the
    clinic's ``subject``, in the form :func:`standalone_query` gives a follow-up; any
    other message as it is. (The bot judges such a question's relevance this way: alone
    it is near nothing.)

    Example:
        >>> with_subject("who shouldn't do this?", "ketamine-assisted psychotherapy")
        "who shouldn't do this? (ketamine-assisted psychotherapy)"
        >>> with_subject("ok thanks", "ketamine-assisted psychotherapy")
        'ok thanks'
    """
    words = [w.lower().strip("'’") for w in _words(question)]
    own_topic = [w for w in words if w not in _GENERIC and len(w) > 2]
    # "is there a bus stop near you?": "there" points at nothing.
    pointing = any(w in _ANAPHORA and w != "there" for w in words)
    names_one = any(w in _TREATMENT_WORDS or w in _SUBJECT_WORDS for w in words)
    leans = (not own_topic or (pointing and len(own_topic) <= 2)) and not names_one
    if not subject.strip() or not words or not leans or all(w in _REMARKS for w in words):
        return question
    if not (_ASKS.match(question) or question.rstrip().endswith("?")):
        return question
    return f"{question} ({subject.strip()})"


def has_context(query: str) -> bool:
    """Whether a query carries the conversation's words (a :func:`standalone_query`
    result for a follow-up)."""
    return _CONTEXT.search(query) is not None


def split_context(query: str, question: str) -> tuple[str, str]:
    """``(question, the conversation's words)`` from a :func:`standalone_query` result;
    ``(query, "")`` for any other query (the question alone, or an LLM's rewrite)."""
    head = f"{question} ("
    if query.startswith(head) and query.endswith(")") and len(query) > len(head) + 1:
        return question, query[len(head) : -1]
    return query, ""


class LLMCondenser:
    """Rewrites a follow-up with a chat model; the rules are the fallback."""

    _PROMPT = (
        "Rewrite the patient's last message as one standalone question that can be "
        "understood without the conversation. Keep the patient's meaning; do not answer "
        "it. Reply with the question only.\n\nConversation:\n{history}\n\nLast message: {question}"
    )

    def __init__(self, model: Any, turns: int = 6) -> None:
        self.model = model
        self.turns = turns

    def __call__(self, question: str, history: Sequence[Turn] | None) -> str:
        if not history or not needs_context(question):
            return question
        lines = "\n".join(
            f"{t.get('role', 'user')}: {t.get('content', '')}" for t in list(history)[-self.turns :]
        )
        try:
            result = self.model.invoke(self._PROMPT.format(history=lines, question=question))
            text = " ".join(str(getattr(result, "content", result)).split())
        except Exception as exc:  # any model failure: the rules still work
            log.warning("follow-up rewriting by the chat model failed: %s", exc)
            text = ""
        if not text or len(text) > 500:
            return standalone_query(question, history, self.turns)
        return text
