"""One settings object, built from ``KAPBOT_*`` environment variables.

Every default works offline on a fresh clone. Every path kapbot writes lives under
``home`` (``KAPBOT_HOME``), so tests and deployments move all state with one variable.

Example:
    >>> settings = Settings.from_env({"KAPBOT_HOME": "/tmp/kb"})
    >>> settings.chroma_dir
    PosixPath('/tmp/kb/chroma')
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def _project_root() -> Path:
    """The checkout kapbot runs from (editable install), else the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "kapbot").is_dir():
            return parent
    return Path.cwd()


PROJECT_ROOT = _project_root()
FUSIONS = ("relative_score", "rrf")


@dataclass(frozen=True)
class Settings:
    """Configuration for every kapbot component.

    Attributes:
        home: Folder for all state (Chroma store, record manager, keyword index).
        corpus_dir: The folder of clinic documents; the one source of truth.
        chroma_url: ``http://host:port`` of a Chroma server; ``None`` for the embedded store.
        collection: Chroma collection name.
        chunk_max_chars: Upper bound for a chunk; a longer single sentence stays whole.
        chunk_min_chars: Chunks shorter than this are merged with a neighbour in the section.
        adapt: Fit a copy of the embedding model to the documents, as the passage
            encoder, on the first build of an index (see :mod:`kapbot.adaptation`), or,
            for an index built with the packaged model, in the background of `kapbot
            serve`; off means the packaged model embeds everything.
        adapt_pairs: At most this many training pairs for fitting (bounds its time: about
            30 seconds per 100 pairs on two cores, and a little more for the query head).
        embed_batch_size: Texts per call to the embedding model.
        index_batch_size: Records (passages, sentences, curated questions) per write batch
            of the indexing API; Chroma's writes take less time in larger batches (10,000
            chunks with stand-in vectors, so only the writes: 186 s at 256, 146 s at 2048).
        embed_window: Texts embedded together ahead of the write batches; the model sorts
            them by length, so its batches pad little (more memory, faster ingest).
        lock_timeout: Seconds a second ingest waits for the first before giving up.
        max_file_bytes: Larger files are refused by the loaders.
        dense_candidates: Passages taken from the vector search before fusion.
        keyword_candidates: Passages taken from BM25 before fusion.
        sentence_candidates: Sentences taken from the vector search (each votes for
            its passage) before fusion.
        question_candidates: Curated patient questions (from documents' front matter)
            taken from the vector search (each votes for the passage it quotes).
        fusion: How the rankings are fused: ``relative_score`` (default: each ranking's
            scores scaled to 0-1 over its candidates, then a weighted sum, so a ranking
            that is far surer of its first passage counts for more) or ``rrf``
            (reciprocal rank fusion: ranks only).
        rrf_k: Reciprocal-rank-fusion constant: larger flattens the rank weights.
        dense_weight: Weight of the vector ranking in the fusion.
        keyword_weight: Weight of the BM25 ranking in the fusion.
        sentence_weight: Weight of the best-sentence ranking in the fusion.
        question_weight: Weight of the best-matching-question ranking in the fusion.
        question_min_similarity: A curated question votes for its passage only when it is
            at least this similar to the patient's question (a near-paraphrase), so that
            documents without curated questions are not outvoted on loose matches.
        scope_words: The words that name the clinic's own subject, comma-separated
            (whole words, any case: "ketamine" matches "Ketamine-assisted").
            A document none of whose passages uses one is outside the clinic's scope.
        scope_penalty: Taken off the fused score of a passage from a document outside
            the clinic's scope, so that a question naming no service ("how long does
            a session last?") is read as being about the clinic's own. The default,
            1.75, is a little under half of what a passage first in all four rankings
            gets (relative score fusion): another service's FAQ answering that same
            question no longer comes first, while a clinic page that names no treatment
            (parking) still answers a question only it covers (at 2 it lost one of four
            phrasings, now that the clinic's own passages are always candidates: see
            ``HybridRetriever``). A corpus whose documents are all in scope (or all
            outside it) ranks exactly as without it; 0 turns the scope off.
        distinctive_weight: The search uses the message's vector plus this much of the
            vector of its distinctive words: the message without the words more than
            ``common_word_share`` of the clinic's passages contain ("is KAP addictive?"
            -> "is addictive"; see ``kapbot.emphasis``). Not for a follow-up searched
            with the conversation's words. 0 turns it off.
        common_word_share: A word (not a stop word) in more than this share of the
            clinic's passages says little about which of them answers.
        top_k: Passages returned to the composer (and in ``Reply.passages``).
        abstain_below: Cosine similarity the best passage must reach, else kapbot
            says the materials do not cover the question (calibrated on ``evals/``).
        assurance_query: What a request for assurance ("87%, so it will work for me?")
            is answered from, after the statement that results vary: the documents'
            passages on results varying, not the figure the patient leaned on.
        confident_above: Below this cosine similarity of the best passage (and above
            ``abstain_below``) an answer says the materials may not answer exactly and
            gives the way to reach the clinic: a loose match is shown as one.
        max_message_chars: Longer messages are truncated (with a notice).
        history_turns: How many recent turns follow-up rewriting looks at.
        llm: Optional chat model for ``init_chat_model`` (e.g. ``ollama:llama3.1``);
            unset means no LLM and no network use.
        llm_base_url: Base URL for an OpenAI-compatible or Ollama server.
        llm_timeout: Seconds to wait for the chat model before falling back.
        refresh_seconds: How often, at most, a running bot looks whether another process
            (``kapbot ingest``, ``kapbot remove``) changed the index's documents, before
            answering a message (0: before every message).
        admin_password: Password of the content team's admin page (user ``admin``);
            unset means the admin page is disabled. There is no default.
        web_concurrency: Chat requests the web app works on at once.
        web_queue_size: Requests that may wait in the web app's queue; more are refused
            with a "busy" message instead of piling up.
        handoff_webhook: An http(s) address that each request for a person to call back
            is also POSTed to as JSON (name, contact, best time); unset: the admin page's
            queue only.
        retention_days: Days the journal keeps feedback and unanswered questions (with
            identifiers already redacted); older rows are deleted at start, then daily.
        clinic_name: How replies and the web page name the clinic.
        clinic_phone: The clinic's phone number, shown where a patient needs a person
            (declines, quotes of another provider's practice); unset: not shown. kapbot
            never shows a number that is not set here.
        clinic_email: The clinic's e-mail address, shown beside the phone.
        clinic_after_hours_phone: A line the clinic answers out of hours, listed in the
            crisis reply after the national lines; unset: not listed.
        clinic_hours: When the clinic answers ("Mon-Fri 9am-5pm"), after the phone.
        clinic_booking_url: Where a patient books a consultation.
        clinic_address: The clinic's address.
        clinic_subject: What a question that names no subject ("who shouldn't do
            this?", "how long does it last?") is read as being about, when there is no
            conversation to read it from.
    """

    home: Path = field(default_factory=lambda: PROJECT_ROOT / ".kapbot")
    corpus_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "corpus")
    chroma_url: str | None = None
    collection: str = "kapbot"
    chunk_max_chars: int = 1200
    chunk_min_chars: int = 250
    adapt: bool = True
    adapt_pairs: int = 1000
    embed_batch_size: int = 64
    index_batch_size: int = 2048
    embed_window: int = 4096
    lock_timeout: float = 600.0
    max_file_bytes: int = 20_000_000
    dense_candidates: int = 20
    keyword_candidates: int = 20
    sentence_candidates: int = 40
    question_candidates: int = 40
    fusion: str = "relative_score"
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    sentence_weight: float = 1.0
    question_weight: float = 1.0
    question_min_similarity: float = 0.7
    scope_words: str = "ketamine, esketamine, Spravato, KAP"
    scope_penalty: float = 1.75
    distinctive_weight: float = 1.0
    common_word_share: float = 0.2
    top_k: int = 5
    abstain_below: float = 0.30
    confident_above: float = 0.45
    assurance_query: str = "results vary by individual and outcomes cannot be guaranteed"
    max_message_chars: int = 2000
    history_turns: int = 6
    refresh_seconds: float = 2.0
    llm: str | None = None
    llm_base_url: str | None = None
    llm_timeout: float = 30.0
    admin_password: str | None = field(default=None, repr=False)
    web_concurrency: int = 4
    web_queue_size: int = 200
    retention_days: int = 30
    handoff_webhook: str | None = None
    clinic_name: str = "our clinic"
    clinic_phone: str | None = None
    clinic_email: str | None = None
    clinic_after_hours_phone: str | None = None
    clinic_hours: str | None = None
    clinic_booking_url: str | None = None
    clinic_address: str | None = None
    clinic_subject: str = "ketamine-assisted psychotherapy"

    def __post_init__(self) -> None:
        if self.chunk_min_chars >= self.chunk_max_chars:
            raise ValueError(
                f"chunk_min_chars ({self.chunk_min_chars}) must be smaller than "
                f"chunk_max_chars ({self.chunk_max_chars})"
            )
        for name in (
            "adapt_pairs",
            "embed_batch_size",
            "index_batch_size",
            "embed_window",
            "max_file_bytes",
            "top_k",
            "dense_candidates",
            "keyword_candidates",
            "sentence_candidates",
            "max_message_chars",
            "web_concurrency",
            "web_queue_size",
            "retention_days",
        ):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"KAPBOT_{name.upper()} must be at least 1, got {getattr(self, name)}"
                )
        if self.refresh_seconds < 0:
            raise ValueError(
                f"KAPBOT_REFRESH_SECONDS must be 0 or more, got {self.refresh_seconds}"
            )
        if self.scope_penalty < 0:
            raise ValueError(f"KAPBOT_SCOPE_PENALTY must be 0 or more, got {self.scope_penalty}")
        if self.distinctive_weight < 0:
            raise ValueError(
                f"KAPBOT_DISTINCTIVE_WEIGHT must be 0 or more, got {self.distinctive_weight}"
            )
        if not 0 < self.common_word_share <= 1:
            raise ValueError(
                f"KAPBOT_COMMON_WORD_SHARE must be above 0 and at most 1, "
                f"got {self.common_word_share}"
            )
        if self.fusion not in FUSIONS:
            raise ValueError(
                f"KAPBOT_FUSION must be one of {', '.join(FUSIONS)}, got {self.fusion!r}"
            )
        if self.clinic_booking_url is not None and not _is_web_address(self.clinic_booking_url):
            raise ValueError(
                "KAPBOT_CLINIC_BOOKING_URL must be an http(s):// address, "
                f"got {self.clinic_booking_url!r}"
            )
        if self.chroma_url is not None:
            parsed = urlparse(self.chroma_url)
            try:
                port_ok = parsed.port is None or parsed.port > 0
            except ValueError:
                port_ok = False
            if parsed.scheme not in {"http", "https"} or not parsed.hostname or not port_ok:
                raise ValueError(
                    f"KAPBOT_CHROMA_URL must look like http://host:port, got {self.chroma_url!r}"
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``KAPBOT_<FIELD>`` variables, then apply ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"KAPBOT_{f.name.upper()}")
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _convert(f.name, raw.strip())
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def models_dir(self) -> Path:
        """Embedding models fitted to the documents (:mod:`kapbot.adaptation`)."""
        return self.home / "models"

    @property
    def records_db(self) -> Path:
        return self.home / "records.sqlite"

    @property
    def keyword_dir(self) -> Path:
        return self.home / "keyword" / self.collection

    @property
    def journal_db(self) -> Path:
        """Patient feedback and the questions kapbot could not answer."""
        return self.home / "journal.sqlite"

    @property
    def removed_dir(self) -> Path:
        """Where documents removed through the admin page are kept (nothing is lost)."""
        return self.home / "removed"

    @property
    def lock_path(self) -> Path:
        return self.home / "ingest.lock"

    @property
    def store_label(self) -> str:
        """Where the vectors live, for messages and record-manager namespaces."""
        return self.chroma_url or f"embedded:{self.chroma_dir}"


