"""The ``kapbot`` command: a thin click layer over the library.

Library errors become one-line messages on stderr and a non-zero exit; set
``KAPBOT_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kapbot.errors import KapbotError
from kapbot.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (KapbotError, ValueError) as exc:
            if os.environ.get("KAPBOT_DEBUG"):
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class BarProgress:
    """A tqdm progress bar on stderr while chunks are embedded."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int, description: str) -> None:
        from tqdm import tqdm

        if total > 0:
            self._bar = tqdm(total=total, desc=description, unit="chunk", file=sys.stderr)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def message(self, text: str) -> None:
        click.echo(text, err=True)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """kapbot: the clinic's FAQ assistant, answering only from its own documents."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = Settings.from_env()


def _indexer(settings: Settings):  # type: ignore[no-untyped-def]
    from kapbot.ingest import Indexer

    return Indexer.open(settings, progress=BarProgress())


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--prune", is_flag=True, help="Also remove indexed documents gone from these folders."
)
@click.option(
    "--wait",
    type=float,
    default=None,
    help="Seconds to wait if another ingest is running (default: KAPBOT_LOCK_TIMEOUT).",
)
@click.pass_obj
@_friendly_errors
def ingest(settings: Settings, paths: tuple[Path, ...], prune: bool, wait: float | None) -> None:
    """Add or update documents (default: the corpus folder)."""
    if wait is not None:
        settings = settings.with_(lock_timeout=wait)
    report = _indexer(settings).ingest(list(paths) or None, prune=prune)
    for notice in report.notices:
        click.echo(f"Note: {notice}", err=True)
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.pass_obj
@_friendly_errors
def remove(settings: Settings, sources: tuple[str, ...]) -> None:
    """Remove documents from the index (by source as `kapbot sources` lists it, or path)."""
    report = _indexer(settings).remove(list(sources))
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    for source in report.deleted:
        click.echo(f"Removed {source}")
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@_friendly_errors
def sources(settings: Settings, as_json: bool) -> None:
    """List indexed documents: title, source, chunk count, when added."""
    rows = _indexer(settings).sources()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.__dict__, ensure_ascii=False))
        return
    if not rows:
        click.echo("The index is empty. Run `kapbot ingest` to add the corpus.")
        return
    click.echo(f"{'CHUNKS':>6}  {'ADDED':<20}  SOURCE  —  TITLE")
    for row in rows:
        click.echo(f"{row.chunks:>6}  {row.added:<20}  {row.source}  —  {row.title}")
    click.echo(f"{len(rows)} documents, {sum(r.chunks for r in rows)} chunks.")


@main.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="How many passages.")
@click.option(
    "--mode",
    type=click.Choice(["dense", "keyword"]),
    default="dense",
    show_default=True,
    help="Vector similarity or BM25 keywords.",
)
@click.pass_obj
@_friendly_errors
def search(settings: Settings, query: str, k: int, mode: str) -> None:
    """Show the passages most similar to QUERY (for checking the index)."""
    indexer = _indexer(settings)
    if mode == "dense":
        hits = indexer.store.similarity_search(query, k=k)
    else:
        hits = indexer.sync_keyword().search(query, k=k)
    if not hits:
        click.echo("No passages found.")
    for rank, (doc, score) in enumerate(hits, 1):
        click.echo(
            f"[{rank}] {score:.3f}  {doc.metadata.get('source')}  § {doc.metadata.get('section')}"
        )
        click.echo("    " + doc.page_content.replace("\n", "\n    "))


if __name__ == "__main__":  # pragma: no cover
    main()
