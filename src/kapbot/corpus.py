"""Finding documents on disk and naming them: the ``source`` id of a document.

A document's source id is its path relative to the folder that holds the corpus folder
(``corpus/cost.md``), so it reads the same whatever the working directory; files outside
that folder are named by their absolute path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kapbot.loaders import SUPPORTED_SUFFIXES
from kapbot.records import FileError


@dataclass
class Discovery:
    """Files found under the given paths."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def source_id(path: Path, corpus_dir: Path) -> str:
    resolved = path.resolve()
    root = corpus_dir.resolve().parent
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return resolved.as_posix()


def source_path(source: str, corpus_dir: Path) -> Path:
    """The file a source id names (inverse of :func:`source_id`)."""
    path = Path(source)
    return path if path.is_absolute() else corpus_dir.resolve().parent / path


def _hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def discover(paths: Sequence[Path]) -> Discovery:
    """Expand folders into their supported files (recursively, skipping hidden ones)."""
    found = Discovery()
    seen: set[Path] = set()
    for raw in paths:
        path = raw.expanduser()
        if path.is_dir():
            found.folders.append(path.resolve())
            skipped = []
            for child in sorted(path.rglob("*")):
                if not child.is_file() or _hidden(child, path):
                    continue
                if child.suffix.lower() in SUPPORTED_SUFFIXES:
                    if child.resolve() not in seen:
                        seen.add(child.resolve())
                        found.files.append(child)
                else:
                    skipped.append(child.name)
            if skipped:
                found.notices.append(
                    f"{path}: skipped {len(skipped)} file(s) of unsupported type: "
                    + ", ".join(skipped[:5])
                    + (" ..." if len(skipped) > 5 else "")
                )
        elif path.exists():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.files.append(path)
        else:
            found.errors.append(FileError(str(raw), "no such file or folder"))
    return found
