"""Unit tests for benchmarks/filler.py: seeded, clean of the clinic's subject, sized for
kapbot's chunker (one chunk per section)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapbot.chunking import chunk_document
from kapbot.loaders import load_file
from kapbot.settings import Settings
from tests.conftest import benchmark_module

filler = benchmark_module("filler")


def test_same_seed_same_pages() -> None:
    assert filler.generate_documents(400, seed=3) == filler.generate_documents(400, seed=3)


def test_other_seed_other_pages() -> None:
    first = [d.text for d in filler.generate_documents(200, seed=1)]
    second = [d.text for d in filler.generate_documents(200, seed=2)]
    assert first != second


def test_smaller_set_is_a_prefix_of_a_larger_one() -> None:
    """What lets a larger build reuse the cached embeddings of a smaller one."""
    small = filler.generate_documents(300)
    large = filler.generate_documents(3000)
    assert large[: len(small)] == small


def test_generates_at_least_the_target_and_stops_at_a_whole_page() -> None:
    docs = filler.generate_documents(1000)
    total = sum(d.chunks for d in docs)
    assert 1000 <= total < 1000 + max(d.chunks for d in docs)
    assert filler.generate_documents(0) == []


def test_many_topics() -> None:
    topics = {d.topic for d in filler.generate_documents(3000)}
    assert len(filler.TOPICS) >= 30
    assert len(topics) >= 30


@pytest.mark.parametrize(
    "word",
    [
        "ketamine",
        "Esketamine",
        "SPRAVATO",
        "KAP",
        "psychedelic",
        "dissociation",
        "dissociative",
        "infusion",
        "psychotherapy",
        "medicine-assisted",
    ],
)
def test_forbidden_words_are_refused(word: str) -> None:
    with pytest.raises(ValueError, match="mentions"):
        filler.check_clean(f"Our clinic offers {word} sessions.")


def test_no_page_mentions_the_clinics_subject() -> None:
    for doc in filler.generate_documents(3000, seed=7):
        assert filler.FORBIDDEN.search(doc.text) is None, doc.name


def test_no_template_mentions_the_clinics_subject() -> None:
    """Every template and topic field, not just the ones the pages above happened to pick."""
    texts = [*filler.INTRO, *filler.GENERIC, *filler.TITLES, *filler.PLACES, *filler.STREETS]
    for headings, sentences in filler.SECTIONS.values():
        texts += [*headings, *sentences]
    for topic in filler.TOPICS:
        texts += [str(value) for value in vars(topic).values()]
    for text in texts:
        assert filler.FORBIDDEN.search(text) is None, text


def test_kapbot_chunker_makes_one_chunk_per_section(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    docs = filler.generate_documents(1500, seed=5)
    filler.write_documents(docs, tmp_path)
    expected = sum(d.chunks for d in docs)
    chunks = []
    for path in sorted(tmp_path.glob("*.md")):
        doc = load_file(path, source=path.name)
        assert doc.metadata["title"] and doc.metadata["publisher"]
        chunks += chunk_document(
            doc, max_chars=settings.chunk_max_chars, min_chars=settings.chunk_min_chars
        )
    assert abs(len(chunks) - expected) <= 0.05 * expected
    assert abs(len(chunks) - 1500) <= 0.05 * 1500
    sizes = [len(c.page_content) for c in chunks]
    assert min(sizes) >= filler.BODY_MIN
    assert max(sizes) <= settings.chunk_max_chars


def test_write_replaces_stale_pages_and_keeps_unchanged_ones(tmp_path: Path) -> None:
    filler.write_documents(filler.generate_documents(300), tmp_path)
    kept = tmp_path / filler.generate_documents(1)[0].name
    before = kept.stat().st_mtime_ns
    filler.write_documents(filler.generate_documents(50), tmp_path)
    names = sorted(p.name for p in tmp_path.glob("*.md"))
    assert names == sorted(d.name for d in filler.generate_documents(50))
    assert kept.stat().st_mtime_ns == before
