"""The record manager's SQLite file: two first ingests at once must not crash one of them."""

from __future__ import annotations

import time
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


def _rows(manager: SQLRecordManager) -> list[tuple[object, ...]]:
    with manager.engine.connect() as db:  # type: ignore[union-attr]
        rows = db.exec_driver_sql(
            "SELECT key, namespace, group_id, updated_at FROM upsertion_record ORDER BY key"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_update_writes_what_langchains_update_writes(tmp_path: Path) -> None:
    """The one-statement ``update`` leaves the same rows as ``SQLRecordManager.update``:
    new keys added, known keys moved to the new group and time, other keys untouched."""
    ours = open_record_manager(Settings.from_env({"KAPBOT_HOME": str(tmp_path / "ours")}))
    theirs = SQLRecordManager(ours.namespace, db_url=f"sqlite:///{tmp_path / 'theirs.db'}")
    theirs.create_schema()
    assert type(ours) is not SQLRecordManager and isinstance(ours, SQLRecordManager)
    for manager in (ours, theirs):
        manager.update(["c-1", "c-2", "c-3"], group_ids=["a.md", "a.md", None])
        first = {key: t for key, _, _, t in _rows(manager)}
        time.sleep(0.01)  # the database's clock counts milliseconds
        manager.update(["c-2", "c-4"], group_ids=["b.md", "b.md"], time_at_least=first["c-1"])
        assert sorted(manager.list_keys(group_ids=["b.md"])) == ["c-2", "c-4"]
        rows = _rows(manager)
        assert [r[:3] for r in rows] == [
            ("c-1", ours.namespace, "a.md"),
            ("c-2", ours.namespace, "b.md"),
            ("c-3", ours.namespace, None),
            ("c-4", ours.namespace, "b.md"),
        ]
        times = {key: t for key, _, _, t in rows}
        assert times["c-1"] == first["c-1"] and times["c-3"] == first["c-3"]
        assert times["c-2"] == times["c-4"] > first["c-2"]
        assert sorted(manager.list_keys(before=times["c-2"])) == ["c-1", "c-3"]


def test_update_keeps_langchains_checks(tmp_path: Path) -> None:
    manager = open_record_manager(Settings.from_env({"KAPBOT_HOME": str(tmp_path)}))
    with pytest.raises(ValueError, match="does not match"):
        manager.update(["c-1", "c-2"], group_ids=["a.md"])
    with pytest.raises(AssertionError, match="Time sync issue"):
        manager.update(["c-1"], time_at_least=manager.get_time() + 3600)
    assert manager.list_keys() == []
