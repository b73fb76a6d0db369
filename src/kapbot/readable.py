"""What makes a quoted sentence readable on its own (pure).

The clinic's documents are articles: their sentences lean on each other ("These include
nausea..."), carry the source's footnote digits ("...and PTSD.3") and use abbreviations
the article spelled out paragraphs earlier. A quote shown to a patient must stand alone,
so the composer asks these questions of every sentence it quotes:

- :func:`strip_references`: the text without footnote digits and reference markers;
- :func:`opens_dangling`: whether a sentence opens on a word that points back ("It",
  "These", "However") and so needs the sentence before it, or its subject named;
- :func:`abbreviations` / :func:`expand_abbreviations`: the abbreviations a document
  spells out itself, spelled out on their first use in a reply;
- :func:`same_sentence`: whether two sentences say the same thing (never quoted twice);
- :func:`natural_heading`: an ALL-CAPS heading in ordinary case, to name a subject.

Example:
    >>> strip_references("It shows promise in anxiety and PTSD.3 It is new.")
    'It shows promise in anxiety and PTSD. It is new.'
    >>> opens_dangling("These include nausea."), opens_dangling("It is important to rest.")
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# A footnote number glued to the end of a sentence ("PTSD.3", "relief.1", "(2020).12"),
# superscript digits, and bracketed reference numbers ("[12]", "[3, 4]").
_GLUED_FOOTNOTE = re.compile(r"(?<=[A-Za-z)%”’\"])([.!?])\d{1,3}(?:[,–-]\d{1,3})*(?=\s|$)")
_SUPERSCRIPT = re.compile(r"[\u00b9\u00b2\u00b3\u2070-\u2079]+")
_BRACKET_REFERENCE = re.compile(r"\s?\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]")
# Words that point back to something said before them.
_DANGLING = re.compile(
    r"^[\"“‘*_(\s]*(?:it|its|it['’]s|this|these|that|those|they|they['’]re|their|them|"
    r"both|such|he|she|his|her|also|however|additionally|furthermore|moreover|instead|"
    r"otherwise|therefore|thus|hence|similarly|likewise|nonetheless|nevertheless|still|yet|"
    r"then|finally|in addition|as a result|in other words|that said|even so|"
    r"because of this|for this reason|on the other hand|in contrast|by contrast|"
    r"on the contrary|conversely|meanwhile|whereas|(?:each|all|some|many|most|none|"
    r"one|either|neither) of (?:these|them|those)|the latter|the former|the two|another|"
    r"the same)\b"
    # "In a therapy setting, this allows...": a short opening phrase, then a pointer.
    r"|^[\"“‘*_(\s]*(?:in|on|at|for|with|by|during|after|before|from|as|because of)\s"
    r"[^,.;:]{1,40},\s*(?:this|these|that|those|it|they|such)\b",
    re.IGNORECASE,
)
# "It is important to ...": "it" points forward, not back.
_EXPLETIVE = re.compile(
    r"^[\"“‘*_(\s]*it(?: is|['’]s| can be| may be| will be| was)(?: (?:also|not|very|"
    r"especially|often|always|usually))? (?:important|critical|crucial|essential|vital|"
    r"necessary|possible|impossible|common|uncommon|normal|natural|helpful|recommended|"
    r"best|better|worth|likely|unlikely|unclear|difficult|hard|easy|wise|advisable|"
    r"legal|safe|true)\b[^.?!]*?\b(?:to|that|for|whether|if)\b",
    re.IGNORECASE,
)
# "intravenous (IV)": an abbreviation the text spells out in brackets after the words.
_SPELLED_OUT = re.compile(r"((?:[\w’'-]+[ ]+){1,8}?)\(([A-Z][A-Za-z]{1,7}?)(s?)\)")
_SMALL_WORDS = frozenset("a an and as at by for from in into of on or the to vs vs. with".split())
_WORD = re.compile(r"[a-z0-9]+")


def strip_references(text: str) -> str:
    """``text`` without footnote digits glued to sentence ends, superscript digits and
    bracketed reference numbers: page furniture of the source, not its words."""
    text = _GLUED_FOOTNOTE.sub(r"\1", text)
    text = _SUPERSCRIPT.sub("", text)
    return _BRACKET_REFERENCE.sub("", text)


def opens_dangling(sentence: str) -> bool:
    """Whether ``sentence`` opens on a word that points back to an earlier sentence, so
    that alone it does not say what it is about ("These include...", "It is FDA-approved",
    "However, ..."). "It is important to..." points forward and is fine.

    Example:
        >>> opens_dangling("However, the ketamine itself is often not covered.")
        True
        >>> opens_dangling("Ketamine is a Schedule III controlled substance.")
        False
    """
    text = sentence.lstrip("-*•· \t")
    return bool(_DANGLING.match(text)) and not _EXPLETIVE.match(text)


def _initials_match(words: list[str], letters: str) -> bool:
    """Whether the initials of ``words`` (small words skipped) spell ``letters``, or,
    for one word, the letters appear in it in order from its first ("intramuscular"
    for IM)."""
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    letters = letters.lower()
    if not content:
        return False
    initials = "".join(w[0].lower() for w in content)
    if initials == letters:
        return True
    # Hyphenated words give an initial for each part ("Brain-Derived" -> "bd").
    parts = "".join(p[0].lower() for w in content for p in re.split(r"[-’']", w) if p)
    if parts == letters:
        return True
    if len(content) == 1 and content[0][0].lower() == letters[0]:
        rest = iter(content[0].lower()[1:])
        return all(ch in rest for ch in letters[1:])
    return False


def abbreviations(text: str) -> dict[str, str]:
    """The abbreviations ``text`` spells out itself, as ``{abbreviation: words}``:
    "Risk Evaluation and Mitigation Strategy (REMS)" gives ``{"REMS": "Risk Evaluation
    and Mitigation Strategy"}``. Headings written in capitals are not taken as the
    spelled-out form; the first spelling in the text wins.

    Example:
        >>> abbreviations("It is a Risk Evaluation and Mitigation Strategy (REMS) program.")
        {'REMS': 'Risk Evaluation and Mitigation Strategy'}
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        for match in _SPELLED_OUT.finditer(line):
            abbreviation, words = match.group(2), match.group(1).split()
            if not abbreviation[0].isupper() or sum(c.isupper() for c in abbreviation) < 2:
                continue
            for size in range(1, min(len(words), 8) + 1):
                candidate = words[-size:]
                if _initials_match(candidate, abbreviation):
                    spelled = " ".join(candidate).strip("“”\"'‘’,;:")
                    if spelled.isupper() or abbreviation in found:
                        break
                    if (
                        spelled[1:] == spelled[1:].lower()
                    ):  # "Ketamine-assisted ..." opened a sentence
                        spelled = spelled[0].lower() + spelled[1:]
                    found[abbreviation] = spelled
                    break
    return found


def expand_abbreviations(text: str, spelled: Mapping[str, str]) -> str:
    """``text`` with the first use of each abbreviation of ``spelled`` that it does not
    already spell out followed by its words in square brackets, the way an editor marks
    words added to a quote ("REMS \\[Risk Evaluation and Mitigation Strategy\\]"; the
    brackets are escaped for Markdown)."""
    for abbreviation, words in spelled.items():
        if words.lower() in text.lower():
            continue
        pattern = re.compile(rf"\b{re.escape(abbreviation)}(s?)\b(?!\s*[(\\\[])")
        text = pattern.sub(f"\\g<0> \\\\[{_escape_template(words)}\\\\]", text, count=1)
    return text


def _escape_template(text: str) -> str:
    """Text used literally in a ``re.sub`` replacement template."""
    return text.replace("\\", "\\\\")


def content_words(text: str) -> set[str]:
    """Lower-case words of three letters or more (what two sentences share)."""
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def same_sentence(first: str, second: str, overlap: float = 0.8) -> bool:
    """Whether two sentences say the same thing: one's words are (almost) all the
    other's. The same definition written twice by two articles is quoted once.

    Example:
        >>> same_sentence("KAP pairs ketamine with psychotherapy.",
        ...               "KAP pairs ketamine with structured psychotherapy sessions.")
        True
    """
    a, b = content_words(first), content_words(second)
    if min(len(a), len(b)) < 4:  # short: the same only with the same words
        return a == b if a else first.strip().lower() == second.strip().lower()
    return len(a & b) / min(len(a), len(b)) >= overlap


def natural_heading(heading: str, acronyms: Iterable[str] = ()) -> str:
    """A heading as a subject in running text: an ALL-CAPS heading in title case
    (its acronyms kept), anything else as written, without a trailing colon.

    Example:
        >>> natural_heading("WHAT IS INFUSION-BASED KETAMINE THERAPY?")
        'What Is Infusion-Based Ketamine Therapy?'
        >>> natural_heading("KEY DIFFERENCES: KAP VS. INFUSIONS", {"KAP"})
        'Key Differences: KAP vs. Infusions'
    """
    text = " ".join(heading.split()).rstrip(":")
    letters = [c for c in text if c.isalpha()]
    if not letters or not all(c.isupper() for c in letters):
        return text
    keep = set(acronyms)
    words = []
    for i, word in enumerate(text.split(" ")):
        bare = word.strip("():,?.!")
        if bare in keep:
            words.append(word)
        elif i and word.lower() in _SMALL_WORDS:
            words.append(word.lower())
        else:
            words.append("-".join(p[:1].upper() + p[1:].lower() for p in word.split("-")))
    return " ".join(words)


_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,5}(?=s?\b)")


def acronyms(texts: Iterable[str]) -> set[str]:
    """The words the documents write in capitals inside ordinary sentences (KAP, IV,
    FDA), which stay in capitals when a heading written all in capitals is shown in
    ordinary case.

    Example:
        >>> sorted(acronyms(["KAP and IV differ.", "## WHAT IS IT?"]))
        ['IV', 'KAP']
    """
    found: set[str] = set()
    for text in texts:
        for line in text.splitlines():
            letters = [c for c in line if c.isalpha()]
            if letters and all(c.isupper() for c in letters):
                continue  # a heading in capitals says nothing about its words
            found.update(_ACRONYM.findall(line))
    return found
