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
