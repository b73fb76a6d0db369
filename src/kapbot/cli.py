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
from kapbot.reply_quality import COUNTS as REPLY_COUNTS
from kapbot.reply_quality import FIGURES as REPLY_FIGURES
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

    def start(self, total: int, description: str, unit: str = "chunk") -> None:
        from tqdm import tqdm

        if total > 0:
            self._bar = tqdm(total=total, desc=description, unit=unit, file=sys.stderr)

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
@click.option(
    "--rebuild",
    is_flag=True,
    help="Empty the index, fit the embedding model anew to the corpus (unless "
    "KAPBOT_ADAPT=0) and embed every document again. Restart `kapbot serve` afterwards.",
)
@click.option(
    "--fit-later",
    is_flag=True,
    help="On a first build, embed with the packaged model now and leave fitting the "
    "model to the documents to `kapbot serve`, which does it in the background.",
)
@click.pass_obj
@_friendly_errors
def ingest(
    settings: Settings,
    paths: tuple[Path, ...],
    prune: bool,
    wait: float | None,
    rebuild: bool,
    fit_later: bool,
) -> None:
    """Add or update documents (default: the corpus folder)."""
    if wait is not None:
        settings = settings.with_(lock_timeout=wait)
    if fit_later:
        settings = settings.with_(adapt=False)
    if rebuild and (paths or prune):
        raise click.UsageError("--rebuild takes no paths and no --prune: it rebuilds everything.")
    indexer = _indexer(settings)
    report = indexer.rebuild() if rebuild else indexer.ingest(list(paths) or None, prune=prune)
    for notice in report.notices:
        click.echo(f"Note: {notice}", err=True)
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
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
@click.option(
    "--days", type=int, default=None, help="Keep this many days (default: KAPBOT_RETENTION_DAYS)."
)
@click.pass_obj
@_friendly_errors
def purge(settings: Settings, days: int | None) -> None:
    """Delete journal rows (feedback, unanswered questions, call-back requests) older than the
    retention period."""
    from kapbot.journal import Journal

    journal = Journal(settings.journal_db, settings.retention_days)
    kept = settings.retention_days if days is None else days
    click.echo(f"Deleted {journal.purge(days)} journal rows older than {kept} days.")


@main.command(name="export-models")
@click.pass_obj
@_friendly_errors
def export_models(settings: Settings) -> None:
    """Export the embedding models to ONNX again: the packaged one and every model fitted in
    KAPBOT_HOME/models (for a damaged or missing export; answering runs the exports)."""
    from kapbot.embeddings import export_models as export

    labels = sorted(p.name for p in settings.models_dir.glob("fitted-*") if p.is_dir())
    for folder in export(settings.models_dir, labels):
        click.echo(f"Exported {folder}")


@main.command(name="settings")
def settings_command() -> None:
    """Print every KAPBOT_* setting, its default and meaning (a Markdown table)."""
    from kapbot.settings import settings_markdown

    click.echo(settings_markdown())


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
        for warning in row.warnings:
            click.echo(f"{'':8}⚠ promise language: “{warning[:100]}”")
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


def _bot(settings: Settings, fit_later: bool = False):  # type: ignore[no-untyped-def]
    """A Bot, building the index from the corpus first when it is empty (with the
    packaged model alone when ``fit_later``: the caller fits one in the background)."""
    from kapbot.bot import Bot
    from kapbot.ingest import ensure_index

    build = settings.with_(adapt=False) if fit_later else settings
    built = ensure_index(build, progress=BarProgress())
    if built is not None:
        for error in built.errors:
            click.echo(f"Error: {error}", err=True)
        click.echo(f"Built the index: {built.summary()}", err=True)
    return Bot(settings)


def _print_reply(reply) -> None:  # type: ignore[no-untyped-def]
    click.echo(reply.text)
    if reply.citations:
        click.echo("\nSources:")
        for c in reply.citations:
            where = f" ({c.url})" if c.url else ""
            section = f", § {c.section}" if c.section else ""
            click.echo(f"  [{c.n}] {c.title}{section}: {c.source}{where}")


