"""The journal: feedback and content gaps in a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kapbot.journal import MIGRATIONS, FeedbackRecord, Journal


def test_feedback_round_trip_and_update(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    row = journal.add_feedback(
        FeedbackRecord(
            question="What does KAP cost?",
            answer="It varies. [1]",
            rating=-1,
            history=({"role": "user", "content": "hi"},),
            citations=({"n": 1, "source": "corpus/cost.md", "text": "It varies."},),
        )
    )
    journal.update_feedback(row, rating=1, comment="Helpful, thanks")
    [saved] = journal.feedback()
    assert saved.id == row
    assert saved.rating == 1
    assert saved.comment == "Helpful, thanks"
    assert saved.citations[0]["source"] == "corpus/cost.md"
    assert saved.history == ({"role": "user", "content": "hi"},)
    assert saved.created  # stamped on insert


def test_rating_is_validated() -> None:
    with pytest.raises(ValueError, match="rating must be"):
        FeedbackRecord(question="q", answer="a", rating=5)


def test_gaps_group_the_same_question(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.add_gap("Where do I park?", "where do i park", 0.12)
    journal.add_gap("where do I park? ", "where do i park", 0.2)
    journal.add_gap("Do you take cats?", "", 0.05)
    gaps = journal.gaps()
    assert [(g.count, g.question.lower().strip()) for g in gaps] == [
        (2, "where do i park?"),
        (1, "do you take cats?"),
    ]
    assert gaps[0].similarity == pytest.approx(0.2)


def test_migrations_run_once_and_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path).add_gap("q")
    Journal(path)  # opening again must not re-run or fail
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("SELECT count(*) FROM gaps").fetchone()[0] == 1


IDENTIFIERS = ("jo@example.com", "555-123-4567", "123-45-6789", "04/12/1987")


def test_nothing_stored_or_exported_holds_an_identifier(tmp_path: Path) -> None:
    from kapbot.content import export_feedback

    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    said = "I'm Jo, jo@example.com, 555-123-4567, SSN 123-45-6789, born 04/12/1987."
    row = journal.add_feedback(
        FeedbackRecord(
            question=f"{said} Does insurance cover Spravato?",
            answer="Insurance coverage is more common with Spravato. [1]",
            rating=1,
            history=({"role": "user", "content": said}, {"role": "assistant", "content": "Hi"}),
        )
    )
    journal.update_feedback(row, comment=f"call me back: {said}")
    journal.add_gap(f"{said} Is there parking?", query=said)
    out = tmp_path / "exports" / "cases.jsonl"
    export_feedback(journal, out)
    for stored in (path.read_bytes().decode("utf-8", "replace"), out.read_text(encoding="utf-8")):
        for identifier in IDENTIFIERS:
            assert identifier not in stored
    # What the rows are for is kept: the question, the comment's request, the gap.
    (record,) = journal.feedback()
    assert "Does insurance cover Spravato?" in record.question and "[email]" in record.comment
    assert journal.gaps()[0].question.endswith("Is there parking?")
    # Readable by their owner only.
    assert path.stat().st_mode & 0o777 == 0o600
    assert out.stat().st_mode & 0o777 == 0o600


def test_rows_older_than_the_retention_period_are_purged(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, retention_days=30)
    journal.add_feedback(
        FeedbackRecord(question="old", answer="a", rating=1, created="2020-01-01T00:00:00+00:00")
    )
    journal.add_feedback(FeedbackRecord(question="new", answer="a", rating=1))
    journal.add_gap("recent gap")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO gaps (created, question) VALUES ('2020-01-01T00:00:00+00:00', 'old gap')"
        )
    journal.count_crisis_reply()
    assert journal.purge() == 2
    assert [r.question for r in journal.feedback()] == ["new"]
    assert [g.question for g in journal.gaps()] == ["recent gap"]
    assert sum(n for _day, n in journal.crisis_days()) == 1  # counts only: kept
    assert Journal(path, retention_days=30).purge(days=0) == 2  # `kapbot purge --days 0`


def test_kapbot_purge_deletes_what_is_older_than_asked(tmp_path: Path) -> None:
    from tests.conftest import run_kapbot

    home = tmp_path / "home"
    journal = Journal(home / "journal.sqlite")
    journal.add_feedback(
        FeedbackRecord(question="q", answer="a", rating=1, created="2020-01-01T00:00:00+00:00")
    )
    journal.add_gap("a recent question")
    done = run_kapbot("purge", env={"KAPBOT_HOME": str(home), "KAPBOT_RETENTION_DAYS": "7"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Deleted 1 journal rows older than 7 days."
    assert journal.feedback() == [] and len(journal.gaps()) == 1
