"""The bot: one message in, one :class:`~kapbot.records.Reply` out.

It wires the parts together: clean the message, make a follow-up standalone, retrieve
(hybrid), abstain when nothing is relevant enough, compose a cited answer.

Example:
    >>> bot = Bot()  # doctest: +SKIP
    >>> reply = bot.ask("What does KAP cost?")  # doctest: +SKIP
    >>> reply.kind, [c.n for c in reply.citations]  # doctest: +SKIP
    ('answer', [1])
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from kapbot.adaptation import STOCK, passage_model, query_encoder
from kapbot.assurance import AssuranceCheck
from kapbot.chunking import CHUNK, QUESTION
from kapbot.compose import Composer, ExtractiveComposer, names_publisher
from kapbot.crisis import CrisisCheck, CrisisDecision
from kapbot.crisis_reply import (
    CONCERN_NOTE,
    last_crisis_language,
    last_crisis_urgent,
    replied_crisis,
    without_crisis,
)
from kapbot.errors import IndexEmptyError, IndexUnavailableError
from kapbot.followup import (
    LLMCondenser,
    needs_context,
    split_context,
    standalone_query,
    with_subject,
)
from kapbot.generative import GenerativeComposer
from kapbot.glossary import Glossary, by_meaning
from kapbot.guardrails import (
    RESULTS_VARY,
    SEE_PROVIDER,
    asks_assurance,
    asks_for_promise,
    asks_for_task,
    asks_medical_advice,
    asks_own_care,
    asks_treatment_assurance,
    guard,
    medical_terms,
)
from kapbot.inputs import CleanMessage, clean_message, encodable
from kapbot.keyword import KeywordIndex
from kapbot.question import asks_contact, asks_practical
from kapbot.readable import abbreviations, acronyms
from kapbot.records import Citation, Passage, Reply
from kapbot.retrieval import HybridRetriever, keyword_index
from kapbot.scope import uncovered_treatment
from kapbot.settings import Settings
from kapbot.spelling import Speller, looks_spanish
from kapbot.store import ChunkStore
from kapbot.suggest import suggestion_block, suggestions
from kapbot.texts import ReplyTexts

if TYPE_CHECKING:
    from kapbot.embeddings import QueryEncoder

log = logging.getLogger(__name__)

# The writer asking about themselves ("can I", "my meds", "mis pastillas").
_FIRST_PERSON = re.compile(
    r"\b(i|im|i'm|ive|i've|id|i'd|me|my|mine|myself|yo|mi|mis)\b", re.IGNORECASE
)


def _valid_history(history: object) -> list[dict[str, str]]:
    """The usable turns of a history, a list or any other sequence of turns (anything
    malformed is left out; a string or a single mapping is no history)."""
    if not isinstance(history, Sequence) or isinstance(history, str | bytes):
        return []
    turns = []
    for turn in history:
        if (
            isinstance(turn, Mapping)
            and turn.get("role") in {"user", "assistant"}
            and isinstance(turn.get("content"), str)
        ):
            turns.append({"role": str(turn["role"]), "content": encodable(str(turn["content"]))})
    return turns


class Bot:
    """Answers patients' questions from the indexed clinic documents.

    Loads the embedding models and opens the index once; :meth:`ask` is safe to call
    from several threads. Documents another process adds, updates or removes (``kapbot
    ingest``, ``kapbot remove``, a rebuild) are picked up by the next message once
    ``settings.refresh_seconds`` have passed since the last look. A message is embedded
    once, by the packaged model (``embeddings``), for both the crisis check and the
    search; the passages were
    embedded by the model the index names (``model``: the packaged one, or one fitted
    to the documents, see :mod:`kapbot.adaptation`).

    Args:
        settings: Configuration (default: from ``KAPBOT_*`` environment variables).
        embeddings: The packaged embedding model, already loaded, to share.
        composer: How answers are written (default: extractive, or generative when
            ``settings.llm`` names a chat model).

    Raises:
        IndexEmptyError: the index has no documents (run ``kapbot ingest``).
        IndexUnavailableError: the index cannot be opened or reached.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embeddings: Embeddings | None = None,
        composer: Composer | None = None,
    ) -> None:
        from kapbot.embeddings import DeferredEmbeddings, load_embeddings
        from kapbot.llm import load_chat_model

        self.settings = settings or Settings.from_env()
        self.embeddings = embeddings or load_embeddings(
            self.settings.embed_batch_size, models_dir=self.settings.models_dir
        )
        self.store = ChunkStore.open(
            self.settings, self.embeddings, DeferredEmbeddings(lambda: self.passages)
        )
        self._generation = self.store.generation()
        self._spelled: dict[str, dict[str, str]] = {}
        self._acronyms: set[str] = set()
        self._publishers: frozenset[str] = frozenset()
        self.speller = Speller.build(())
        self.glossary = Glossary.load()
        self.model, self.passages, self.queries = self._passage_model()
        self.keyword, self.retriever = self._open_keyword()
        # A fitted model changes how passages are embedded, never how a message is
        # (kapbot.adaptation): the check stays as calibrated.
        self.crisis = CrisisCheck.load(
            embed=self.embeddings.embed_documents, cache_dir=self.settings.home / "cache"
        )
        self.crisis.warm_up()
        # The model's first pass loads its session: here, not on a patient's first message.
        self.queries.encode(["Is ketamine-assisted psychotherapy right for me?"])
        self.assurance = AssuranceCheck.load(
            embed=self.embeddings.embed_documents, cache_dir=self.settings.home / "cache"
        )
        self.texts = ReplyTexts.load()
        # Through the bot, so the weights and spellings follow the index after a refresh().
        extractive = ExtractiveComposer(
            lambda token: self.keyword.idf(token),
            texts=self.texts,
            spelled=lambda source: self._spelled.get(source, {}),
            acronyms=self._acronyms,
            subject=self.settings.clinic_subject,
        )
        chat_model = load_chat_model(self.settings)
        self.composer: Composer = composer or (
            GenerativeComposer(chat_model, extractive, self.texts)
            if chat_model is not None
            else extractive
        )
        self._condense = (
            LLMCondenser(chat_model, self.settings.history_turns) if chat_model else None
        )
        # The model and the Chroma client are shared; one retrieval at a time keeps
        # them safe under concurrent callers (each takes milliseconds).
        self._lock = threading.Lock()
        self._looking = threading.Lock()  # one thread at a time checks for changes
        self._looked = time.monotonic()

    def _passage_model(self, label: str | None = None) -> tuple[str, Embeddings, QueryEncoder]:
        """The name of the model the index's passages were embedded with (``label``, or
        read from the index), that model, and what embeds a message to search them."""
        label = label or self.store.model_label() or STOCK
        models = self.settings.models_dir
        passages = passage_model(models, label, self.embeddings, self.settings.embed_batch_size)
        return label, passages, query_encoder(models, label, self.embeddings)

    def _open_keyword(self, empty_ok: bool = False) -> tuple[KeywordIndex, HybridRetriever]:
        if self.store.is_empty():  # a count: keyword_index() lists the ids itself
            if not empty_ok:
                raise IndexEmptyError(
                    f"The index at {self.store.label} is empty. Run `kapbot ingest` to build "
                    f"it from {self.settings.corpus_dir}."
                )
            keyword = KeywordIndex.build([])
        else:
            keyword = keyword_index(self.settings.keyword_dir, self.store)
        retriever = HybridRetriever(
            store=self.store,
            keyword=keyword,
            settings=self.settings,
            encode=lambda texts: self.queries.encode(texts),
        )
        retriever.prepare()  # passes over every record: here, not in a patient's question
        self._read_documents(keyword)
        return keyword, retriever

    def _read_documents(self, keyword: KeywordIndex) -> None:
        """What the composer needs to know of the whole documents: the abbreviations each
        spells out, the words they write in capitals and their publishers."""
        texts: dict[str, list[str]] = {}
        publishers: set[str] = set()
        for doc in keyword.docs:
            texts.setdefault(str(doc.metadata.get("source", "")), []).append(doc.page_content)
            publishers.add(" ".join(str(doc.metadata.get("publisher", "")).split()))
        self._spelled = {source: abbreviations("\n\n".join(t)) for source, t in texts.items()}
        self._acronyms.clear()
        self._acronyms.update(acronyms(t for chunks in texts.values() for t in chunks))
        self._publishers = frozenset(p for p in publishers if p)
        self.speller = Speller.build(d.page_content for d in keyword.docs)

    def refresh(self) -> None:
        """Pick up documents added, updated or removed since the bot opened the index.

        The keyword index, the records searched in memory (``HybridRetriever.in_memory``)
        and, after ``kapbot ingest --rebuild``, the passage model are reloaded here; larger
        collections are searched live in Chroma. Once every document has been
        removed, every question gets the reply that the materials do not cover it.
        """
        generation = self.store.generation()
        label = self.store.model_label() or STOCK
        if label != self.model:  # `ingest --rebuild` ran
            with self._lock:
                self.model, self.passages, self.queries = self._passage_model(label)
        with self._lock:
            self.keyword, self.retriever = self._open_keyword(empty_ok=True)
            self._generation = generation

    def follow_changes(self) -> None:
        """:meth:`refresh` when another process changed the index's documents since this
        bot last loaded them (the index records a new generation on every change);
        looked at no more often than every ``settings.refresh_seconds``. When the index
        cannot be reached, the bot goes on with what it has."""
        now = time.monotonic()
        if now - self._looked < self.settings.refresh_seconds:
            return
        if not self._looking.acquire(blocking=False):
            return  # another thread is looking
        try:
            self._looked = now
            if self.store.generation() != self._generation:
                log.info("the index's documents changed since they were loaded: reloading")
                self.refresh()
        except IndexUnavailableError as exc:
            log.warning("could not look for changes to the index: %s", exc)
        finally:
            self._looking.release()

    def retrieve(
        self,
        query: str,
        vector: list[float] | None = None,
        passage_vector: list[float] | None = None,
    ) -> list[Passage]:
        with self._lock:
            return self.retriever.search(query, vector=vector, passage_vector=passage_vector)

    def _embed(self, text: str) -> tuple[list[list[float]], list[list[float]]]:
        """The message's vector, then that of its distinctive words if the search uses
        them (``HybridRetriever.query_texts``), by the packaged model; and the same by
        the query head for searching the passages. One forward pass for all."""
        with self._lock:
            return self.queries.encode(self.retriever.query_texts(text))

    def ask(self, question: str, history: Sequence[Mapping[str, Any]] | None = None) -> Reply:
        """Answer one message, given the conversation so far.

        The stages, in order: clean the message; the crisis check (before anything else
        sees it); spell it as the documents do and make it standalone from the
        conversation; retrieve; decide whether to answer; compose the cited answer;
        guard it.

        Args:
            question: What the patient typed.
            history: Earlier turns, ``{"role": "user"|"assistant", "content": str}``.

        Returns:
            A Reply whose ``kind`` is ``answer``, ``abstain``, ``crisis``,
            ``acknowledgement`` (after a crisis reply, to "ok thanks") or ``invalid``.
        """
        message = clean_message(question, self.settings.max_message_chars)
        if message.empty:
            invalid = self.texts.decline("invalid", self.settings.clinic_name)
            return Reply("invalid", invalid, notices=message.notices)
        turns = _valid_history(history)
        # Safety first: the crisis check's lexicon sees every message (all of it, even past
        # the length limit) before anything that could fail does.
        words = max(
            (self.crisis.check(text, turns, words_only=True) for text in message.readings),
            key=lambda decision: decision.severity,
        )
        if words.level == "crisis":
            return self._crisis(message, words, turns)
        if words.rule == "acknowledgement":
            language = self.crisis.language(message.text, words)
            return Reply(
                "acknowledgement",
                self.texts.acknowledgement(
                    self.settings, language, arrived=words.variant == "help"
                ),
                notices=message.notices,
                safety_rule=words.rule,
            )
        try:
            return self._reply(message, turns)
        except Exception:
            if words.level == "concern":
                # Flagged, and the answer failed: the help it may need, not an error.
                log.exception("answering a flagged message failed; the crisis reply is shown")
                return self._crisis(message, words, turns)
            raise

    def _crisis(
        self, message: CleanMessage, safety: CrisisDecision, turns: Sequence[Mapping[str, str]]
    ) -> Reply:
        """The crisis reply, in the message's language (or in the language of the crisis
        reply just given: "lo voy a hacer" alone reads as English). Nothing of the message
        is kept in it or logged: only the rule that decided."""
        log.info("crisis check: crisis (%s)", safety.rule)
        language = self.crisis.language(message.text, safety)
        if last_crisis_language(turns) == "es":
            language = "es"
        return Reply(
            "crisis",
            self.texts.crisis(
                self.settings,
                language,
                self.crisis.emergency(safety),
                again=replied_crisis(turns),
                refused=safety.variant == "refused",
                other=self.crisis.bystander(message.text, safety),
            ),
            notices=message.notices,
            safety_rule=safety.rule,
        )

    def _urgent(self, turns: Sequence[Mapping[str, str]]) -> bool:
        """Whether the crisis reply just given was for an emergency under way: by its own
        words, or by the message it answered ("took a bunch of my wellbutrin")."""
        if last_crisis_urgent(turns):
            return True
        asked = [t.get("content", "") for t in turns if t.get("role") == "user"]
        if not asked or not isinstance(asked[-1], str):
            return False
        return self.crisis.emergency(self.crisis.check(asked[-1], words_only=True))

    def _reply(self, message: CleanMessage, turns: list[dict[str, str]]) -> Reply:
        """The reply to a message the crisis check's lexicon let through."""
        vectors, for_passages = self._embed(message.text)
        safety = self.crisis.check(message.text, turns, vector=vectors[0])
        if safety.rule == "semantic" and asks_treatment_assurance(message.text):
            # Found by meaning alone, in words that ask whether the treatment will work
            # ("guarantee me this works and I'll sign up today"): the Lifeline note, then the
            # answer. ("A spot in the basement that would work" names no treatment.)
            safety = replace(safety, level="concern", rule="semantic+assurance")
        if safety.level == "crisis":
            return self._crisis(message, safety, turns)
        # An ordinary question right after the crisis reply, before any word that the
        # person is safe: a short check-in first, then the answer.
        check_in = last_crisis_language(turns)
        if (
            safety.rule == "semantic near"
            and check_in is None
            and needs_context(message.text)
            and any(t.get("role") == "user" for t in turns)
        ):
            # Just below the backstop's threshold, in a follow-up leaning on an ordinary
            # conversation ("can i get any of it back" after questions on insurance): the
            # conversation says what it is about, so no Lifeline note.
            safety = replace(safety, level="none", rule="semantic near, follow-up")
        urgent = check_in is not None and self._urgent(turns)
        if safety.level != "none":
            log.info("crisis check: %s (%s)", safety.level, safety.rule)
        # A message that got the crisis reply is never part of an answer (nor of the query
        # a content gap records): the conversation goes on without it.
        turns = without_crisis(turns)
        self.follow_changes()
        # Typos are read as the documents' words for the search and the quote choice.
        asked_text = self.speller.correct(message.text)
        query = self.standalone(asked_text, turns)
        searched = query
        # Patients' words are searched by word with the documents' words for them
        # ("addictive": "abuse dependence") and choose the quote with them; the words
        # added are not embedded (glossary.by_meaning).
        glossed = self.glossary.gloss(asked_text)
        if glossed != asked_text:
            query = (
                glossed + query[len(asked_text) :]
                if query.startswith(asked_text)
                else self.glossary.gloss(query)
            )
            asked_text = glossed
        if by_meaning(query) == message.text:
            # Embedded as typed (the glossary's words are searched by word only): the
            # message's own vectors, computed once above.
            passages = self.retrieve(
                query,
                self.retriever.query_vector(vectors),
                self.retriever.query_vector(for_passages),
            )
        else:  # spelt as the documents do, or made standalone: embedded anew
            passages = self.retrieve(query)
        first = not any(t.get("role") == "user" for t in turns)
        nearness = self._nearness(searched, passages, first)
        decline, other = self._decline_reason(message.text, passages, nearness)
        # A request for assurance in words the patterns miss is found by its meaning: it
        # reads that results vary first, and is otherwise answered as asked.
        assurance = self.assurance.asks(message.text, vectors[0])
        notes, after = self._notes(message.text, safety.level, assurance)
        if check_in is not None:
            spanish = check_in == "es" or looks_spanish(message.text)
            key = "check_in_urgent" if urgent else "check_in"
            notes.insert(0, self.texts.get("safety", key + ("_es" if spanish else "")))
        asked, context = split_context(query, asked_text)
        leaning = asks_assurance(message.text) or (assurance and decline == "not_covered")
        if leaning and decline in {"", "not_covered"}:
            # Asked for assurance ("87%. So I'm good?"), or found to by its meaning and
            # otherwise declined: that results vary, then what the documents say about it
            # (not the figure leaned on again); never a decline.
            varied = self.retrieve(self.settings.assurance_query)
            if varied and max(p.similarity for p in varied) >= self.settings.confident_above:
                # One quote: the statement already says results vary.
                passages = varied[:1]
                asked, context, nearness = self.settings.assurance_query, "", 1.0
            decline = "" if passages else decline
        unnamed = [t for t in medical_terms(message.text) if self.speller.unknown(t)]
        if (
            not decline
            and asks_own_care(message.text)
            and SEE_PROVIDER in [*notes, *after]
            and unnamed
        ):
            # Asked about their own medicines or condition, which the documents never name
            # ("while pregnant", "my Xanax"): the pointer to their prescriber is the answer,
            # first, not a loosely related quote.
            decline = "not_covered"
            notes, after = [*notes, *after], []
        if not decline and looks_spanish(message.text) and nearness < self.settings.confident_above:
            # In Spanish and only loosely near the (English) materials: a Spanish decline
            # says so, rather than a loosely related English quote.
            decline = "spanish"
        if not decline:
            # A follow-up's conversation words found the passages; its own words choose
            # what to quote from them.
            last = next((t["content"] for t in reversed(turns) if t["role"] == "assistant"), "")
            composition = self.composer.compose(asked, passages, context, last)
            guarded = guard(composition.text, composition.cited)
            if guarded.cited:
                clinic = self.settings.clinic_name
                tentative = nearness < self.settings.confident_above
                lead = [self.texts.get("answers", "tentative", clinic=clinic)] if tentative else []
                body = [*notes, *lead, guarded.text, *after]
                theirs = all(p.owner != "clinic" for p in guarded.cited)
                if theirs and asks_practical(asked_text):
                    practical = self.texts.get("attribution", "practical", clinic=clinic)
                    body.append(f"{practical} {self.texts.contact(self.settings)}")
                elif composition.other_practice:
                    not_ours = self.texts.get("attribution", "not_ours", clinic=clinic)
                    body.append(f"{not_ours} {self.texts.contact(self.settings)}")
                elif tentative:
                    body.append(self.texts.contact(self.settings))
                if message.notices:
                    body = [*(f"*{n}*" for n in message.notices), *body]
                return Reply(
                    "answer",
                    "\n\n".join(body),
                    citations=tuple(_citation(i, p) for i, p in enumerate(guarded.cited, 1)),
                    passages=tuple(passages),
                    query=query,
                    notices=message.notices,
                    safety_rule=safety.rule,
                )
            decline = "not_covered"
        if decline == "not_covered" and looks_spanish(message.text):
            decline = "spanish"  # said in Spanish, and that the materials are in English
        offered = () if decline in {"task", "contact"} else self.suggest(vectors, for_passages)
        clinic = self.settings.clinic_name
        declined = [] if decline == "contact" else [self.texts.decline(decline, clinic, name=other)]
        body = [*notes, *declined, *after, self.texts.contact(self.settings)]
        if offered:
            body.append(suggestion_block(self.texts.get("suggestions", "lead"), offered))
        return Reply(
            "abstain",
            "\n\n".join(body),
            passages=tuple(passages),
            query=query,
            notices=message.notices,
            safety_rule=safety.rule,
            decline=decline,
            suggestions=offered,
        )

    def standalone(self, question: str, history: Sequence[Mapping[str, str]]) -> str:
        """The question as retrieval reads it: with the conversation's words when it leans
        on earlier turns."""
        if self._condense is not None:
            return self._condense(question, history)
        return standalone_query(question, history, self.settings.history_turns)

    def _nearness(self, query: str, passages: Sequence[Passage], first: bool) -> float:
        """How near the passages are to the question: the best cosine similarity of
        them. A first message that leans on a subject nobody named ("who shouldn't do
        this?") is judged as about the clinic's subject: alone it is near nothing."""
        best = max((p.similarity for p in passages), default=0.0)
        if best >= self.settings.confident_above or not passages or not first:
            return best
        read_as = with_subject(query, self.settings.clinic_subject)
        if read_as == query:
            return best
        return max(best, max((p.similarity for p in self.retrieve(read_as)), default=0.0))

    def _decline_reason(
        self, message: str, passages: Sequence[Passage], nearness: float
    ) -> tuple[str, str]:
        """Why the bot declines to answer (``not_covered``, ``other_treatment``, ``task``
        or ``contact``; "" when it answers from the passages), and the other treatment
        named."""
        if asks_for_task(message):
            log.info("declined: a request to write, play a role or drop the instructions")
            return "task", ""
        if asks_contact(message) and not any(names_publisher(message, p) for p in self._publishers):
            # The articles give other providers' numbers; the clinic's own are settings.
            return ("contact" if self.texts.has_contact(self.settings) else "not_covered"), ""
        # "How much does MDMA-assisted therapy cost?" is near the passages on what ketamine
        # costs; answering it from them would mislead.
        other = uncovered_treatment(message, (p.text for p in passages))
        if other is not None:
            log.info("declined: asks about %s, which no retrieved passage covers", other)
            return "other_treatment", other
        return ("" if nearness >= self.settings.abstain_below else "not_covered"), ""

    @staticmethod
    def _notes(message: str, level: str, assurance: bool = False) -> tuple[list[str], list[str]]:
        """What the patient most needs to read, before the answer and after it: the Lifeline note for a
        concern and that results vary for a promise or a request for assurance, first; the pointer to their own
        prescriber first when they ask about their own doses, medicines or condition
        ("can I take my Xanax before?"), after the answer for any other question that
        touches medicines ("who prescribes the ketamine?")."""
        notes: list[str] = []
        after: list[str] = []
        if level == "concern":
            notes.append(CONCERN_NOTE)
        if asks_medical_advice(message):
            own = _FIRST_PERSON.search(message) and asks_own_care(message)
            (notes if own else after).append(SEE_PROVIDER)
        if assurance or asks_for_promise(message):
            notes.append(RESULTS_VARY)
        return notes, after

    def suggest(
        self, vectors: Sequence[Sequence[float]], for_passages: Sequence[Sequence[float]]
    ) -> tuple[str, ...]:
        """Up to three questions the documents answer, nearest to a message (its vectors
        from :meth:`_embed`): their FAQ headings first, then curated questions."""
        with self._lock:
            headings = self.retriever.nearest(
                self.retriever.query_vector(for_passages), 30, kind=CHUNK
            )
            questions = self.retriever.nearest(
                self.retriever.query_vector(vectors), 30, kind=QUESTION
            )
        return tuple(
            suggestions(headings, questions, publishers=self._publishers, acronyms=self._acronyms)
        )


def _citation(n: int, passage: Passage) -> Citation:
    return Citation(
        n=n,
        title=passage.title,
        source=passage.source,
        url=passage.url,
        text=passage.text,
        publisher=passage.publisher,
        section=passage.section,
        owner=passage.owner,
    )
