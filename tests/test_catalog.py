"""The record manager's SQLite file: two first ingests at once must not crash one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_classic.indexes import SQLRecordManager
from sqlalchemy.exc import OperationalError

from kapbot.catalog import open_record_manager
from kapbot.settings import Settings


def _raise_after_creating(message: str):  # type: ignore[no-untyped-def]
    real = SQLRecordManager.create_schema
    calls: list[int] = []

    def create_schema(self: SQLRecordManager) -> None:
        calls.append(1)
        real(self)
        if len(calls) == 1:  # the other process won the race to CREATE TABLE
            raise OperationalError("CREATE TABLE upsertion_record", {}, Exception(message))

    return create_schema, calls


def test_schema_created_by_another_process_meanwhile_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_schema, calls = _raise_after_creating("table upsertion_record already exists")
    monkeypatch.setattr(SQLRecordManager, "create_schema", create_schema)
    manager = open_record_manager(Settings.from_env({"KAPBOT_HOME": str(tmp_path)}))
    manager.update(["chunk-1"], group_ids=["a.md"])
    assert manager.exists(["chunk-1", "chunk-2"]) == [True, False]
    assert len(calls) == 2


def test_other_database_errors_are_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_schema, _ = _raise_after_creating("disk I/O error")
    monkeypatch.setattr(SQLRecordManager, "create_schema", create_schema)
    with pytest.raises(OperationalError, match="disk I/O error"):
        open_record_manager(Settings.from_env({"KAPBOT_HOME": str(tmp_path)}))


def test_record_queries_larger_than_sqlites_variable_limit(tmp_path: Path) -> None:
    """A 100k-chunk corpus has about a million records; SQLite takes 250,000 per statement."""
    from kapbot.ingest import delete_keys, known_keys

    manager = open_record_manager(Settings.from_env({"KAPBOT_HOME": str(tmp_path)}))
    manager.update(["chunk-7", "chunk-299999"], group_ids=["a.md", "a.md"])
    keys = [f"chunk-{i}" for i in range(300_000)]
    with pytest.raises(OperationalError, match="too many SQL variables"):
        manager.exists(keys)  # what one unbatched query does
    found = known_keys(manager, keys)
    assert len(found) == 300_000 and [keys[i] for i, f in enumerate(found) if f] == [
        "chunk-7",
        "chunk-299999",
    ]
    delete_keys(manager, keys)
    assert manager.list_keys() == []
