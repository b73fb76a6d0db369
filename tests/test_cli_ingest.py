"""The content team's commands, run as real processes: ingest, sources, remove, locking."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import CORPUS, KAPBOT, run_kapbot

pytestmark = pytest.mark.integration


def _counts(stdout: str) -> dict[str, int]:
    docs = re.search(
        r"Documents: (\d+) added, (\d+) updated, (\d+) skipped, (\d+) deleted, (\d+) failed", stdout
    )
    chunks = re.search(r"Chunks: (\d+) added, (\d+) skipped, (\d+) deleted", stdout)
    assert docs and chunks, stdout
    keys = ["added", "updated", "skipped", "deleted", "failed"]
    out = dict(zip(keys, map(int, docs.groups()), strict=True))
    out |= dict(
        zip(
            ["chunks_added", "chunks_skipped", "chunks_deleted"],
            map(int, chunks.groups()),
            strict=True,
        )
    )
    return out


def test_ingest_twice_sources_and_remove(corpus_copy: Path) -> None:
    env = {"KAPBOT_CORPUS_DIR": str(corpus_copy)}
    first = run_kapbot("ingest", env=env)
    assert first.returncode == 0, first.stderr
    c1 = _counts(first.stdout)
    assert c1["added"] == 5 and c1["failed"] == 0 and c1["chunks_added"] > 50
    assert "Embedding" in first.stderr  # the progress bar

    second = run_kapbot("ingest", env=env)
    assert second.returncode == 0, second.stderr
    c2 = _counts(second.stdout)
    assert (c2["added"], c2["updated"], c2["skipped"], c2["deleted"]) == (0, 0, 5, 0)
    assert (c2["chunks_added"], c2["chunks_skipped"]) == (0, c1["chunks_added"])
    assert "Embedding" not in second.stderr

    listing = run_kapbot("sources", env=env)
    assert listing.returncode == 0
    assert f"5 documents, {c1['chunks_added']} chunks." in listing.stdout
    assert "corpus/prati-kap-vs-infusion-therapy.md" in listing.stdout
    assert "Ketamine-Assisted Psychotherapy vs. Ketamine Infusion Therapy" in listing.stdout

    removed = run_kapbot("remove", "corpus/prati-kap-vs-infusion-therapy.md", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "Removed corpus/prati-kap-vs-infusion-therapy.md" in removed.stdout
    listing = run_kapbot("sources", env=env)
    assert "prati-kap-vs-infusion-therapy" not in listing.stdout
    assert "4 documents" in listing.stdout

    unknown = run_kapbot("remove", "corpus/nope.md", env=env)
    assert unknown.returncode == 1
    assert "corpus/nope.md: is not indexed" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_bad_files_give_one_line_each_and_exit_nonzero(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("# Parking\n\nThe blue garage behind the clinic is free.\n")
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    result = run_kapbot("ingest", env={"KAPBOT_CORPUS_DIR": str(corpus)})
    assert result.returncode == 1
    errors = sorted(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    assert errors == [
        f"Error: {corpus / 'empty.md'}: file is empty",
        f"Error: {corpus / 'latin.txt'}: is not valid UTF-8 (byte 0xe9 at offset 3); "
        "save it as UTF-8 and ingest again",
    ]
    assert "skipped 1 file(s) of unsupported type: notes.docx" in result.stderr
    assert _counts(result.stdout)["added"] == 1
    assert "Traceback" not in result.stderr


def test_second_ingest_refuses_while_first_holds_the_lock(
    corpus_copy: Path, _isolated_home: Path
) -> None:
    lock = FileLock(str(_isolated_home / "ingest.lock"))
    with lock:
        result = run_kapbot(
            "ingest", env={"KAPBOT_CORPUS_DIR": str(corpus_copy), "KAPBOT_LOCK_TIMEOUT": "0"}
        )
    assert result.returncode == 1
    assert "Another ingest is running" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def two_documents(tmp_path: Path) -> Path:
    """A corpus of the two shortest bundled documents: the locking tests are about the
    lock, not the amount of text (a smaller corpus keeps them quick)."""
    target = tmp_path / "small-corpus"
    target.mkdir()
    for name in ("kap-vs-infusion-only-therapy.md", "cohen-kap-vs-infusions.md"):
        shutil.copy(CORPUS / name, target / name)
    return target


def test_second_ingest_waits_for_the_first(two_documents: Path, _isolated_home: Path) -> None:
    lock = FileLock(str(_isolated_home / "ingest.lock"), thread_local=False)
    lock.acquire()
    release = threading.Timer(4.0, lock.release)
    release.start()
    try:
        started = time.monotonic()
        result = run_kapbot(
            "ingest", "--wait", "120", env={"KAPBOT_CORPUS_DIR": str(two_documents)}
        )
    finally:
        release.join()
    assert result.returncode == 0, result.stderr
    assert "waiting up to 120s" in result.stderr
    assert time.monotonic() - started >= 4.0
    assert _counts(result.stdout)["added"] == 2


def test_two_real_ingests_at_once_leave_one_correct_index(two_documents: Path) -> None:
    env = {**os.environ, "KAPBOT_CORPUS_DIR": str(two_documents)}
    procs = [
        subprocess.Popen(
            [KAPBOT, "ingest"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = sorted((_counts(out)["added"], _counts(out)["skipped"]) for out, _ in outs)
    assert counts == [(0, 2), (2, 0)]
    listing = run_kapbot("sources", "--json", env={"KAPBOT_CORPUS_DIR": str(two_documents)})
    rows = [line for line in listing.stdout.splitlines() if line.strip()]
    assert len(rows) == 2
    check = run_kapbot("ingest", env={"KAPBOT_CORPUS_DIR": str(two_documents)})
    assert _counts(check.stdout)["chunks_added"] == 0
