"""The scale benchmark's measuring core, with a fake search (pure logic)."""

from __future__ import annotations

from kapbot.evaluation import Case
from tests.conftest import benchmark_module

scale = benchmark_module("scale")

CASES = [
    Case(id="a1", category="answer", question="q1", evidence=("alpha",)),
    Case(id="a2", category="answer", question="q2", evidence=("beta",)),
    Case(id="a3", category="answer", question="q3", evidence=("gamma",)),
    Case(id="f1", category="followup", question="q4", evidence=("delta",)),
]
RESULTS = {
    "q1": ["alpha is here"],  # rank 1
    "q2": ["x", "y", "z", "w", "beta, fifth"],  # rank 5
    "q3": ["x", "y", "z", "w", "v", "gamma, sixth"],  # past the fifth
    "q4": ["nothing"],
}


def test_measure_queries_rates_and_lists_each_miss() -> None:
    calls: list[str] = []

    def search(case: Case) -> list[str]:
        calls.append(case.question)
        return RESULTS[case.question]

    out = scale.measure_queries(CASES, search, rounds=2)
    answer, followup = out["quality"]["answer"], out["quality"]["followup"]
    assert (answer["cases"], answer["hit@1"], answer["hit@5"]) == (3, 0.3333, 0.6667)
    assert answer["missed@5"] == ["a3"]
    assert followup["hit@5"] == 0.0 and followup["missed@5"] == ["f1"]
    assert out["quality"]["overall"]["hit@5"] == 0.5
    assert "missed@5" not in out["quality"]["overall"]
    # Warm-up calls, then every case once per round; latency counts every timed call.
    assert calls.count("q1") == 2 + (1 if scale.WARMUP_CASES else 0)
    assert out["latency"]["n"] == 2 * len(CASES)
