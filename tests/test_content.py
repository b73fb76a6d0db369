"""The admin page's operations with the real model and real Chroma: upload, remove, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kapbot import content
from kapbot.errors import LoadError
from kapbot.journal import FeedbackRecord, Journal

PARKING = """---
title: Parking and arrival
publisher: Test clinic
---
# Parking and arrival

## Where to park

Patients can park for free in the blue garage behind the clinic, on level two.
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("parking.md", "parking.md"),
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\me\\My Notes.TXT", "My-Notes.txt"),
        (".hidden.md", "hidden.md"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert content.safe_name(name) == expected


@pytest.mark.parametrize("name", ["run.sh", "noext", "..md", "archive.tar.gz"])
def test_safe_name_refuses(name: str) -> None:
    with pytest.raises(LoadError):
        content.safe_name(name)


@pytest.mark.integration
def test_upload_saves_into_the_corpus_and_indexes(built_indexer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    temp = tmp_path / "upload-1234"
    temp.write_text(PARKING, encoding="utf-8")
    result = content.upload(built_indexer, [(temp, "Parking & arrival.md")])
    assert result.report.ok, result.summary()
    assert result.saved == ["corpus/Parking-arrival.md"]
    assert (built_indexer.settings.corpus_dir / "Parking-arrival.md").read_text() == PARKING
    hits = built_indexer.store.similarity_search("where can I park my car?", k=1)
    assert "blue garage" in hits[0][0].page_content
    assert "blue garage" in built_indexer.sync_keyword().search("blue garage", 1)[0][0].page_content


@pytest.mark.integration
def test_bad_upload_is_reported_and_nothing_is_lost(built_indexer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = sorted(built_indexer.store.ids())
    corpus_before = sorted(p.name for p in built_indexer.settings.corpus_dir.iterdir())
    garbage = tmp_path / "upload-5678"
    garbage.write_bytes(b"\x00\xff\x00\xfe" * 500)
    good = tmp_path / "upload-9999"
    good.write_text(PARKING, encoding="utf-8")
    result = content.upload(built_indexer, [(garbage, "broken.md"), (good, "parking.md")])
    assert [e.path for e in result.report.errors] == ["broken.md"]
    assert "upload-5678" not in result.summary()  # the message names the file as uploaded
    assert result.saved == ["corpus/parking.md"]
    names = sorted(p.name for p in built_indexer.settings.corpus_dir.iterdir())
    assert names == sorted([*corpus_before, "parking.md"])
    assert set(before) < set(built_indexer.store.ids())


@pytest.mark.integration
def test_remove_moves_the_file_out_and_unindexes(built_indexer) -> None:  # type: ignore[no-untyped-def]
    settings = built_indexer.settings
    source = "corpus/cohen-kap-vs-infusions.md"
    report = content.remove(built_indexer, source)
    assert report.deleted == [source]
    assert not (settings.corpus_dir / "cohen-kap-vs-infusions.md").exists()
    [kept] = list(settings.removed_dir.iterdir())
    assert kept.name.endswith("cohen-kap-vs-infusions.md")
    assert source not in built_indexer.store.source_stats()
    # A later ingest of the corpus does not bring it back.
    assert source not in built_indexer.ingest().added


def test_export_feedback_as_cases(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.add_feedback(
        FeedbackRecord(
            question="Is KAP covered by insurance?",
            answer="Sometimes. [1]",
            rating=1,
            citations=({"n": 1, "source": "corpus/x.md", "text": "Some plans cover it. More."},),
        )
    )
    journal.add_feedback(FeedbackRecord(question="Where do I park?", answer="...", rating=-1))
    out = tmp_path / "cases.jsonl"
    assert content.export_feedback(journal, out) == 2
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert [c["question"] for c in cases] == ["Is KAP covered by insurance?", "Where do I park?"]
    assert all({"id", "category", "question", "evidence"} <= set(c) for c in cases)
    assert len({c["id"] for c in cases}) == 2
