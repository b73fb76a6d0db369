"""Load test: many concurrent patient conversations against a running `kapbot serve`.

Usage:
    .venv/bin/kapbot serve --port 7860 &          # in another terminal
    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:7860/ \
        [--conversations 50] [--turns 3] [--json-out FILE]

Each conversation is its own ``gradio_client.Client`` (its own session) that asks a
question from evals/ and then follow-ups from the same conversation's history, through
the app's queue like the web page does. All conversations start together. Prints the
number of errors (a failed call, or a reply that is not one of the four kinds) and
p50/p95/max latency per answer; exits 1 if any call failed. Traffic goes only to the URL
given (use a loopback address).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"answer", "abstain", "crisis", "invalid"}


def _questions() -> tuple[list[str], list[str]]:
    firsts, followups = [], []
    for line in (ROOT / "evals" / "answers.jsonl").read_text(encoding="utf-8").splitlines():
        firsts.append(json.loads(line)["question"])
    for line in (ROOT / "evals" / "followups.jsonl").read_text(encoding="utf-8").splitlines():
        followups.append(json.loads(line)["question"])
    return firsts, followups


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def run(url: str, conversations: int, turns: int, seed: int = 7) -> dict[str, Any]:
    """Drive the conversations; returns the figures."""
    from gradio_client import Client

    firsts, followups = _questions()
    rng = random.Random(seed)
    plans = [
        [rng.choice(firsts), *(rng.choice(followups) for _ in range(turns - 1))]
        for _ in range(conversations)
    ]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(conversations)

    def converse(plan: list[str]) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as exc:
            with lock:
                errors.append(f"connect: {type(exc).__name__}: {exc}")
            start.abort()
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=300)
        history: list[dict[str, str]] = []
        for question in plan:
            began = time.perf_counter()
            try:
                reply = client.predict(question, history, api_name="/ask")
            except Exception as exc:
                with lock:
                    errors.append(f"{question[:40]!r}: {type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)
                if not isinstance(reply, dict) or reply.get("kind") not in KINDS:
                    errors.append(f"{question[:40]!r}: unexpected reply {str(reply)[:80]}")
            history += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": str(reply.get("text", ""))},
            ]

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        list(pool.map(converse, plans))
    wall = time.perf_counter() - began
    return {
        "conversations": conversations,
        "turns": turns,
        "calls": conversations * turns,
        "answered": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "max_ms": max(latencies, default=0.0),
        "wall_s": wall,
        "answers_per_s": len(latencies) / wall if wall else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    figures = run(args.url, args.conversations, args.turns)
    print(
        f"{figures['conversations']} concurrent conversations x {figures['turns']} turns: "
        f"{figures['answered']}/{figures['calls']} answered, {figures['errors']} errors"
    )
    print(
        f"latency per answer: p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
        f"max {figures['max_ms']:.0f} ms; {figures['answers_per_s']:.1f} answers/s "
        f"over {figures['wall_s']:.1f} s"
    )
    for sample in figures["error_samples"]:
        print(f"  error: {sample}")
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
