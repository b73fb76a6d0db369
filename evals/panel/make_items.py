"""Turn a `kapbot eval` results file into the items a patient panel rates.

    python evals/panel/make_items.py RESULTS.json OUT.md --ids-from CASES.jsonl ...
        [--sample N --seed S]

The case files given with --ids-from choose the items and give each its conversation
(results files do not hold it); they are required when the results hold follow-ups.

Each item shows what the patient saw: the conversation before (if any), the question,
the reply as the chat shows it (suggested questions as buttons) and the passages it
cites. Nothing about how kapbot works, the case's expected evidence or its scores.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path


def reply_as_shown(case: dict) -> str:
    """The reply's Markdown as a reader sees it rendered: escapes and bold marks
    undone; quoted lines keep their "> " (the chat shows them as a quote)."""
    text = re.sub(r"\\([\[\]])", r"\1", case["text"]).replace("**", "")
    lead = "You could ask:\n"
    if case.get("kind") == "abstain" and lead in text:
        head, tail = text.split(lead, 1)
        buttons = [line[2:] for line in tail.splitlines() if line.startswith("- ")]
        text = head.rstrip() + "\n\n" + "\n".join(f"[button: {b}]" for b in buttons)
    return text


def item(number: int, case: dict) -> str:
    lines = [f"## Item {number:02d} (id {case['id']})", ""]
    history = case.get("history") or []
    if history:
        lines.append("Earlier in the conversation:")
        for turn in history:
            who = "Patient" if turn["role"] == "user" else "kapbot"
            lines.append(f"- {who}: {' '.join(turn['content'].split())}")
        lines.append("")
    lines += [f"The patient asks: “{case['question']}”", "", "kapbot's reply, as shown:", ""]
    lines += ["```text", reply_as_shown(case), "```", ""]
    if case.get("citations"):
        lines.append("Sources the reply cites (what the patient can open):")
        lines.append("")
        for c in case["citations"]:
            who = c.get("publisher") or "publisher not named"
            section = c.get("section") or ""
            lines.append(f"[{c['n']}] {c['title']} ({who}){' — ' + section if section else ''}")
            body = re.sub(r"^#+ .*\n+", "", c["text"]).strip()
            lines += ["", "```text", body, "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--ids-from", type=Path, nargs="*", default=[])
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = json.loads(args.results.read_text(encoding="utf-8"))
    cases = data["cases"]
    histories = {}
    for path in args.ids_from:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            histories[row["id"]] = row.get("history") or []
    if not histories and any(c["category"] in {"followup", "after_crisis"} for c in cases):
        parser.error(
            "the results hold follow-ups: pass their case files with --ids-from, so that "
            "each item shows the conversation before its question"
        )
    if histories:
        cases = [c for c in cases if c["id"] in histories]
    for c in cases:
        c["history"] = histories.get(c["id"], [])
    if args.sample:
        cases = random.Random(args.seed).sample(cases, min(args.sample, len(cases)))
    header = [
        "# Replies to rate",
        "",
        "Rate each item with the rubric in `rubric.md`. The five source articles are the",
        "clinic's documents; check facts against them.",
        "",
    ]
    body = [item(i, c) for i, c in enumerate(cases, start=1)]
    args.out.write_text("\n".join(header + body) + "\n", encoding="utf-8")
    print(f"{len(cases)} items written to {args.out}")


if __name__ == "__main__":
    main()
