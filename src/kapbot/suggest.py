"""Questions to suggest when kapbot cannot answer: the ones the documents do answer that
are nearest to what was asked (pure: records and similarities in, texts out).

A decline that ends the conversation is a dead end. After "our materials don't cover
that", a patient gets up to three questions the clinic's documents answer, nearest to
what they asked: the documents' own FAQ headings first ("Is KAP covered by
insurance?"), then the curated questions of their front matter, written as questions.
A question about one provider's own practice ("Do I need a referral to be seen at
Cohen & Associates?") is never suggested: it is not the clinic's.

Example:
    >>> heading = Document(id="p", page_content="## Is KAP legal?\\n\\nIt is.",
    ...                    metadata={"section": "Is KAP legal?"})
    >>> suggestions([(heading, 0.6)], [], publishers={"Cohen & Associates"})
    ['Is KAP legal?']
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from langchain_core.documents import Document

from kapbot.readable import natural_heading, same_sentence

MAX_SUGGESTIONS = 3
# A suggestion must be a real question a patient could send as it is.
_QUESTION_WORDS = re.compile(
    r"^(what|how|is|are|can|could|do|does|will|would|should|who|when|where|which|why)\b",
    re.IGNORECASE,
)


def as_question(text: str) -> str:
    """A curated question as a patient would read it: capitalised, "i" as "I", one
    question mark at the end.

    Example:
        >>> as_question("can i take my antidepressants with kap")
        'Can I take my antidepressants with kap?'
    """
    text = " ".join(text.split()).rstrip(" ?.!")
    text = re.sub(r"\bi\b", "I", text)
    return text[:1].upper() + text[1:] + "?" if text else ""


def suggestions(
    headings: Sequence[tuple[Document, float]],
    questions: Sequence[tuple[Document, float]],
    *,
    publishers: Collection[str] = (),
    acronyms: Collection[str] = (),
    limit: int = MAX_SUGGESTIONS,
) -> list[str]:
    """Up to ``limit`` questions to suggest, nearest first.

    Args:
        headings: Passages near the message, with their similarity: the ones under a
            heading that is a question are candidates.
        questions: Curated question records near the message, with their similarity.
        publishers: Names of the documents' publishers: a question naming one is about
            that provider's own practice and is left out.
        acronyms: Words kept in capitals when a heading is written in capitals.
        limit: How many at most.
    """
    names = [p.lower() for p in publishers if p]
    picked: list[str] = []
    parents: set[str] = set()

    def offer(text: str, parent: str) -> None:
        if len(picked) >= limit or not text or parent in parents:
            return
        if any(name in text.lower() for name in names) or not _QUESTION_WORDS.match(text):
            return
        if any(same_sentence(text, other) for other in picked):
            return
        picked.append(text)
        parents.add(parent)

    for doc, _ in sorted(headings, key=lambda hit: -hit[1]):
        section = str(doc.metadata.get("section", ""))
        if section.rstrip().endswith("?"):
            offer(natural_heading(section, acronyms), doc.id or section)
    for doc, _ in sorted(questions, key=lambda hit: -hit[1]):
        text = as_question(doc.page_content)
        # One question per line of thought: "isnt it just X? why Y" is not one question.
        if text.count("?") == 1:
            offer(text, str(doc.metadata.get("parent", "")) or text)
    return picked


def suggestion_block(lead: str, offered: Sequence[str]) -> str:
    """The suggested questions as a reply's last paragraph: the lead-in, then one per
    line (the web chat shows them as buttons instead).

    Example:
        >>> print(suggestion_block("You could ask:", ["Is KAP legal?"]))
        You could ask:
        - Is KAP legal?
    """
    return "\n".join([lead, *(f"- {q}" for q in offered)])
