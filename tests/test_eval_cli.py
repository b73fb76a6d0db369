"""`kapbot eval` end to end: the gate on the bundled sets, the report, --check and --compare.

One full run (real model, real Chroma, every bundled case, both anchors) is shared by
the module; the other tests re-check its results file instead of running again.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kapbot.evaluation import load_cases, results_from_dicts, summarize
from tests.conftest import ARTIFACTS, ROOT, copy_home, run_kapbot

pytestmark = pytest.mark.integration

EVALS = ROOT / "evals"
# A deliberately worse retriever: dense vectors only, one passage for the composer.
WORSE = {"KAPBOT_TOP_K": "1", "KAPBOT_KEYWORD_WEIGHT": "0", "KAPBOT_SENTENCE_WEIGHT": "0"}


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    env: dict[str, str]
    report: Path
    json_out: Path

    @property
    def results(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.json_out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, fitted_home_template: Path) -> Run:
    # The gate is measured on the default product: passages embedded by a fitted model.
    base = tmp_path_factory.mktemp("eval")
    home = base / "home"
    copy_home(fitted_home_template, home)
    env = {"KAPBOT_HOME": str(home)}
    report, json_out = base / "report", base / "results.json"
    proc = run_kapbot("eval", "--report", str(report), "--json-out", str(json_out), env=env)
    assert json_out.exists(), proc.stderr[-3000:]
    return Run(proc, env, report, json_out)


def test_bundled_sets_pass_the_gate(full_run: Run) -> None:
    stderr = full_run.proc.stderr
    assert full_run.proc.returncode == 0, stderr[stderr.find("Gate:") :] or stderr[-2000:]
    assert "Gate: all" in full_run.proc.stdout


def test_results_report_and_table(full_run: Run) -> None:
    results = full_run.results
    cases = load_cases([EVALS])
    assert len(results["cases"]) == len(cases)
    assert set(results["summary"]) == {*(c.category for c in cases), "overall"}
    for anchor in ("plain_langchain", "bm25_only"):
        assert set(results["anchors"][anchor]) == {"answer", "followup", "overall"}
    assert results["gate"]["checked"] > 10
    assert results["summary"]["bad_input"]["errors"] == 0  # no input made Bot.ask raise
    assert json.loads((full_run.report / "results.json").read_text()) == results
    page = (full_run.report / "report.html").read_text(encoding="utf-8")
    assert "chart-retrieval" in page and "chart-latency" in page
    out = full_run.proc.stdout
    assert "anchor:plain_langchain:answer" in out and "crisis_recall" in out
    assert "Evaluating" in full_run.proc.stderr  # the progress bar


def test_a_threshold_above_the_achieved_figure_fails_the_gate(
    full_run: Run, tmp_path: Path
) -> None:
    achieved = full_run.results["summary"]["answer"]["hit@5"]
    strict = tmp_path / "strict.toml"
    strict.write_text(f'[answer]\n"hit@5" = {achieved + 0.01}\n[overall]\nerrors = {{ max = 0 }}\n')
    proc = run_kapbot("eval", "--check", str(full_run.json_out), "--thresholds", str(strict))
    assert proc.returncode == 1
    assert f"answer hit@5 = {achieved:.3f}, below the minimum" in proc.stderr
    assert "1 thresholds missed" in proc.stderr

    exact = tmp_path / "exact.toml"
    exact.write_text(f'[answer]\n"hit@5" = {achieved}\n')
    proc = run_kapbot("eval", "--check", str(full_run.json_out), "--thresholds", str(exact))
    assert proc.returncode == 0, proc.stderr
    assert "Gate: all 1 thresholds met." in proc.stdout


def test_compare_with_a_worse_setting_lists_the_regressions(full_run: Run, tmp_path: Path) -> None:
    # 20 answer cases the full run got right at rank 1, and that run's figures on them.
    chosen = [c for c in full_run.results["cases"] if c["category"] == "answer" and c["rank"] == 1][
        :20
    ]
    ids = {c["id"] for c in chosen}
    subset = tmp_path / "subset.jsonl"
    subset.write_text(
        "".join(
            line + "\n"
            for line in (EVALS / "answers.jsonl").read_text(encoding="utf-8").splitlines()
            if json.loads(line)["id"] in ids
        ),
        encoding="utf-8",
    )
    baseline = tmp_path / "baseline.json"
    summary = summarize(results_from_dicts(chosen))
    baseline.write_text(
        json.dumps({"meta": full_run.results["meta"], "summary": summary, "cases": chosen})
    )
    report = tmp_path / "report"
    proc = run_kapbot(
        "eval", str(subset), "--no-anchors", "--no-gate", "--compare", str(baseline),
        "--report", str(report), env={**full_run.env, **WORSE},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    comparison = json.loads((report / "results.json").read_text())["comparison"]
    worse = {(c["category"], c["metric"]) for c in comparison["worse"]}
    assert ("answer", "hit@1") in worse
    assert comparison["newly_failing"], "a dense-only top-1 retriever should lose some cases"
    assert {c["id"] for c in comparison["newly_failing"]} <= ids
    assert "Worse:" in proc.stdout and "Cases that now fail:" in proc.stdout
    assert comparison["newly_failing"][0]["id"] in proc.stdout
    page = (report / "report.html").read_text(encoding="utf-8")
    assert 'id="comparison"' in page and 'class="compare-worse"' in page


@pytest.mark.browser
def test_report_in_a_browser(full_run: Run, page) -> None:  # type: ignore[no-untyped-def]
    page.goto((full_run.report / "report.html").as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "eval-report.png"))  # gate, charts
    assert page.title() == "kapbot evaluation"
    assert page.locator("svg.chart-retrieval rect.bar").count() >= 12
    assert page.locator("svg.chart-latency rect.bar").count() == 20
    failing = [c for c in full_run.results["cases"] if not c["passed"]]
    rows = page.locator("table.failing tr.failing-case")
    assert rows.count() == len(failing) > 0
    # The first failure's passages open to show the retrieved text.
    first = rows.first
    assert first.locator("td").nth(2).inner_text().strip()
    if first.locator("details.passage").count():
        first.locator("details.passage summary").first.click()
        assert first.locator("details.passage .pre").first.is_visible()
    # Questions such as "<script>alert('x')</script>" are shown, never run.
    assert page.dialogs == []
    assert page.locator("body script").count() == 0
