"""The HTML evaluation report (pure): charts, tables, and escaping of every text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kapbot.report import _text, latency_histogram, render_report

ATTACK = "<script>alert('x')</script>"
MARKUP = '<img src=x onerror="alert(1)"> & <b>bold</b>'


def _results(**extra: Any) -> dict[str, Any]:
    summary = {
        "answer": {"cases": 2.0, "hit@1": 0.5, "hit@5": 1.0, "citation_support": 0.5},
        "bad_input": {"cases": 1.0, "expected_kind": 0.0, "errors": 0.0},
        "overall": {
            "cases": 3.0,
            "hit@1": 0.5,
            "hit@5": 1.0,
            "citation_support": 0.5,
            "latency_p50_ms": 20.0,
            "latency_p95_ms": 90.0,
        },
    }
    anchors = {
        "plain_langchain": {"answer": {"cases": 2.0, "hit@1": 0.0, "hit@5": 0.5}},
        "bm25_only": {"answer": {"cases": 2.0, "hit@1": 0.5, "hit@5": 0.5}},
    }
    cases = [
        {"id": "ok-1", "category": "answer", "question": "fine", "kind": "answer", "text": "t",
         "latency_ms": 10.0, "passed": True, "failures": []},
        {"id": "a-2", "category": "answer", "question": f"what {ATTACK}?", "kind": "answer",
         "text": f"Reply quoting {MARKUP} [1]", "latency_ms": 30.0, "passed": False,
         "failures": ["no citation contains the evidence"], "evidence": ["<b>bold</b>"],
         "passages": [{"text": f"## H\n{MARKUP}", "source": "corpus/x.md", "score": 0.5}]},
        {"id": "bad-1", "category": "bad_input", "question": "\u202eevil\u0000", "kind": "error",
         "text": "", "error": f"ValueError: {ATTACK}", "latency_ms": 90.0, "passed": False,
         "failures": [f"raised ValueError: {ATTACK}"]},
    ]  # fmt: skip
    return {"meta": {"created": "2026-01-01T00:00:00+00:00", "files": ["evals"]},
            "summary": summary, "anchors": anchors, "cases": cases, **extra}  # fmt: skip


def test_report_is_self_contained_html_with_both_charts() -> None:
    page = render_report(_results())
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<svg class="chart chart-retrieval"') == 1
    assert page.count('<svg class="chart chart-latency"') == 1
    # kapbot: 3 bars per group; anchors: 2 (they do not cite); groups: answer, overall.
    retrieval = page.split("chart-retrieval")[1].split("</svg>")[0]
    assert retrieval.count('class="bar"') == (3 + 2 + 2) + 3
    # Nothing is fetched: no scripts, no external stylesheets, fonts or images.
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)\s*=", page.replace("src=x onerror", ""))
    assert "@import" not in page and "url(" not in page


def test_every_case_and_corpus_text_is_escaped() -> None:
    page = render_report(_results())
    assert ATTACK not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    # Bidi overrides and control characters are shown, not obeyed.
    assert "\u202e" not in page and "\x00" not in page
    assert "⟨U+202E⟩evil⟨U+0000⟩" in page


def test_failing_table_lists_only_failures_with_reasons_and_passages() -> None:
    page = render_report(_results())
    rows = re.findall(r'<tr class="failing-case" id="case-([^"]+)"', page)
    assert rows == ["a-2", "bad-1"]
    assert "no citation contains the evidence" in page
    assert "corpus/x.md" in page and 'class="passage hit"' in page  # evidence found in it
    assert "2 of 3 cases failed" in page


def test_gate_and_comparison_sections() -> None:
    gate = {"thresholds": "t.toml", "checked": 4, "misses": ["answer hit@5 = 0.5 <b>"]}
    comparison = {
        "previous": "2025-12-31",
        "worse": [{"category": "answer", "metric": "hit@1", "before": 0.9, "after": 0.5}],
        "better": [],
        "newly_failing": [
            {"id": "a-2", "category": "answer", "question": ATTACK, "failures": ["x"]}
        ],
        "newly_passing": [],
    }
    page = render_report(_results(gate=gate, comparison=comparison))
    assert "1 of 4 thresholds missed" in page and "0.5 &lt;b&gt;" in page
    assert 'class="compare-worse"' in page and "0.900" in page
    assert 'class="newly-failing"' in page and ATTACK not in page
    passed = render_report(_results(gate={"thresholds": "t", "checked": 4, "misses": []}))
    assert "All 4 thresholds met" in passed


def test_empty_results_still_render() -> None:
    page = render_report({"summary": {}, "anchors": {}, "cases": []})
    assert "No answer or followup cases" in page and "Every case passed" in page


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a<b>c", "a&lt;b&gt;c"),
        ("\"quoted\" & 'single'", "&quot;quoted&quot; &amp; &#x27;single&#x27;"),
        ("{{7*7}}", "{{7*7}}"),
        ("\u200bzero", "⟨U+200B⟩zero"),
        ("keeps\nnewlines\tand tabs", "keeps\nnewlines\tand tabs"),
    ],
)
def test_text_escaping(raw: str, shown: str) -> None:
    assert _text(raw) == shown


def test_long_text_is_cut_with_a_note() -> None:
    assert _text("x" * 50, limit=10) == "x" * 10 + " … (50 characters in all)"


def test_latency_histogram_counts_every_case() -> None:
    svg = latency_histogram([5.0, 15.0, 15.0, 950.0], p50=15.0, p95=950.0, bins=10)
    counts = [int(n) for n in re.findall(r"ms: (\d+) cases", svg)]
    assert sum(counts) == 4 and len(counts) == 10
    assert "p50 15 ms" in svg and "p95 950 ms" in svg
