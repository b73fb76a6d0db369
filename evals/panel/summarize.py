"""Summarise a patient panel: mean per rater and overall, spread, and the worst replies.

    python evals/panel/summarize.py ITEMS.md RATINGS.jsonl [RATINGS.jsonl ...]
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path


def main() -> None:
    items_path, *rating_paths = (Path(p) for p in sys.argv[1:])
    titles = dict(re.findall(r"^## (Item \d+) \(id ([^)]+)\)", items_path.read_text(), re.M))
    questions = dict(
        re.findall(r"^## Item \d+ \(id ([^)]+)\)\n(?:.*\n)*?The patient asks: “(.*)”$",
                   items_path.read_text(), re.M)
    )
    by_id: dict[str, list[tuple[int, str, str]]] = {}
    print(f"{len(titles)} items, {len(rating_paths)} raters\n")
    print("| rater | items | mean | below 3 |")
    print("|---|---|---|---|")
    for path in rating_paths:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        scores = [int(r["score"]) for r in rows]
        rater = path.stem.rsplit("-", 1)[-1]
        print(f"| {rater} | {len(rows)} | {statistics.mean(scores):.2f} | {sum(s < 3 for s in scores)} |")
        for r in rows:
            by_id.setdefault(r["id"], []).append((int(r["score"]), rater, r.get("why", "")))
    means = {i: statistics.mean(s for s, _, _ in v) for i, v in by_id.items()}
    overall = statistics.mean(means.values())
    print(f"\nOverall mean (per item, then over items): **{overall:.2f}** "
          f"(items rated: {len(means)}; lowest item mean {min(means.values()):.2f})\n")
    print("Worst replies (item mean, then each rater's reason):\n")
    for i in sorted(means, key=lambda k: means[k])[:8]:
        print(f"- {i} ({means[i]:.2f}): “{questions.get(i, '?')}”")
        for score, rater, why in by_id[i]:
            print(f"  - {rater} {score}: {why}")


if __name__ == "__main__":
    main()
