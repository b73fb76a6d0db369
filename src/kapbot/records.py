"""Typed records passed between kapbot's parts and shown to people."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileError:
    """A file that could not be ingested, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestReport:
    """What one ingest (or removal) did.

    Document counts: ``added`` (new sources), ``updated`` (changed), ``skipped``
    (unchanged) and ``deleted`` (removed or pruned) list source ids. Chunk counts come
    from LangChain's ``index()``.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    errors: list[FileError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (
            f"Documents: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.skipped)} skipped, {len(self.deleted)} deleted, "
            f"{len(self.errors)} failed. "
            f"Chunks: {self.chunks_added} added, {self.chunks_skipped} skipped, "
            f"{self.chunks_deleted} deleted."
        )


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document, as ``kapbot sources`` lists it."""

    source: str
    title: str
    chunks: int
    added: str
    updated: str
