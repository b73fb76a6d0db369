"""The crisis check's reading of a message (pure): case, accents, apostrophes, leetspeak
("k1ll"), texting shorthand ("wanna", "rn"), spaced-out letters ("k i l l"), squeezed
repeated letters ("diiie"), typos of the few words a crisis turns on ("sucidal"), and the
other words for pills, named medicines included, read as "pills". Clauses are normalised
apart and joined by a mark a negation does not cross.

Example:
    >>> normalise("I wanna k1ll myslef rn")
    'i want to kil myself right now'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# Texting shorthand, token by token ("i want 2 die", "gonna", "rn").
_SHORTHAND = {
    "2": "to",
    "4": "for",
    "u": "you",
    "ur": "your",
    "r": "are",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "tryna": "trying to",
    "rn": "right now",
    "tn": "tonight",
    "tonite": "tonight",
    "2nite": "tonight",
    "tmrw": "tomorrow",
    "feelin": "feeling",
    "thinkin": "thinking",
    "goin": "going",
    "dye": "die",
    "ded": "dead",
    "pils": "pills",
    # Every lexicon phrase about pills covers the other words for them ("take all my meds").
    "meds": "pills",
    "medication": "pills",
    "medications": "pills",
    "medicine": "pills",
    "medicines": "pills",
    "tablets": "pills",
    "antidepressants": "pills",
    "painkillers": "pills",
    "kiero": "quiero",
    "q": "que",
    "xq": "porque",
    "sewerslide": "sewer slide",
}
# Medicines people name instead ("just took all my lithium"): read as pills too.
_SHORTHAND |= {
    name: "pills"
    for name in """lithium trazodone seroquel quetiapine xanax alprazolam klonopin clonazepam
    ativan lorazepam valium diazepam tylenol acetaminophen paracetamol advil ibuprofen motrin
    aspirin oxy oxys oxycodone oxycontin percocet percs vicodin hydrocodone fentanyl tramadol
    morphine benadryl ambien zolpidem lexapro escitalopram zoloft sertraline prozac fluoxetine
    wellbutrin bupropion effexor venlafaxine cymbalta duloxetine gabapentin lamictal
    lamotrigine adderall abilify aripiprazole zyprexa olanzapine nyquil melatonin
    amitriptyline nortriptyline mirtazapine remeron propranolol hydroxyzine""".split()
}
# Words a crisis turns on, recognised through typos ("sucidal", "suicidle", "overdoes").
_KEYWORDS = (
    "suicide",
    "suicidal",
    "overdose",
    "overdosed",
    "overdosing",
    "unalive",
    "lethal",
    "myself",
)
# Clauses are normalised apart and joined by a mark, so that a negation in one ("ya no
# aguanto más, quiero morir"; "I don't care anymore, I want to die") never negates a
# phrase in the next.
_CLAUSE = re.compile(r"\s*[,:;\u2013\u2014]\s*|\s+-\s+|(?<!\d)[.!?]+(?!\d)\s*")
CLAUSE_MARK = "__"


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, given up once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        if min(row) > limit:
            return limit + 1
    return row[-1]


@lru_cache(maxsize=4096)
def _correct(token: str) -> str:
    """A misspelled crisis keyword ("sucidal") as the keyword; other tokens unchanged."""
    if len(token) < 6 or token in _KEYWORDS:
        return token
    best, distance = token, 3
    for keyword in _KEYWORDS:
        d = _edits(token, keyword, 2)
        if d < distance:
            best, distance = keyword, d
    return best


# Words that squeezing would turn into an everyday word of this field keep a form of their
# own: "noose" would be "nose", and Spravato is a nose spray.
_DISTINCT = {"noose": "nooze", "nooses": "noozes"}
_DISTINCT_WORDS = re.compile(r"\b(" + "|".join(_DISTINCT) + r")\b")


def normalise(text: str) -> str:
    """Lower case, no accents or apostrophes, leetspeak and texting shorthand undone,
    spaced-out letters joined ("k i l l"), repeated letters squeezed, keyword typos fixed."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['’‘`´]", "", text)
    # Leetspeak only inside words that also have letters ("k1ll", not "1234").
    text = re.sub(r"\b[\w@$]*[a-z][\w@$]*\b", lambda m: m.group(0).translate(_LEET), text)
    # "k i l l" / "k.i.l.l" -> "kill" (three or more single letters in a row).
    text = re.sub(
        r"\b[a-z](?:[ .\-_*][a-z]\b){2,}", lambda m: re.sub(r"[^a-z]", "", m.group(0)), text
    )
    text = re.sub(_DISTINCT_WORDS, lambda m: _DISTINCT[m.group(1)], text)
    text = squeeze(text)
    text = re.sub(r"\bmy self\b", "myself", text)
    tokens = re.sub(r"[^\w\s-]", " ", text).split()
    words = [_SQUEEZED_SHORTHAND.get(t, t) for t in tokens]
    return " ".join(_correct(w) if w.isalpha() else w for w in words)


def normalise_clauses(text: str) -> str:
    """:func:`normalise` clause by clause, the clauses joined by ``CLAUSE_MARK``."""
    parts = (normalise(clause) for clause in _CLAUSE.split(text))
    return f" {CLAUSE_MARK} ".join(part for part in parts if part)


def word_count(text: str) -> int:
    return sum(token != CLAUSE_MARK for token in text.split())


def squeeze(text: str) -> str:
    return re.sub(r"([a-z])\1+", r"\1", text)


_SQUEEZED_SHORTHAND = {squeeze(k): squeeze(v) for k, v in _SHORTHAND.items()}


def normalise_pattern(pattern: str) -> str:
    """An idiom regex in the normalised alphabet (literal letters squeezed, no apostrophes)."""
    return re.sub(r"([a-z])\1+", r"\1", pattern.lower().replace("'", ""))
