"""Warm answer latency of kapbot vs a bare LangChain ``similarity_search`` on the same index.

Usage: .venv/bin/python benchmarks/latency.py [--rounds 3] [--json-out FILE]

Both are measured in the same process, on the same Chroma collection, over every question
in evals/ (answers, follow-ups, out-of-scope), after one warm-up pass. Prints p50/p95/mean
for each, the ratio of the p95s (the target: kapbot's p95 within 1.3x of the bare search)
and kapbot's answers per second with one caller.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from kapbot import Bot
from kapbot.evaluation import load_cases, percentile
from kapbot.ingest import ensure_index
from kapbot.settings import PROJECT_ROOT, Settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    settings = Settings.from_env()
    ensure_index(settings)
    bot = Bot(settings)
    cases = [
        c
        for c in load_cases([PROJECT_ROOT / "evals"])
        if c.category in {"answer", "followup", "out_of_scope"}
    ]
    vectorstore = bot.store.vectorstore

    def run_bot(case) -> None:  # type: ignore[no-untyped-def]
        bot.ask(case.question, history=list(case.history) or None)

    def run_bare(case) -> None:  # type: ignore[no-untyped-def]
        vectorstore.similarity_search(case.question, k=settings.top_k, filter={"kind": "chunk"})

    for case in cases:  # warm-up: model, caches, Chroma segments
        run_bot(case)
        run_bare(case)
    timings: dict[str, list[float]] = {"kapbot ask": [], "bare similarity_search": []}
    for _ in range(args.rounds):
        for case in cases:
            for name, fn in (("kapbot ask", run_bot), ("bare similarity_search", run_bare)):
                started = time.perf_counter()
                fn(case)
                timings[name].append((time.perf_counter() - started) * 1000)

    rows = {
        name: {
            "n": len(values),
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "mean_ms": statistics.fmean(values),
        }
        for name, values in timings.items()
    }
    ratio = rows["kapbot ask"]["p95_ms"] / rows["bare similarity_search"]["p95_ms"]
    per_second = 1000 / rows["kapbot ask"]["mean_ms"]
    print(f"{'':26}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, row in rows.items():
        print(
            f"{name:26}{row['n']:>6}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['mean_ms']:>10.1f}"
        )
    print(f"p95 ratio kapbot / bare: {ratio:.2f} (target <= 1.3)")
    print(f"kapbot answers per second, one caller: {per_second:.1f}")
    if args.json_out:
        figures = {"rows": rows, "p95_ratio": ratio, "answers_per_s": per_second}
        args.json_out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
