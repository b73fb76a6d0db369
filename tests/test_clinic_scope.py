"""The clinic's scope, with the real model and real Chroma: a question that names no
service is read as being about the clinic's own treatment, while a clinic page that never
names it (parking) still answers its own question."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kapbot import Bot
from kapbot.exact import ExactIndex
from kapbot.ingest import Indexer
from kapbot.retrieval import HybridRetriever
from kapbot.settings import Settings
from tests.conftest import CORPUS, benchmark_module, copy_home

pytestmark = pytest.mark.integration

# Patient questions that name no service: each filler page answers one like it for
# another service (physical therapy, dental care, allergy shots, ...).
GENERIC = (
    "How long does one session last?",
    "Will my insurance pay for this?",
    "How much does it cost?",
    "Is it safe?",
    "How many sessions will I need?",
)
PARKING = """---
title: "Getting to the clinic"
---

# Getting to the clinic

## Where do I park?

Free parking is in the lot behind the building, off Alder Street. Spaces by the back
door are kept for patients who are being driven home after a treatment. The lot gate
opens at 7:30 in the morning and closes at 7 in the evening.
"""


@pytest.fixture(scope="module")
def home_with_other_services(
    tmp_path_factory: pytest.TempPathFactory, embeddings, built_home_template: Path
) -> Settings:  # type: ignore[no-untyped-def]
    """The bundled corpus plus filler FAQ pages about other services and a parking page."""
    base = tmp_path_factory.mktemp("scope")
    shutil.copytree(CORPUS, base / "corpus")
    copy_home(built_home_template, base / "home")
    filler = benchmark_module("filler")
    filler.write_documents(filler.generate_documents(60, seed=0), base / "corpus")
    (base / "corpus" / "getting-here.md").write_text(PARKING, encoding="utf-8")
    settings = Settings.from_env(home=base / "home", corpus_dir=base / "corpus", adapt=False)
    report = Indexer.open(settings, embeddings=embeddings).ingest()
    assert report.ok and len(report.added) > 5, report.errors
    return settings


def _top_sources(bot: Bot, question: str, k: int = 5) -> list[str]:
    return [p.source for p in bot.ask(question).passages[:k]]


def test_questions_naming_no_service_get_the_clinics_passages(
    home_with_other_services: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    scoped = Bot(home_with_other_services, embeddings=embeddings)
    unscoped = Bot(home_with_other_services.with_(scope_penalty=0.0), embeddings=embeddings)
    inside = scoped.retriever.in_scope()
    assert inside is not None and len(inside) == 5  # the five clinic articles
    assert "corpus/getting-here.md" not in inside

    def filler_in_top(bot: Bot) -> int:
        return sum(
            "filler-" in source for question in GENERIC for source in _top_sources(bot, question)
        )

    # Without the scope, other services' FAQs crowd the clinic's passages out...
    crowded = filler_in_top(unscoped)
    assert crowded >= 3
    # ... with it, the clinic's own passages come first (a filler page may still follow
    # them: the penalty demotes, it does not filter).
    assert filler_in_top(scoped) < crowded
    for question in GENERIC:
        reply = scoped.ask(question)
        assert reply.kind == "answer", question
        assert reply.passages[0].source in inside, question
        assert all(c.source in inside for c in reply.citations), question


def test_a_clinic_page_outside_the_scope_still_answers_its_own_question(
    home_with_other_services: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    bot = Bot(home_with_other_services, embeddings=embeddings)
    reply = bot.ask("Where can I park when I come in for my appointment?")
    assert reply.kind == "answer"
    assert reply.passages[0].source == "corpus/getting-here.md"
    assert "Alder Street" in reply.text


def test_a_corpus_all_in_scope_ranks_exactly_as_without_the_scope(
    built_indexer, settings: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    scoped = Bot(settings, embeddings=embeddings)
    unscoped = Bot(settings.with_(scope_penalty=0.0), embeddings=embeddings)
    assert scoped.retriever.in_scope() is None
    for question in GENERIC:
        a, b = scoped.ask(question).passages, unscoped.ask(question).passages
        assert [(p.id, p.score) for p in a] == [(p.id, p.score) for p in b]


def _shallow(settings: Settings) -> Settings:
    """Candidate lists two deep: a large corpus's other pages fill lists this way."""
    return settings.with_(dense_candidates=2, sentence_candidates=2, keyword_candidates=2)


def test_the_clinics_records_are_searched_apart_with_the_stores_similarities(
    home_with_other_services: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    bot = Bot(home_with_other_services, embeddings=embeddings)
    inside = bot.retriever.in_scope()
    assert inside is not None
    vector = bot.store.embed_query("How long does one session last?")
    for kind in ("chunk", "sentence"):
        records = list(bot.store.with_vectors(kind, inside))
        assert records and all(d.metadata["source"] in inside for d, _ in records)
        apart = ExactIndex.build(records).search(vector, k=10)
        # Each hit's similarity is the store's own for that record...
        everywhere = dict(
            (d.id, sim) for d, sim in bot.store.search_by_vector(vector, 2000, kind=kind)
        )
        assert [sim for _, sim in apart] == pytest.approx(
            [everywhere[d.id] for d, _ in apart], abs=1e-4
        )
        # ... and they are the ten best of the store's records of those documents.
        best_inside = sorted(
            (sim for cid, sim in everywhere.items() if cid in {d.id for d, _ in records}),
            reverse=True,
        )[:10]
        assert [sim for _, sim in apart] == pytest.approx(best_inside, abs=1e-4)


def test_shallow_candidate_lists_still_reach_the_clinics_passages(
    home_with_other_services: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    bot = Bot(_shallow(home_with_other_services), embeddings=embeddings)
    apart_off = HybridRetriever(
        store=bot.store, keyword=bot.keyword, settings=bot.settings, scope_memory_limit=0
    )
    inside = bot.retriever.in_scope()
    assert inside is not None and apart_off.in_scope() == inside

    def clinic_first(search) -> int:  # type: ignore[no-untyped-def]
        return sum(search(question)[0].source in inside for question in GENERIC)

    # Without the search apart, the two-deep lists hold other services' pages only...
    assert clinic_first(apart_off.search) < len(GENERIC)
    # ... with it, every question naming no service gets a clinic passage first.
    assert clinic_first(lambda q: bot.ask(q).passages) == len(GENERIC)
    # A page outside the scope still answers its own question.
    assert bot.ask("Where can I park for my appointment?").passages[0].source == (
        "corpus/getting-here.md"
    )


SPECIFIC = (
    "What does KAP cost?",
    "Is Spravato covered by insurance?",
    "who is with me during a KAP dosing session",
    "why do they need to monitor me so closely while I'm on it?",
    "what are the risks of doing KAP",
)


def test_the_clinics_passages_rank_among_themselves_as_if_indexed_alone(
    home_with_other_services: Settings, built_indexer, settings: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    """Other services' pages take places in the list (or not), but never change which of
    the clinic's passages comes before which."""
    crowded = Bot(home_with_other_services.with_(top_k=10), embeddings=embeddings)
    alone = Bot(settings.with_(top_k=10), embeddings=embeddings)
    inside = crowded.retriever.in_scope()
    assert inside is not None and alone.retriever.in_scope() is None
    for question in GENERIC + SPECIFIC:
        clinic = [p for p in crowded.ask(question).passages if p.source in inside]
        assert clinic, question
        expected = [p.text for p in alone.ask(question).passages][: len(clinic)]
        assert [p.text for p in clinic] == expected, question