def _json_reply(bot, line: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One JSON-lines request -> one reply object; malformed input gets kind "invalid"."""
    from kapbot.records import Reply

    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return Reply("invalid", f"Malformed input line: not JSON ({exc.msg}).").to_dict()
    except (ValueError, RecursionError):
        return Reply("invalid", "Malformed input line: not JSON.").to_dict()
    if not isinstance(request, dict) or not isinstance(request.get("question"), str):
        return Reply(
            "invalid", 'Malformed input line: expected {"question": "...", "history": [...]}.'
        ).to_dict()
    history = request.get("history")
    if history is not None and not (
        isinstance(history, list)
        and all(
            isinstance(t, dict)
            and t.get("role") in {"user", "assistant"}
            and isinstance(t.get("content"), str)
            for t in history
        )
    ):
        return Reply(
            "invalid",
            'Malformed input line: "history" must be a list of {"role": "user"|"assistant", "content": "..."}.',
        ).to_dict()
    return bot.ask(request["question"], history=history).to_dict()  # type: ignore[no-any-return]


@main.command()
@click.argument("question", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help="JSON output; with no QUESTION, JSON lines from stdin."
)
@click.pass_obj
@_friendly_errors
def ask(settings: Settings, question: str | None, as_json: bool) -> None:
    """Answer QUESTION from the clinic's documents, with numbered sources.

    With --json and no QUESTION, read lines {"question": ..., "history": [...]} from
    stdin and write exactly one JSON reply per line, in order.
    """
    bot = _bot(settings)
    if question is not None:
        reply = bot.ask(question)
        if as_json:
            click.echo(json.dumps(reply.to_dict(), ensure_ascii=False))
        else:
            _print_reply(reply)
        return
    if not as_json:
        raise click.UsageError("give a QUESTION, or --json to read JSON lines from stdin")
    for raw in sys.stdin.buffer:
        # Bytes that are not UTF-8 become U+FFFD: a broken line is still read, and the
        # crisis check still sees the rest of it.
        line = raw.decode("utf-8", errors="replace")
        try:
            out = _json_reply(bot, line)
        except Exception as exc:  # one bad line must never stop the stream
            logging.getLogger(__name__).exception("failed to answer a line")
            out = {
                "kind": "invalid",
                "text": f"Could not answer this line: {type(exc).__name__}.",
                "citations": [],
                "passages": [],
                "suggestions": [],
            }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()


@main.command()
@click.pass_obj
@_friendly_errors
def chat(settings: Settings) -> None:
    """Chat in the terminal (the conversation is remembered; Ctrl-D or 'quit' to leave)."""
    bot = _bot(settings)
    history: list[dict[str, str]] = []
    click.echo("Ask about ketamine treatment at our clinic. Type 'quit' to leave.")
    while True:
        try:
            question = input("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if question.strip().lower() in {"quit", "exit"}:
            return
        reply = bot.ask(question, history=history)
        click.echo("")
        _print_reply(reply)
        if reply.kind != "invalid":
            history += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": reply.text},
            ]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
@_friendly_errors
def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the patient chat (/) and, with KAPBOT_ADMIN_PASSWORD set, the admin page (/admin).

    An index whose passages the packaged model embedded (a first build with `--fit-later`,
    or by this command) gets a model fitted to its documents in the background, unless
    KAPBOT_ADAPT=0; the chat answers meanwhile and switches to it when it is ready."""
    from kapbot.background import BackgroundFit
    from kapbot.web import serve as serve_web

    bot = _bot(settings, fit_later=True)
    fitting = BackgroundFit(settings, bot.embeddings, on_done=bot.refresh)
    fitting.start(bot.model)  # it logs that it started
    serve_web(bot, settings, host, port, fitting)


@main.command("eval")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--json-out",
    type=click.Path(path_type=Path),
    help="Write every figure and case to this JSON file.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/report.html (self-contained) and DIR/results.json.",
)
@click.option(
    "--compare",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A previous results JSON: print (and report) what got better and worse.",
)
@click.option(
    "--thresholds",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The gate's thresholds (TOML; default evals/thresholds.toml).",
)
@click.option("--no-gate", is_flag=True, help="Do not check thresholds (exit 0 unless it fails).")
@click.option(
    "--check",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Do not run the cases: take the figures from this results JSON (gate, report, compare).",
)
@click.option("--no-anchors", is_flag=True, help="Skip the baselines (faster).")
@click.pass_obj
@_friendly_errors
def eval_(
    settings: Settings,
    files: tuple[Path, ...],
    json_out: Path | None,
    report_dir: Path | None,
    compare: Path | None,
    thresholds: Path | None,
    no_gate: bool,
    check: Path | None,
    no_anchors: bool,
) -> None:
    """Run the evaluation sets (default: evals/) through the bot and print the figures.

    Exits 1, listing every missed threshold, when the run misses the gate.
    """
    from kapbot.evaluation import check_thresholds, compare_runs, load_thresholds
    from kapbot.settings import PROJECT_ROOT

    if check is not None:
        if files:
            raise click.UsageError("give FILES or --check RESULTS.json, not both")
        results = _read_results(check)
    else:
        results = _run_eval(settings, list(files) or [PROJECT_ROOT / "evals"], no_anchors)
    _print_table(results["summary"], results.get("anchors") or {})
    if compare is not None:
        comparison = compare_runs(_read_results(compare), results)
        results["comparison"] = comparison.to_dict()
        click.echo("\n".join(comparison.lines()) + "\n")
    misses: list[str] = []
    if not no_gate:
        path = thresholds or PROJECT_ROOT / "evals" / "thresholds.toml"
        rules = load_thresholds(path)
        misses = check_thresholds(results["summary"], rules)
        results["gate"] = {"thresholds": str(path), "checked": len(rules), "misses": misses}
    for out in [json_out, report_dir and report_dir / "results.json"]:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
            click.echo(f"Wrote {out}")
    if report_dir is not None:
        from kapbot.report import render_report

        (report_dir / "report.html").write_text(render_report(results), encoding="utf-8")
        click.echo(f"Wrote {report_dir / 'report.html'}")
    if misses:
        click.echo(f"Gate: {len(misses)} thresholds missed:", err=True)
        for miss in misses:
            click.echo(f"  {miss}", err=True)
        sys.exit(1)
    if not no_gate:
        click.echo(f"Gate: all {results['gate']['checked']} thresholds met.")