_TYPES: dict[str, type] = {
    "home": Path,
    "corpus_dir": Path,
    "chroma_url": str,
    "collection": str,
    "chunk_max_chars": int,
    "chunk_min_chars": int,
    "adapt": bool,
    "adapt_pairs": int,
    "embed_batch_size": int,
    "index_batch_size": int,
    "embed_window": int,
    "lock_timeout": float,
    "max_file_bytes": int,
    "dense_candidates": int,
    "keyword_candidates": int,
    "sentence_candidates": int,
    "question_candidates": int,
    "fusion": str,
    "rrf_k": float,
    "dense_weight": float,
    "keyword_weight": float,
    "sentence_weight": float,
    "question_weight": float,
    "question_min_similarity": float,
    "scope_words": str,
    "scope_penalty": float,
    "distinctive_weight": float,
    "common_word_share": float,
    "top_k": int,
    "abstain_below": float,
    "confident_above": float,
    "assurance_query": str,
    "max_message_chars": int,
    "history_turns": int,
    "refresh_seconds": float,
    "llm": str,
    "llm_base_url": str,
    "llm_timeout": float,
    "admin_password": str,
    "web_concurrency": int,
    "web_queue_size": int,
    "retention_days": int,
    "handoff_webhook": str,
    "clinic_name": str,
    "clinic_phone": str,
    "clinic_email": str,
    "clinic_after_hours_phone": str,
    "clinic_hours": str,
    "clinic_booking_url": str,
    "clinic_address": str,
    "clinic_subject": str,
}


