"""Typed records passed between kapbot's parts and shown to people."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaqQuestion:
    """A question patients ask, and the verbatim quote of the document that answers it."""

    question: str
    quote: str


@dataclass(frozen=True)
class FileError:
    """A file that could not be ingested, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestReport:
    """What one ingest (or removal) did.

    Document counts: ``added`` (new sources), ``updated`` (changed), ``skipped``
    (unchanged) and ``deleted`` (removed or pruned) list source ids. Chunk counts come
    from LangChain's ``index()``.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    errors: list[FileError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (
            f"Documents: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.skipped)} skipped, {len(self.deleted)} deleted, "
            f"{len(self.errors)} failed. "
            f"Chunks: {self.chunks_added} added, {self.chunks_skipped} skipped, "
            f"{self.chunks_deleted} deleted."
        )


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document, as ``kapbot sources`` lists it."""

    source: str
    title: str
    chunks: int
    added: str
    updated: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: the clinic's text and where it comes from.

    ``score`` is the final ranking score (higher is better; the fused score, 0 to the sum of the
    fusion weights with the default relative score fusion);
    ``similarity`` is the cosine similarity of the passage to the query (the relevance
    signal abstention uses); ``matched`` holds the passage's sentences (and pairs of
    neighbouring sentences) that the sentence search found, with their cosine similarity
    to the query, best first. ``owner`` says whose words they are: ``clinic`` or
    ``third_party`` (another provider's article, quoted with its publisher's name);
    ``section_path`` is the chain of headings above the passage ("IV Ketamine Infusions >
    Cost Considerations").
    """

    id: str
    text: str
    source: str
    score: float
    title: str = ""
    section: str = ""
    url: str = ""
    publisher: str = ""
    similarity: float = 0.0
    matched: tuple[tuple[str, float], ...] = ()
    owner: str = "third_party"
    section_path: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "source": self.source, "score": round(self.score, 6)}


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: ``[n]`` in the text points here."""

    n: int
    title: str
    source: str
    url: str
    text: str
    publisher: str = ""
    section: str = ""
    owner: str = "third_party"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"citation numbers start at 1, got {self.n}")

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "text": self.text,
            "publisher": self.publisher,
            "owner": self.owner,
            "section": self.section,
        }


REPLY_KINDS = ("answer", "abstain", "crisis", "acknowledgement", "invalid")


@dataclass(frozen=True)
class Reply:
    """What kapbot says to one message.

    Attributes:
        kind: ``"answer"``, ``"abstain"``, ``"crisis"``, ``"acknowledgement"`` (the short
            reply to "ok thanks" after a crisis reply) or ``"invalid"``.
        text: Markdown shown to the patient.
        citations: Numbered sources; ``[n]`` markers in ``text`` point at them.
        passages: Retrieved passages, best first.
        query: The standalone query retrieval used (after follow-up rewriting).
        notices: Short notes about the input (e.g. it was truncated).
        safety_rule: Which crisis-check rule or score decided (for review and logs).
        decline: Why an ``abstain`` reply declined: ``not_covered`` (no passage relevant
            enough), ``other_treatment`` (about a treatment the materials don't cover) or
            ``task`` (a request to write something, play a role or drop the
            instructions: not a content gap) or ``contact`` (how to reach the clinic:
            its contact from settings, not a content gap). Empty for other kinds.
        suggestions: Questions the documents do answer, nearest to what was asked,
            offered with a decline (the text ends with them too; the web chat shows them
            as buttons that send them).
    """

    kind: str
    text: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    query: str = ""
    notices: tuple[str, ...] = ()
    safety_rule: str = ""
    decline: str = ""
    suggestions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in REPLY_KINDS:
            raise ValueError(
                f"Unknown reply kind {self.kind!r}. Supported kinds are: {REPLY_KINDS}"
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "suggestions": list(self.suggestions),
        }
