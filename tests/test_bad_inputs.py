"""Bad files: a one-line error naming the file and reason; nothing else is lost.

Each case replaces an already indexed document with a bad version and adds a good new
document in the same run: the bad file's existing chunks stay exactly as they were and
the good document is still ingested.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kapbot.ingest import Indexer

pytestmark = pytest.mark.integration

TARGET = "kap-vs-infusion-only-therapy.md"
GOOD_NEW = "# Parking\n\nPatients can park in the blue garage behind the clinic on weekdays.\n"


def _pdf_without_text(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    pdf.output(str(path))


BAD_FILES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    # kind: (file name, writer, expected part of the message)
    "empty": (TARGET, lambda p: p.write_bytes(b""), "file is empty"),
    "whitespace only": (TARGET, lambda p: p.write_text("  \n\n \t\n"), "file is empty"),
    "binary garbage": (
        TARGET,
        lambda p: p.write_bytes(os.urandom(4096) + b"\x00" * 64),
        "binary data",
    ),
    "wrong encoding": (
        TARGET,
        lambda p: p.write_bytes("# Tarifas\n\nEl caf\xe9 y la sesi\xf3n.".encode("latin-1")),
        "not valid UTF-8",
    ),
    "front matter does not parse": (
        TARGET,
        lambda p: p.write_text(
            '---\ntitle: "unclosed\npublisher: [x\n---\n\n# Body\n\nText here.\n'
        ),
        "front matter is not valid YAML",
    ),
    "front matter never closed": (
        TARGET,
        lambda p: p.write_text("---\ntitle: Something\n\n# Body\n\nText here.\n"),
        "no closing '---'",
    ),
    "front matter only": (
        TARGET,
        lambda p: p.write_text("---\ntitle: Only a title\n---\n\n"),
        "no text to index",
    ),
    "pdf without text": ("leaflet.pdf", _pdf_without_text, "no extractable text"),
    "broken pdf": (
        "leaflet.pdf",
        lambda p: p.write_bytes(b"%PDF-1.4\n% truncated"),
        "not a readable PDF",
    ),
}


def _good_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Leaflet. Our front desk can explain the preparation session in person.")
    pdf.output(str(path))


def _ids(indexer: Indexer, source: str) -> set[str]:
    return set(indexer.store.ids_for_source(source))


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_is_reported_and_nothing_is_lost(
    kind: str, built_indexer: Indexer, settings
) -> None:  # type: ignore[no-untyped-def]
    name, write_bad, expected = BAD_FILES[kind]
    corpus: Path = settings.corpus_dir
    if name.endswith(".pdf"):
        _good_pdf(corpus / name)
        assert built_indexer.ingest().added == [f"corpus/{name}"]
    source = f"corpus/{name}"
    before_target = _ids(built_indexer, source)
    before_all = set(built_indexer.store.ids())
    assert before_target

    write_bad(corpus / name)
    (corpus / "parking.md").write_text(GOOD_NEW)
    report = built_indexer.ingest(prune=True)

    assert len(report.errors) == 1, report.errors
    error = report.errors[0]
    assert error.path.endswith(name) and expected in error.reason
    line = str(error)
    assert "\n" not in line and name in line
    # The bad file's indexed chunks are untouched, even with --prune.
    assert _ids(built_indexer, source) == before_target
    assert source not in report.deleted
    # Every other document is still there and the good new one was added.
    assert report.added == ["corpus/parking.md"]
    after_all = set(built_indexer.store.ids())
    assert before_all <= after_all
    assert len(after_all - before_all) == 1
    keyword = built_indexer.sync_keyword()
    assert {d.id for d in keyword.docs} == after_all


@pytest.fixture
def world_writable_dir() -> Iterator[Path]:
    """A folder an unprivileged user can use (pytest's tmp folders are private to root)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="kapbot-perm-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _others_can_run(path: Path) -> bool:
    """Whether an unprivileged user can reach and read ``path`` (every folder above it
    searchable by others, the file readable by others)."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def test_unreadable_file_via_cli(world_writable_dir: Path) -> None:
    """Permission denied is reported by name; run as an unprivileged user when we are root."""
    import shutil
    import subprocess

    from tests.conftest import KAPBOT

    tmp_path = world_writable_dir
    corpus = tmp_path / "shared" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "ok.md").write_text("# Hours\n\nThe clinic answers the phone on weekdays.\n")
    secret = corpus / "locked.md"
    secret.write_text("# Locked\n\nNobody may read this file.\n")
    secret.chmod(0o000)
    home = tmp_path / "shared" / "home"
    home.mkdir()
    for p in (tmp_path, tmp_path / "shared", corpus, home):
        p.chmod(0o777)
    command = [KAPBOT, "ingest", str(corpus)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        if not _others_can_run(Path(KAPBOT)):
            pytest.skip("the checkout is not readable by other users (e.g. inside a 0700 folder)")
        command = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    env = {
        **os.environ,
        "KAPBOT_HOME": str(home),
        "KAPBOT_CORPUS_DIR": str(corpus),
        "HOME": str(home),
    }
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {secret}: cannot read the file: permission denied"]
    assert "1 added" in result.stdout and "1 failed" in result.stdout
    assert "Traceback" not in result.stderr