def _attribute_docs() -> dict[str, str]:
    """Each field's description, from the Attributes section of :class:`Settings`."""
    docs: dict[str, str] = {}
    lines = (Settings.__doc__ or "").split("Attributes:", 1)[-1].splitlines()
    name = ""
    for line in lines:
        match = re.match(r"^ {8}(\w+): (.*)$", line)
        if match:
            name = match.group(1)
            docs[name] = match.group(2).strip()
        elif name and line.startswith(" " * 12):
            docs[name] += " " + line.strip()
    return docs


def _shown_default(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(PROJECT_ROOT)}/` in the project"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    return f"`{value}`"


def settings_markdown() -> str:
    """Every setting as a Markdown table (variable, default, meaning), from the fields of
    :class:`Settings` and their documentation: ``docs/settings.md`` holds this table, and
    a test checks it is current (``kapbot settings`` prints it)."""
    docs = _attribute_docs()
    defaults = Settings(admin_password=None)
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        meaning = re.sub(r":\w+:`([^`]+)`", r"`\1`", docs.get(f.name, ""))
        meaning = meaning.replace("``", "`").replace("|", "\\|")
        default = _shown_default(getattr(defaults, f.name))
        rows.append(f"| `KAPBOT_{f.name.upper()}` | {default} | {meaning} |")
    return "\n".join(rows)


def _is_web_address(text: str) -> bool:
    parsed = urlparse(text)
    return parsed.scheme in {"http", "https"} and bool(parsed.hostname) and " " not in text


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _boolean(raw: str) -> bool:
    if raw.lower() in _TRUE | _FALSE:
        return raw.lower() in _TRUE
    raise ValueError(f"expected one of {', '.join(sorted(_TRUE | _FALSE))}")


def _convert(name: str, raw: str) -> Any:
    kind = _TYPES[name]
    try:
        if kind is Path:
            return Path(raw).expanduser().resolve()
        if kind is bool:
            return _boolean(raw)

        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"KAPBOT_{name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
