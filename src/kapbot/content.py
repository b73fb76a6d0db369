"""What the content team does from the admin page: upload, remove, export feedback.

The corpus folder stays the one source of truth: an upload is checked with the same
loaders as ``kapbot ingest`` and then saved into it and ingested; a removal moves the file
out of the corpus (into ``KAPBOT_HOME/removed/``, so nothing is lost) and removes its
chunks from both indexes.

Example:
    >>> result = upload(indexer, [(Path("/tmp/upload-123"), "parking.md")])  # doctest: +SKIP
    >>> result.report.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kapbot.corpus import source_id, source_path
from kapbot.errors import LoadError
from kapbot.ingest import Indexer
from kapbot.journal import Journal
from kapbot.loaders import SUPPORTED_SUFFIXES, load_file
from kapbot.records import FileError, IngestReport

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name that stays inside the corpus folder: no folders, no hidden files.

    Raises:
        LoadError: the name has an unsupported type or nothing usable is left of it.
    """
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"{base or name!r}: unsupported file type. Supported types are: "
            + ", ".join(SUPPORTED_SUFFIXES)
        )
    clean = _UNSAFE.sub("-", stem).strip(".-_")
    if not clean:
        raise LoadError(f"{base!r}: the file name has no usable characters")
    return f"{clean[:100]}.{suffix.lower()}"


@dataclass
class UploadResult:
    """What an upload did: files saved into the corpus, and the ingest that followed."""

    saved: list[str] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)

    def summary(self) -> str:
        lines = [f"Error: {e}" for e in self.report.errors]
        lines += [f"Warning: {w}" for w in self.report.warnings]
        if self.saved:
            lines.append("Saved to the corpus: " + ", ".join(self.saved))
        lines.append(self.report.summary())
        return "\n".join(lines)


def upload(indexer: Indexer, files: Sequence[tuple[Path, str]]) -> UploadResult:
    """Check, save and ingest uploaded files (``(temporary path, original name)``).

    A file the loaders refuse is reported and not saved; the others are saved into the
    corpus folder (replacing a file of the same name: that is how a document is updated)
    and ingested.
    """
    settings = indexer.settings
    result = UploadResult()
    targets: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="kapbot-upload-") as staging_dir:
        for temp, original in files:
            try:
                name = safe_name(original)
                target = settings.corpus_dir / name
                # Checked under its own name: the loaders go by the file's type.
                staged = Path(staging_dir) / name
                shutil.copyfile(temp, staged)
                load_file(
                    staged,
                    source=source_id(target, settings.corpus_dir),
                    max_bytes=settings.max_file_bytes,
                )
            except LoadError as exc:
                reason = str(exc).replace(f"{staging_dir}/", "")
                result.report.errors.append(FileError(original, reason))
                continue
            settings.corpus_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(staged, target)
            targets.append(target)
            result.saved.append(source_id(target, settings.corpus_dir))
    if targets:
        report = indexer.ingest(targets)
        report.errors = result.report.errors + report.errors
        result.report = report
    return result


def remove(indexer: Indexer, source: str) -> IngestReport:
    """Remove a document from the index and move its file out of the corpus folder."""
    settings = indexer.settings
    report = indexer.remove([source])
    path = source_path(source, settings.corpus_dir)
    if (
        report.ok
        and path.is_file()
        and path.resolve().is_relative_to(settings.corpus_dir.resolve())
    ):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        settings.removed_dir.mkdir(parents=True, exist_ok=True)
        kept = settings.removed_dir / f"{stamp}-{path.name}"
        shutil.move(str(path), kept)
        report.notices.append(f"{source}: the file was moved to {kept}")
    return report


def export_feedback(journal: Journal, out: Path) -> int:
    """Write patient feedback as evaluation cases (JSON Lines, the ``evals/`` schema)."""
    from kapbot.evaluation import feedback_to_case

    records = journal.feedback()
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    lines = [
        json.dumps(
            feedback_to_case(r.to_dict(), f"fb-{stamp}-{int(r.id or 0):05d}"), ensure_ascii=False
        )
        for r in reversed(records)
        if r.rating is not None or r.comment
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600, exist_ok=True)  # readable by its owner only
    out.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return len(lines)
