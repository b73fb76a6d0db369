"""The passage model fitted to the documents: pure pair-building, and (integration) the
index built with it, reused, refused when missing, and rebuilt."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document

from kapbot.adaptation import (
    MIN_PAIRS,
    STOCK,
    Pair,
    fitting_plan,
    model_folder,
    model_name,
    training_batches,
    training_pairs,
)
from kapbot.settings import Settings
from tests.conftest import CORPUS, copy_home, run_kapbot

LONG = "This sentence is long enough to be a training query on its own."


def _chunk(cid: str, heading: str, sentences: list[str]) -> Document:
    return Document(id=cid, page_content=f"## {heading}\n\n" + " ".join(sentences))


# -- pure: pairs, batches, names -------------------------------------------------------


def test_pairs_are_the_heading_and_each_long_sentence_of_a_passage() -> None:
    chunk = _chunk(
        "c1", "What does it cost?", ["Too short.", LONG, "Prices vary a great deal by region."]
    )
    pairs = training_pairs([chunk], limit=100)
    assert [p.query for p in pairs] == [
        "What does it cost?",
        LONG,
        "Prices vary a great deal by region.",
    ]
    assert {p.group for p in pairs} == {"c1"}


def test_the_query_is_usually_taken_out_of_its_passage() -> None:
    sentences = [f"Sentence number {n} about this topic is long enough." for n in range(4)]
    chunks = [_chunk(f"c{i}", f"Topic {i}", sentences) for i in range(40)]
    texts = {c.id: c.page_content for c in chunks}
    pairs = training_pairs(chunks, limit=1000)
    assert len(pairs) == 40 * 5
    removed = [p for p in pairs if p.query not in p.passage]
    assert 0.8 < len(removed) / len(pairs) < 0.97  # about 90%, not all
    for pair in removed:
        assert pair.passage == texts[pair.group].replace(pair.query, "")


def test_a_curated_question_is_paired_with_its_whole_passage() -> None:
    chunk = _chunk("c1", "Cost", [LONG])
    asked = Document(
        id="q1", page_content="how much is it?", metadata={"kind": "question", "parent": "c1"}
    )
    stray = Document(
        id="q2", page_content="where do I park?", metadata={"kind": "question", "parent": "gone"}
    )
    pairs = training_pairs([chunk], limit=100, questions=[asked, stray])
    assert Pair("how much is it?", chunk.page_content, "c1") in pairs
    assert all(p.query != "where do I park?" for p in pairs)  # its passage is not indexed


def test_pairs_are_deterministic_and_limited() -> None:
    chunks = [_chunk(f"c{i}", f"Topic {i}", [f"{LONG} ({i})"] * 3) for i in range(50)]
    first = training_pairs(chunks, limit=30)
    assert len(first) == 30
    assert first == training_pairs(chunks, limit=30)
    assert training_pairs(chunks, limit=30, seed=1) != first


def test_a_batch_holds_one_pair_per_passage() -> None:
    pairs = [Pair(f"q{i}-{j}", f"passage {i}", f"g{i}") for i in range(10) for j in range(3)]
    batches = training_batches(pairs, size=8)
    assert batches == training_batches(pairs, size=8)
    for batch in batches:
        assert 4 <= len(batch) <= 8
        assert len({p.group for p in batch}) == len(batch)
    # room for every group in a batch: each pass takes one pair of each, nothing is left out
    assert [len(b) for b in training_batches(pairs, size=10)] == [10, 10, 10]


def test_batches_too_small_to_learn_from_are_left_out() -> None:
    pairs = [Pair(f"q{j}", "the one passage", "g") for j in range(10)]
    assert training_batches(pairs, size=8) == []  # a batch of one has no negatives


def test_the_name_follows_the_pairs() -> None:
    a = [Pair("q", "p", "g")]
    assert model_name(a) == model_name(list(a))
    assert model_name(a).startswith("fitted-")
    assert model_name(a) != model_name([Pair("q", "p2", "g")])


def test_too_little_text_is_not_fitted() -> None:
    few = [_chunk(f"c{i}", f"T{i}", [LONG]) for i in range(MIN_PAIRS // 2 - 1)]
    assert fitting_plan(few, limit=1000) is None
    many = [_chunk(f"c{i}", f"T{i}", [LONG]) for i in range(MIN_PAIRS)]
    plan = fitting_plan(many, limit=1000)
    assert plan is not None and plan.pairs == 2 * MIN_PAIRS
    # Each step twice: the passage model's, then the query head's.
    assert plan.size == 2 * sum(len(step) for step in plan.steps) >= 2 * plan.pairs


def test_the_packaged_model_has_no_folder(tmp_path: Path) -> None:
    assert model_folder(tmp_path, STOCK) is None
    assert model_folder(tmp_path, None) is None
    assert model_folder(tmp_path, "fitted-abc") == tmp_path / "fitted-abc"


@pytest.mark.parametrize(
    ("raw", "value"), [("0", False), ("false", False), ("yes", True), ("1", True)]
)
def test_adapt_setting(raw: str, value: bool) -> None:
    assert Settings.from_env({"KAPBOT_ADAPT": raw}).adapt is value


def test_a_bad_adapt_setting_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="KAPBOT_ADAPT='maybe'"):
        Settings.from_env({"KAPBOT_ADAPT": "maybe"})


# -- integration: the real model, real Chroma ------------------------------------------


@pytest.fixture
def fitted(fitted_home_template: Path, tmp_path: Path) -> Settings:
    """Settings of a private copy of the fitted index and of the corpus."""
    home = tmp_path / "home"
    copy_home(fitted_home_template, home)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return Settings.from_env(home=home, corpus_dir=corpus, adapt=True)


def _vectors(store, kind: str, n: int = 3):  # type: ignore[no-untyped-def]
    got = store._collection(kind).get(limit=n, include=["embeddings"])
    return [d.page_content for d in store.get(got["ids"])], np.asarray(got["embeddings"])


@pytest.mark.integration
def test_passages_get_fitted_vectors_and_messages_the_packaged_model(
    fitted: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    from kapbot import Bot
    from kapbot.embeddings import load_embeddings

    settings = fitted
    bot = Bot(settings, embeddings=embeddings)
    assert bot.model.startswith("fitted-")
    assert (settings.models_dir / bot.model / "modules.json").is_file()

    fitted = load_embeddings(settings.embed_batch_size, settings.models_dir / bot.model)
    texts, stored = _vectors(bot.store, "chunk")
    assert np.allclose(stored, fitted.embed_documents(texts), atol=1e-4)
    assert not np.allclose(stored, embeddings.embed_documents(texts), atol=1e-2)
    texts, stored = _vectors(bot.store, "sentence")
    assert np.allclose(stored, embeddings.embed_documents(texts), atol=1e-4)
    question = "what does an IV infusion cost"
    assert np.allclose(bot.store.embed_query(question), embeddings.embed_query(question))

    # The query head: the message's packaged vectors exactly as the packaged model gives
    # them (the crisis check and the sentence records use them), and the head's for the
    # passages, from the same pass.
    assert bot.queries.has_head
    for texts in ([question], [question, "IV infusion cost"]):
        own, for_passages = bot.queries.encode(texts)
        expected = (
            [embeddings.embed_query(texts[0])]
            if len(texts) == 1
            else embeddings.embed_documents(texts)
        )
        assert own == expected  # bit for bit
        assert np.allclose(np.linalg.norm(for_passages, axis=1), 1.0, atol=1e-5)
        assert all(not np.allclose(a, b, atol=1e-2) for a, b in zip(own, for_passages, strict=True))
    vector, passage_vector = bot.retriever.query_vectors(question)
    own, for_passages = bot.queries.encode(bot.retriever.query_texts(question))
    assert vector == bot.retriever.query_vector(own)
    assert passage_vector == bot.retriever.query_vector(for_passages)

    reply = bot.ask("How is KAP different from an IV ketamine infusion?")
    assert reply.kind == "answer" and reply.citations
    assert bot.ask("i want to kill myself").kind == "crisis"


@pytest.mark.integration
def test_the_query_head_is_safe_from_many_threads_beside_other_embedding(
    fitted: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    """The head reads the packaged model's hidden states through a hook: a forward pass
    of another thread (another patient, or the admin page embedding a document with the
    same model) must never feed it."""
    from concurrent.futures import ThreadPoolExecutor

    from kapbot import Bot

    bot = Bot(fitted, embeddings=embeddings)
    questions = [
        "What does KAP cost?",
        "is KAP addictive",
        "Is Spravato covered by insurance?",
        "who runs the infusion clinics? are they therapists",
    ]
    passage = (CORPUS / "cohen-kap-vs-infusions.md").read_text(encoding="utf-8")[:3000]
    expected = {q: bot.ask(q) for q in questions}
    document = embeddings.embed_documents([passage])

    def job(i: int) -> object:
        if i % 3 == 2:
            return embeddings.embed_documents([passage])
        return bot.ask(questions[i % len(questions)])

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(job, range(36)))
    for i, result in enumerate(results):
        if i % 3 == 2:
            assert np.allclose(result, document, atol=1e-6)
            continue
        want = expected[questions[i % len(questions)]]
        assert result.text == want.text  # type: ignore[attr-defined]
        assert [p.id for p in result.passages] == [p.id for p in want.passages]  # type: ignore[attr-defined]


@pytest.mark.integration
def test_a_model_fitted_before_query_heads_searches_with_the_packaged_vector(
    fitted: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    from kapbot import Bot
    from kapbot.embeddings import HEAD_FILE

    label = Bot(fitted, embeddings=embeddings).model
    (fitted.models_dir / label / HEAD_FILE).unlink()
    bot = Bot(fitted, embeddings=embeddings)
    assert bot.model == label and not bot.queries.has_head
    vector, passage_vector = bot.retriever.query_vectors("is KAP addictive")
    assert vector == passage_vector
    assert bot.ask("How is KAP different from an IV ketamine infusion?").kind == "answer"


@pytest.mark.integration
def test_ingesting_again_reuses_the_model_and_new_documents_get_it(
    fitted: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    from kapbot.embeddings import load_embeddings
    from kapbot.ingest import Indexer

    settings = fitted
    indexer = Indexer.open(settings, embeddings=embeddings)
    label = indexer.store.model_label()
    again = indexer.ingest()
    assert again.skipped and not again.added and again.chunks_added == 0
    assert not any("fitted" in n for n in again.notices)  # not fitted again
    assert indexer.store.model_label() == label

    new = settings.corpus_dir / "parking.md"
    new.write_text(
        "# Parking\n\nVisitors may park in the garage beside the clinic entrance. "
        "The first two hours of parking are free for patients with a validated ticket.\n",
        encoding="utf-8",
    )
    report = indexer.ingest([new])
    assert [Path(a).name for a in report.added] == ["parking.md"]
    assert indexer.store.model_label() == label
    ids = indexer.store.ids_for_source(report.added[0], kind="chunk")
    assert ids
    got = indexer.store._collection("chunk").get(ids=ids, include=["documents", "embeddings"])
    fitted = load_embeddings(settings.embed_batch_size, settings.models_dir / str(label))
    assert np.allclose(got["embeddings"], fitted.embed_documents(got["documents"]), atol=1e-4)


@pytest.mark.integration
def test_a_missing_model_folder_is_a_clear_error(fitted: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from kapbot import Bot
    from kapbot.errors import IndexUnavailableError

    settings = fitted
    for folder in settings.models_dir.glob("fitted-*"):
        shutil.rmtree(folder)
    with pytest.raises(IndexUnavailableError, match="kapbot ingest --rebuild"):
        Bot(settings, embeddings=embeddings)
    env = {"KAPBOT_HOME": str(settings.home), "KAPBOT_CORPUS_DIR": str(settings.corpus_dir)}
    proc = run_kapbot("ask", "what is KAP?", env=env)
    assert proc.returncode != 0
    assert "kapbot ingest --rebuild" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.integration
def test_rebuild_embeds_everything_with_the_chosen_model_and_a_bot_follows(
    fitted: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    from kapbot import Bot
    from kapbot.ingest import Indexer

    bot = Bot(fitted, embeddings=embeddings)
    assert bot.model != STOCK
    # Back to the packaged model (no fitting, so the test is quick).
    report = Indexer.open(fitted.with_(adapt=False), embeddings=embeddings).rebuild()
    assert len(report.added) == 5 and report.ok
    bot.refresh()
    assert bot.model == STOCK
    texts, stored = _vectors(bot.store, "chunk")
    assert np.allclose(stored, embeddings.embed_documents(texts), atol=1e-4)
    assert bot.store.count() == 76
    assert bot.ask("How is KAP different from an IV ketamine infusion?").kind == "answer"


@pytest.mark.integration
def test_an_indexer_follows_a_rebuild_made_by_another_process(fitted: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    """The admin page's Indexer lives as long as the server; a `kapbot ingest --rebuild`
    run meanwhile changes the model, and the next document must be embedded with it."""
    from kapbot.ingest import Indexer

    long_lived = Indexer.open(fitted, embeddings=embeddings)
    hours = fitted.corpus_dir / "hours.md"
    hours.write_text(
        "# Hours\n\nThe clinic is open on weekdays from nine in the morning until five in "
        "the afternoon, and closed on public holidays.\n",
        encoding="utf-8",
    )
    assert long_lived.ingest([hours]).added  # embedded with the fitted model
    Indexer.open(fitted.with_(adapt=False), embeddings=embeddings).rebuild()
    new = fitted.corpus_dir / "parking.md"
    new.write_text(
        "# Parking\n\nVisitors may park in the garage beside the clinic entrance. "
        "The first two hours of parking are free for patients with a validated ticket.\n",
        encoding="utf-8",
    )
    report = long_lived.ingest([new])
    assert [Path(a).name for a in report.added] == ["parking.md"]
    ids = long_lived.store.ids_for_source(report.added[0], kind="chunk")
    got = long_lived.store._collection("chunk").get(ids=ids, include=["documents", "embeddings"])
    assert np.allclose(got["embeddings"], embeddings.embed_documents(got["documents"]), atol=1e-4)


@pytest.mark.integration
def test_the_rebuild_command(fitted: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from kapbot.cli import main

    env = {
        "KAPBOT_HOME": str(fitted.home),
        "KAPBOT_CORPUS_DIR": str(fitted.corpus_dir),
        "KAPBOT_ADAPT": "0",
    }
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", "--rebuild", "corpus"], env=env)
    assert result.exit_code == 2 and "takes no paths" in result.output
    result = runner.invoke(main, ["ingest", "--rebuild"], env=env)
    assert result.exit_code == 0, result.output[-2000:]
    assert "5 added" in result.output
    result = runner.invoke(main, ["ask", "--json"], input='{"question": "what is KAP?"}\n', env=env)
    assert result.exit_code == 0 and '"kind": "answer"' in result.output, result.output[-2000:]


@pytest.mark.integration
def test_a_tiny_first_build_keeps_the_packaged_model(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    from kapbot.ingest import Indexer

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.md").write_text(f"# One\n\n{LONG}\n", encoding="utf-8")
    settings = Settings.from_env(home=tmp_path / "home", corpus_dir=corpus, adapt=True)
    indexer = Indexer.open(settings, embeddings=embeddings)
    report = indexer.ingest()
    assert [Path(a).name for a in report.added] == ["one.md"]
    assert indexer.store.model_label() == STOCK
    assert any("Too little text" in n for n in report.notices)
    assert not settings.models_dir.exists()


@pytest.mark.integration
def test_fitting_writes_a_complete_loadable_model(tmp_path: Path, packaged_export: Path) -> None:
    from kapbot.embeddings import HEAD_FILE, QueryEncoder, load_embeddings
    from kapbot.fitting import fit_model

    steps = [
        [
            (f"question about topic {i}", f"A passage that explains topic {i} in detail.")
            for i in range(4)
        ]
    ] * 2
    seen: list[int] = []
    folder = tmp_path / "models" / "fitted-test"
    folder.parent.mkdir()
    (folder.parent / packaged_export.name).symlink_to(packaged_export)
    fit_model(steps, folder, progress=seen.append)
    assert seen == [4, 4, 4, 4]  # two passage-model steps, then two query-head steps
    assert (folder / "modules.json").is_file() and (folder / HEAD_FILE).is_file()
    assert not folder.with_name("fitted-test.partial").exists()
    vector = load_embeddings(8, folder).embed_query("topic 1")
    assert len(vector) == 384 and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3

    packaged = load_embeddings(8)
    encoder = QueryEncoder(packaged, folder / HEAD_FILE)
    assert encoder.has_head
    texts = ["question about topic 1", "topic 1"]
    own, for_passages = encoder.encode(texts)
    assert own == packaged.embed_documents(texts)
    assert len(for_passages) == 2 and own != for_passages
    # The head was trained towards the fitted passages: its query is nearer its own
    # passage than the packaged vector is.
    passage = load_embeddings(8, folder).embed_documents(
        ["A passage that explains topic 1 in detail."]
    )[0]
    assert float(np.dot(for_passages[0], passage)) > float(np.dot(own[0], passage))
    without = QueryEncoder(packaged, tmp_path / "nowhere" / HEAD_FILE)
    assert not without.has_head and without.encode(texts) == (own, own)


@pytest.mark.integration
def test_fitting_in_place_gives_a_packaged_index_the_model_a_first_build_fits(
    fitted: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    """What `kapbot serve` does in the background after `ingest --fit-later`: the same
    model as a first build would fit (here reused from the models folder, so the test is
    quick), the passages embedded again with it in place, and a serving bot switched."""
    from kapbot import Bot
    from kapbot.ingest import Indexer

    first_build = Indexer.open(fitted, embeddings=embeddings).store.model_label()
    assert first_build is not None and first_build.startswith("fitted-")
    Indexer.open(fitted.with_(adapt=False), embeddings=embeddings).rebuild()
    bot = Bot(fitted, embeddings=embeddings)
    assert bot.model == STOCK
    ids = {kind: sorted(bot.store.ids(kind)) for kind in ("chunk", "sentence", "question")}
    sentences, sentence_vectors = _vectors(bot.store, "sentence")

    indexer = Indexer.open(fitted, embeddings=embeddings)
    report = indexer.fit_in_place()
    assert any("already fitted to these documents" in n for n in report.notices)
    assert indexer.store.model_label() == first_build
    bot.refresh()
    assert bot.model == first_build and bot.queries.has_head
    assert {kind: sorted(bot.store.ids(kind)) for kind in ids} == ids  # nothing re-indexed
    texts, stored = _vectors(bot.store, "chunk")
    assert np.allclose(stored, bot.passages.embed_documents(texts), atol=1e-4)
    assert not np.allclose(stored, embeddings.embed_documents(texts), atol=1e-2)
    again = _vectors(bot.store, "sentence")
    assert again[0] == sentences and np.allclose(again[1], sentence_vectors, atol=1e-6)
    assert bot.ask("What is a Schedule III drug?").kind == "answer"

    assert "Nothing to fit" in indexer.fit_in_place().notices[0]
    indexer.store.delete(indexer.store.ids(kind=None))
    assert "Nothing to fit" in indexer.fit_in_place().notices[0]  # an empty index