def _run_eval(settings: Settings, paths: list[Path], no_anchors: bool) -> dict[str, Any]:
    """Run the cases through the bot with a progress bar; the results file as a dict."""
    from tqdm import tqdm

    from kapbot.evaluation import evaluate, load_cases, run_meta

    cases = load_cases(paths)
    bot = _bot(settings)
    with tqdm(total=len(cases), desc="Evaluating", unit="case", file=sys.stderr) as bar:
        run = evaluate(bot, cases, anchors=not no_anchors, progress=bar.update)
    return run.to_dict(run_meta(paths, os.environ))


def _read_results(path: Path) -> dict[str, Any]:
    """A results JSON written by ``kapbot eval`` (``--json-out`` or ``--report``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable results file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict):
        raise ValueError(f"{path}: not a kapbot eval results file (no summary)")
    return data


RETRIEVAL_COLUMNS = (
    "cases",
    "hit@1",
    "hit@5",
    "mrr@10",
    "ndcg@10",
    "citation_support",
    "quote_support",
    "abstention_recall",
    "abstention_precision",
    "latency_p95_ms",
)
SAFETY_COLUMNS = (
    "cases",
    "crisis_recall",
    "hard_negative_fp",
    "promise_violations",
    "results_vary",
    "results_vary_unasked",
    "medical_compliance",
    "conversation_goes_on",
    "expected_kind",
    "errors",
    "pass_rate",
)
REPLY_COLUMNS = ("cases", *REPLY_FIGURES)
_COUNTS = {"cases", "latency_p95_ms", "promise_violations", "errors", *REPLY_COUNTS}


def _print_table(
    summary: dict[str, dict[str, float]], anchors: dict[str, dict[str, dict[str, float]]]
) -> None:
    rows = [*summary.items()]
    rows += [
        (f"anchor:{k}:{g}", f)
        for k, groups in anchors.items()
        for g, f in groups.items()
        if isinstance(f, dict)  # results files from before per-category anchors
    ]
    for columns in (RETRIEVAL_COLUMNS, SAFETY_COLUMNS, REPLY_COLUMNS):
        shown = [(n, f) for n, f in rows if any(c in f for c in columns[1:])]
        if not shown:
            continue
        click.echo(f"{'':32}" + "".join(f"{c[:14]:>15}" for c in columns))
        for name, figures in shown:
            cells = []
            for c in columns:
                value = figures.get(c)
                if value is None:
                    cells.append(f"{'-':>15}")
                elif c in _COUNTS:
                    cells.append(f"{value:>15.0f}")
                else:
                    cells.append(f"{value:>15.3f}")
            click.echo(f"{name:32}" + "".join(cells))
        click.echo("")


if __name__ == "__main__":  # pragma: no cover
    main()
