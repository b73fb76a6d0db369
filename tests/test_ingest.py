"""Incremental ingestion with the real model and the real embedded Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapbot.chunking import chunk_document
from kapbot.corpus import source_id
from kapbot.ingest import Indexer
from kapbot.keyword import KeywordIndex, fingerprint
from kapbot.loaders import load_file

pytestmark = pytest.mark.integration

COST_DOC = "choosing-therapy-kap-overview.md"
OLD_SENTENCE = "Ketamine treatments can run as low as $89 per session"
NEW_SENTENCE = "The clinic's zebra-striped payment plan spreads the quoted fee over twelve monthly instalments."


def ids_by_source(indexer: Indexer) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for doc in indexer.store.iter_chunks():
        out.setdefault(doc.metadata["source"], set()).add(doc.id or "")
    return out


def expected_ids(corpus: Path, settings) -> set[str]:  # type: ignore[no-untyped-def]
    ids = set()
    for path in sorted(corpus.glob("*.md")):
        doc = load_file(path, source=source_id(path, settings.corpus_dir))
        ids |= {
            c.id or ""
            for c in chunk_document(
                doc, max_chars=settings.chunk_max_chars, min_chars=settings.chunk_min_chars
            )
        }
    return ids


def test_second_ingest_skips_everything(indexer: Indexer, settings) -> None:  # type: ignore[no-untyped-def]
    first = indexer.ingest()
    assert first.ok, first.errors
    assert len(first.added) == 5 and first.chunks_added > 50
    count = indexer.store.count()
    assert count == first.chunks_added
    assert set(indexer.store.ids()) == expected_ids(settings.corpus_dir, settings)

    second = indexer.ingest()
    assert second.added == [] and second.updated == [] and second.deleted == []
    assert len(second.skipped) == 5
    assert second.chunks_added == 0 and second.chunks_deleted == 0
    assert second.chunks_skipped == count
    assert indexer.store.count() == count


def test_edited_sentence_replaces_only_that_documents_chunks(
    built_indexer: Indexer, settings
) -> None:  # type: ignore[no-untyped-def]
    before = ids_by_source(built_indexer)
    path = settings.corpus_dir / COST_DOC
    text = path.read_text(encoding="utf-8")
    body = text.index("\n---", 3)  # the sentence is quoted in the front matter's questions too
    start = text.index(OLD_SENTENCE, body)
    end = text.index(".", text.index("several thousand dollars", start)) + 1
    path.write_text(text[:start] + NEW_SENTENCE + text[end:], encoding="utf-8")

    report = built_indexer.ingest()
    edited = source_id(path, settings.corpus_dir)
    assert report.updated == [edited]
    assert len(report.skipped) == 4
    assert report.chunks_added == 1 and report.chunks_deleted == 1

    after = ids_by_source(built_indexer)
    for source, ids in before.items():
        if source != edited:
            assert after[source] == ids, f"{source} changed although it was not edited"
    assert len(after[edited] - before[edited]) == 1
    assert len(before[edited] - after[edited]) == 1

    all_text = [d.page_content for d in built_indexer.store.iter_chunks()]
    assert any(NEW_SENTENCE in t for t in all_text)
    assert not any(OLD_SENTENCE in t for t in all_text)

    dense = built_indexer.store.similarity_search(NEW_SENTENCE, k=1)
    assert NEW_SENTENCE in dense[0][0].page_content
    keyword = built_indexer.sync_keyword()
    hits = keyword.search("zebra striped instalments", k=3)
    assert hits and NEW_SENTENCE in hits[0][0].page_content
    assert not any(OLD_SENTENCE in d.page_content for d in keyword.docs)
    # In step with the store: built from its passages and the curated questions' ids.
    store = built_indexer.store
    assert keyword.fingerprint == fingerprint(store.ids() + store.ids(kind="question"))


def test_prune_removes_deleted_document_from_both_indexes(built_indexer: Indexer, settings) -> None:  # type: ignore[no-untyped-def]
    gone = settings.corpus_dir / "kap-vs-infusion-only-therapy.md"
    gone_source = source_id(gone, settings.corpus_dir)
    gone_ids = ids_by_source(built_indexer)[gone_source]
    gone.unlink()

    without_prune = built_indexer.ingest()
    assert without_prune.deleted == []
    assert gone_source in ids_by_source(built_indexer), "a plain ingest must not delete documents"

    report = built_indexer.ingest(prune=True)
    assert report.deleted == [gone_source]
    assert report.chunks_deleted == len(gone_ids)
    assert gone_source not in ids_by_source(built_indexer)
    assert not gone_ids & set(built_indexer.store.ids())
    keyword = KeywordIndex.load(settings.keyword_dir)
    assert keyword is not None
    assert not gone_ids & {d.id for d in keyword.docs}
    assert all(d.metadata["source"] != gone_source for d in keyword.docs)
    assert keyword.search("Duration of Benefit Longer-lasting with integration", k=5) == [] or all(
        h[0].metadata["source"] != gone_source
        for h in keyword.search("Duration of Benefit Longer-lasting with integration", k=5)
    )
    assert gone_source not in {s.source for s in built_indexer.sources()}


def test_prune_leaves_other_folders_alone(built_indexer: Indexer, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "hours.md").write_text(
        "# Opening hours\n\nThe front desk answers calls on weekdays.\n"
    )
    built_indexer.ingest([settings.corpus_dir, other])
    report = built_indexer.ingest([settings.corpus_dir], prune=True)
    assert report.deleted == []
    assert source_id(other / "hours.md", settings.corpus_dir) in {
        s.source for s in built_indexer.sources()
    }


def test_remove_one_document(built_indexer: Indexer, settings) -> None:  # type: ignore[no-untyped-def]
    target = "corpus/cohen-kap-vs-infusions.md"
    assert target in ids_by_source(built_indexer)
    count = built_indexer.store.count()
    n = len(ids_by_source(built_indexer)[target])
    report = built_indexer.remove([target])
    assert report.deleted == [target] and report.chunks_deleted == n
    assert target not in ids_by_source(built_indexer)
    assert built_indexer.store.count() == count - n
    keyword = built_indexer.sync_keyword()
    assert all(d.metadata["source"] != target for d in keyword.docs)

    missing = built_indexer.remove(["corpus/never-was-here.md"])
    assert not missing.ok and "is not indexed" in missing.errors[0].reason
    # The file is still in the folder: ingesting again brings it back.
    assert built_indexer.ingest().added == [target]


def test_sources_lists_title_source_chunks_and_date(built_indexer: Indexer) -> None:
    rows = built_indexer.sources()
    assert len(rows) == 5
    by_source = {r.source: r for r in rows}
    cohen = by_source["corpus/cohen-kap-vs-infusions.md"]
    assert cohen.title.startswith("What Is Ketamine-Assisted Psychotherapy")
    assert cohen.chunks == len(ids_by_source(built_indexer)[cohen.source])
    assert cohen.added[:4].isdigit() and "T" in cohen.added
    assert sum(r.chunks for r in rows) == built_indexer.store.count()


def test_records_missing_from_store_are_rewritten(built_indexer: Indexer) -> None:
    """If vectors vanish (a wiped server), the next ingest writes them again."""
    ids = built_indexer.store.ids()
    lost = ids[:7]
    built_indexer.store.delete(lost)
    report = built_indexer.ingest()
    assert report.chunks_added == 7
    assert sorted(built_indexer.store.ids()) == sorted(ids)


def test_orphan_vectors_are_deleted(built_indexer: Indexer) -> None:
    """Vectors written without a record (killed before the record update) are cleaned up."""
    from langchain_core.documents import Document

    built_indexer.store.vectorstore.add_documents(
        [Document(page_content="stale text", metadata={"source": "corpus/x.md"})], ids=["orphan-1"]
    )
    built_indexer.ingest()
    assert "orphan-1" not in set(built_indexer.store.ids())


def test_promise_language_is_flagged_at_ingest_and_in_sources(
    built_indexer: Indexer, settings
) -> None:  # type: ignore[no-untyped-def]
    (settings.corpus_dir / "ad.md").write_text(
        "# Our promise\n\nKAP will cure your depression in one visit. Sessions last two hours.\n"
    )
    report = built_indexer.ingest()
    assert report.added == ["corpus/ad.md"]
    assert len(report.warnings) == 1
    assert "ad.md" in report.warnings[0] and "will cure your depression" in report.warnings[0]
    rows = {r.source: r for r in built_indexer.sources()}
    assert rows["corpus/ad.md"].warnings == ("KAP will cure your depression in one visit.",)
    assert all(not r.warnings for s, r in rows.items() if s != "corpus/ad.md")


PARKING_DOC = """---
title: Visiting us
questions:
  - question: "where do i leave my car"
    quote: "Free spaces are behind the building"
  - question: "can i come by bus"
    quote: "The number 7 stops at the door."
  - question: "is there valet"
    quote: "Valet service is available on weekends."
