"""SIGKILL in the middle of a large ingest, then ingest again: every chunk exactly once."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from kapbot.chunking import chunk_document, sentence_documents
from kapbot.corpus import source_id
from kapbot.ingest import Indexer
from kapbot.keyword import KeywordIndex
from kapbot.loaders import load_file
from kapbot.settings import Settings
from tests.conftest import KAPBOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_DOCS = 500
WORDS = (
    "clinic session patient therapist preparation integration dose lozenge infusion "
    "insurance invoice evaluation monitoring nasal spray esketamine blood pressure nausea "
    "journal music eyeshades support follow-up schedule weekday morning evening parking"
).split()


def _generate(corpus: Path, n: int) -> None:
    rng = random.Random(1234)
    for i in range(n):
        # One sentence per note: a chunk and its heading record (keeps the test quick).
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 18)))
        text = f"# Generated note {i}\n\nNote {i} covers {words}.\n"
        (corpus / f"note-{i:05d}.md").write_text(text)


def _records(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM upsertion_record").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_killed_ingest_is_completed_by_the_next_run(
    tmp_path: Path, _isolated_home: Path, embeddings
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _generate(corpus, N_DOCS)
    settings = Settings.from_env(home=_isolated_home, corpus_dir=corpus, index_batch_size=128)
    expected: set[str] = set()
    expected_records: set[str] = set()
    for path in sorted(corpus.glob("*.md")):
        doc = load_file(path, source=source_id(path, corpus))
        for chunk in chunk_document(
            doc, max_chars=settings.chunk_max_chars, min_chars=settings.chunk_min_chars
        ):
            expected.add(chunk.id or "")
            expected_records |= {chunk.id or ""} | {s.id or "" for s in sentence_documents(chunk)}
    assert len(expected) >= N_DOCS

    env = {**os.environ, "KAPBOT_CORPUS_DIR": str(corpus), "KAPBOT_INDEX_BATCH_SIZE": "128"}
    proc = subprocess.Popen(
        [KAPBOT, "ingest"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while _records(settings.records_db) < len(expected_records) // 3:
        assert proc.poll() is None, "ingest finished before it could be killed"
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial = _records(settings.records_db)
    assert 0 < partial < len(expected_records), "the kill must land in the middle of the ingest"

    rerun = subprocess.run([KAPBOT, "ingest"], env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr

    indexer = Indexer.open(settings, embeddings=embeddings)
    ids = indexer.store.ids()
    assert len(ids) == len(set(ids)), "duplicate chunk ids in the store"
    assert set(ids) == expected, (
        f"missing {len(expected - set(ids))}, unexpected {len(set(ids) - expected)}"
    )
    texts = [(d.metadata["source"], d.page_content) for d in indexer.store.iter_chunks()]
    assert len(texts) == len(set(texts)), "the same passage is stored twice"
    assert set(indexer.records.list_keys()) == set(indexer.store.ids(kind=None)) == expected_records
    sentences = indexer.store.get(indexer.store.ids(kind="sentence"))
    parents = {d.metadata["parent"] for d in sentences}
    assert parents == expected, "every chunk has its sentences and no sentence is orphaned"
    keyword = KeywordIndex.load(settings.keyword_dir)
    assert keyword is not None
    assert sorted(d.id or "" for d in keyword.docs) == sorted(expected)
    # The rerun did not embed everything again: what was written before the kill was kept.
    added = int(rerun.stdout.split("Chunks: ")[1].split(" added")[0])
    assert added < len(expected)