---

## Parking

Free spaces are behind the building, next to the pharmacy.

## Public transport

The number 7 stops at the door.
"""


def test_curated_questions_point_at_their_passage_and_follow_edits(
    built_indexer: Indexer, settings
) -> None:  # type: ignore[no-untyped-def]
    from kapbot.keyword import KeywordIndex
    from kapbot.retrieval import HybridRetriever

    path = settings.corpus_dir / "visiting.md"
    path.write_text(PARKING_DOC, encoding="utf-8")

    report = built_indexer.ingest()

    assert report.added == ["corpus/visiting.md"]
    [warning] = [w for w in report.warnings if "visiting.md" in w]
    assert "is there valet" in warning and "is not in the document" in warning
    store = built_indexer.store
    questions = store.ids_for_source("corpus/visiting.md", kind="question")
    assert len(questions) == 2
    parking = next(d for d in store.iter_chunks() if d.metadata.get("section") == "Parking")
    keyword = KeywordIndex.build(list(store.iter_chunks()))
    retriever = HybridRetriever(store=store, keyword=keyword, settings=settings)
    assert retriever.search("where do i leave my car")[0].id == parking.id

    chunk_ids = set(store.ids_for_source("corpus/visiting.md", kind="chunk"))
    assert built_indexer.ingest().skipped.count("corpus/visiting.md") == 1
    path.write_text(PARKING_DOC.replace("can i come by bus", "which bus goes there"), "utf-8")
    again = built_indexer.ingest()
    assert again.updated == ["corpus/visiting.md"]
    assert set(store.ids_for_source("corpus/visiting.md", kind="chunk")) == chunk_ids
    texts = {
        d.page_content
        for d in store.get(store.ids_for_source("corpus/visiting.md", kind="question"))
    }
    assert texts == {"where do i leave my car", "which bus goes there"}


@pytest.mark.parametrize("write_batch", [256, 2048])
def test_ingest_embeds_each_new_text_once_in_windows(settings, embeddings, write_batch) -> None:  # type: ignore[no-untyped-def]
    """The real model sees whole windows (sorted by length inside it), never a text twice:
    also when a write batch is larger than the window and asks for its texts in another
    order than the plan's (the store writes each kind of record apart)."""
    import dataclasses

    calls: list[int] = []
    texts: list[str] = []

    class Recorder:
        def embed_documents(self, batch: list[str]) -> list[list[float]]:
            calls.append(len(batch))
            texts.extend(batch)
            return embeddings.embed_documents(batch)  # type: ignore[no-any-return]

        def embed_query(self, text: str) -> list[float]:
            return embeddings.embed_query(text)  # type: ignore[no-any-return]

    windowed = dataclasses.replace(settings, embed_window=700, index_batch_size=write_batch)
    indexer = Indexer.open(windowed, embeddings=Recorder())  # type: ignore[arg-type]
    report = indexer.ingest()
    assert report.ok, report.errors
    assert len(texts) == len(set(texts))  # no text embedded twice
    stored = indexer.store.get(indexer.store.ids(kind=None))
    assert set(texts) == {d.page_content for d in stored}  # and every record's text once
    # document_records is the whole plan (benchmarks/scale.py --warm-cache embeds it ahead).
    from kapbot.chunking import document_records
    from kapbot.corpus import discover
    from kapbot.loaders import load_file

    planned: set[str] = set()
    for path in discover([settings.corpus_dir]).files:
        records, _ = document_records(
            load_file(path, source=path.name),
            max_chars=settings.chunk_max_chars,
            min_chars=settings.chunk_min_chars,
        )
        planned |= {r.page_content for r in records}
    assert set(texts) == planned
    assert max(calls) <= 700 and len(calls) == -(-len(texts) // 700)
    hits = indexer.store.similarity_search("Ketamine treatments can run as low as $89 per session")
    assert OLD_SENTENCE in hits[0][0].page_content


def test_an_index_of_the_older_one_collection_layout_is_rebuilt(
    built_indexer: Indexer, settings, embeddings, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Sentences kept beside the passages (before one collection per kind) are moved."""
    from kapbot.ingest import ensure_index

    store = built_indexer.store
    sentence_ids = sorted(store.ids(kind="sentence"))
    old = store.get(sentence_ids[:40])
    store.delete(sentence_ids)
    store.vectorstore.stores["chunk"].add_documents(old, ids=[d.id or "" for d in old])
    assert len(store.ids(kind="chunk")) == len(expected_ids(settings.corpus_dir, settings)) + 40

    reopened = Indexer.open(settings, embeddings=embeddings)
    assert "older layout" in caplog.text
    assert {d.metadata["kind"] for d in reopened.store.iter_chunks()} == {"chunk"}
    report = ensure_index(settings)
    assert report is not None and report.ok, report
    assert sorted(reopened.store.ids(kind="sentence")) == sentence_ids
    hits = reopened.store.search_by_vector(reopened.store.embed_query(OLD_SENTENCE), 1, "sentence")
    assert OLD_SENTENCE in hits[0][0].page_content


def test_short_records_keep_their_text_in_metadata_and_old_ones_still_read(
    built_indexer: Indexer,
) -> None:
    """Sentences, pairs and curated questions are written without a Chroma document (an
    embedded Chroma indexes documents for full-text search, which kapbot does not use),
    their text in the metadata; records written before that, with the text as their
    document, read back the same."""
    from kapbot.store import TEXT_KEY

    store = built_indexer.store
    for kind in ("sentence", "question"):
        raw = store._collection(kind).get(limit=5, include=["documents", "metadatas"])
        assert raw["ids"] and raw["documents"] == [None] * len(raw["ids"])
        assert all(m[TEXT_KEY] for m in raw["metadatas"])
    passages = store._collection("chunk").get(limit=5, include=["documents", "metadatas"])
    assert all(passages["documents"]) and not any(TEXT_KEY in m for m in passages["metadatas"])

    hit = store.search_by_vector(store.embed_query(OLD_SENTENCE), 1, "sentence")[0][0]
    assert OLD_SENTENCE in hit.page_content and TEXT_KEY not in hit.metadata
    assert store.get([hit.id or ""]) == [hit]
    questions = store.questions_by_chunk()
    assert questions and all(q for texts in questions.values() for q in texts)

    # The same sentence as an older index stored it: its text as the document.
    collection = store._collection("sentence")
    vector = collection.get(ids=[hit.id], include=["embeddings"])["embeddings"][0]
    collection.upsert(
        ids=[hit.id], embeddings=[vector], documents=[hit.page_content], metadatas=[hit.metadata]
    )
    assert store.get([hit.id or ""]) == [hit]
    again = store.search_by_vector(store.embed_query(OLD_SENTENCE), 1, "sentence")[0][0]
    assert again == hit
