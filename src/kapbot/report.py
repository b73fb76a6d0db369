"""The evaluation report: one self-contained HTML page from a results file (pure).

:func:`render_report` takes what ``kapbot eval`` writes to ``results.json`` (``meta``,
``summary``, ``anchors``, ``cases`` and optionally ``gate`` and ``comparison``) and returns
HTML with inline CSS and SVG only: no scripts, fonts or images from anywhere, so it opens
offline. Every piece of case or corpus text goes through :func:`_text`, which escapes it
and shows control and bidi characters as ``U+XXXX`` (some corpus passages contain markup;
some eval questions are attacks on exactly this page).

Example:
    >>> html = render_report({"summary": {}, "anchors": {}, "cases": []})
    >>> html.startswith("<!DOCTYPE html>")
    True
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from kapbot.reply_quality import COUNTS as REPLY_COUNTS
from kapbot.reply_quality import FIGURES as REPLY_FIGURES

CHART_METRICS = ("hit@1", "hit@5", "citation_support")
CHART_LABELS = {"citation_support": "cited"}
SERIES = (("kapbot", "#2b6cb0"), ("plain_langchain", "#dd6b20"), ("bm25_only", "#718096"))
SUMMARY_COLUMNS = (
    "cases",
    "pass_rate",
    "hit@1",
    "hit@5",
    "mrr@10",
    "ndcg@10",
    "citation_support",
    "quote_support",
    "abstention_recall",
    "abstention_precision",
    "crisis_recall",
    "hard_negative_fp",
    "promise_violations",
    "results_vary",
    "results_vary_unasked",
    "medical_compliance",
    "conversation_goes_on",
    "expected_kind",
    "errors",
    *REPLY_FIGURES,
    "latency_p50_ms",
    "latency_p95_ms",
)
_WHOLE = {
    "cases",
    "promise_violations",
    "errors",
    "latency_p50_ms",
    "latency_p95_ms",
    *REPLY_COUNTS,
}
# Characters that would hide or reorder text on the page (controls, bidi, zero-width).
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
QUESTION_CHARS = 600
REPLY_CHARS = 1500
PASSAGE_CHARS = 700
PASSAGES_SHOWN = 3

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1a202c; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #cbd5e0; padding: 3px 6px; vertical-align: top; }
th { background: #edf2f7; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.summary { font-size: 12px; }
.pre { white-space: pre-wrap; word-break: break-word; max-width: 520px; }
.miss { color: #c53030; } .ok { color: #276749; }
.why { color: #c53030; }
.kind { font-weight: bold; }
details { margin: 2px 0; } summary { cursor: pointer; }
.passage { border-left: 3px solid #cbd5e0; padding-left: 6px; margin: 4px 0; }
.hit { border-left-color: #38a169; }
svg text { font: 11px system-ui, sans-serif; fill: #1a202c; }
"""


def _text(value: object, limit: int | None = None) -> str:
    """Escaped text with control, bidi and zero-width characters shown as ``U+XXXX``."""
    text = value if isinstance(value, str) else str(value)
    note = ""
    if limit is not None and len(text) > limit:
        note = f" … ({len(text):,} characters in all)"
        text = text[:limit]
    text = _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)
    text = "".join(
        f"⟨U+{ord(ch):04X}⟩" if unicodedata.category(ch) == "Cc" and ch not in "\n\t" else ch
        for ch in text
    )
    return html.escape(text) + note


def _number(metric: str, value: object) -> str:
    if not isinstance(value, int | float):
        return "–"
    return f"{value:.0f}" if metric in _WHOLE else f"{value:.3f}"


def _series(results: Mapping[str, Any], group: str) -> dict[str, Mapping[str, float]]:
    anchors = results.get("anchors") or {}
    rows: dict[str, Mapping[str, float]] = {"kapbot": results["summary"].get(group, {})}
    for name, _ in SERIES[1:]:
        figures = anchors.get(name, {}).get(group)
        if isinstance(figures, Mapping):
            rows[name] = figures
    return rows


def retrieval_chart(results: Mapping[str, Any]) -> str:
    """Grouped bars: hit@1, hit@5 and citation support per category, kapbot vs the anchors."""
    groups = [
        g for g in ("answer", "followup", "overall") if "hit@5" in results["summary"].get(g, {})
    ]
    if not groups:
        return "<p>No answer or followup cases in this run: no retrieval chart.</p>"
    bar, gap, left, top, height = 16, 14, 40, 30, 200
    per_metric = bar * len(SERIES) + gap
    per_group = per_metric * len(CHART_METRICS) + 3 * gap
    width = left + per_group * len(groups) + 20
    parts = [
        f'<svg class="chart chart-retrieval" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{top + height + 60}" role="img" aria-label="retrieval figures by category">'
    ]
    for tick in range(0, 11, 2):
        y = top + height - tick / 10 * height
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick / 10:.1f}</text>'
        )
    for gi, group in enumerate(groups):
        series = _series(results, group)
        x0 = left + gap + gi * per_group
        for mi, metric in enumerate(CHART_METRICS):
            mx = x0 + mi * per_metric
            for si, (name, colour) in enumerate(SERIES):
                value = series.get(name, {}).get(metric)
                x = mx + si * bar
                if value is None:  # the anchors retrieve but do not cite
                    continue
                h = max(0.0, min(1.0, float(value))) * height
                parts.append(
                    f'<rect class="bar" x="{x}" y="{top + height - h:.1f}" width="{bar - 2}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{html.escape(group)} '
                    f"{html.escape(metric)} {html.escape(name)}: {value:.3f}</title></rect>"
                )
            parts.append(
                f'<text x="{mx + bar * len(SERIES) / 2:.1f}" y="{top + height + 14}" '
                f'text-anchor="middle">{html.escape(CHART_LABELS.get(metric, metric))}</text>'
            )
        parts.append(
            f'<text x="{x0 + per_group / 2 - gap:.1f}" y="{top + height + 32}" '
            f'text-anchor="middle" font-weight="bold">{html.escape(group)}</text>'
        )
    for si, (name, colour) in enumerate(SERIES):
        x = left + si * 150
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="16">{html.escape(name)}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{top + height + 52}">Anchors retrieve but do not cite: '
        "cited (citation support) is kapbot's alone.</text></svg>"
    )
    return "".join(parts)


def latency_histogram(latencies: Sequence[float], p50: float, p95: float, bins: int = 20) -> str:
    """A histogram of per-case latency (ms) with the p50 and p95 marked."""
    if not latencies:
        return "<p>No cases: no latency histogram.</p>"
    left, top, width, height = 50, 20, 720, 180
    # Bins of a round width that cover the slowest case.
    raw = max(latencies) / bins or 1.0
    step = 10 ** math.floor(math.log10(raw))
    step = next(m * step for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    counts = [0] * bins
    for value in latencies:
        counts[min(bins - 1, int(value // step))] += 1
    tallest = max(counts)
    span = step * bins
    bw = width / bins
    parts = [
        f'<svg class="chart chart-latency" xmlns="http://www.w3.org/2000/svg" '
        f'width="{left + width + 20}" height="{top + height + 40}" role="img" '
        'aria-label="latency histogram">'
    ]
    for i, count in enumerate(counts):
        h = count / tallest * height
        parts.append(
            f'<rect class="bar" x="{left + i * bw + 1:.1f}" y="{top + height - h:.1f}" '
            f'width="{bw - 2:.1f}" height="{h:.1f}" fill="#2b6cb0"><title>{i * step:g}–'
            f"{(i + 1) * step:g} ms: {count} cases</title></rect>"
        )
    for i in range(0, bins + 1, 4):
        x = left + i * bw
        parts.append(
            f'<text x="{x:.1f}" y="{top + height + 14}" text-anchor="middle">{i * step:g}</text>'
        )
    parts.append(
        f'<text x="{left + width / 2}" y="{top + height + 32}" text-anchor="middle">'
        "latency per case (ms)</text>"
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{tallest}</text>'
    )
    for label, value, colour in (("p50", p50, "#38a169"), ("p95", p95, "#c53030")):
        x = left + min(value, span) / span * width
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + height}" stroke="{colour}" '
            f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{top + 10}" fill="{colour}">'
            f"{label} {value:.0f} ms</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def summary_table(results: Mapping[str, Any]) -> str:
    """Every figure per category, then the anchors' rows."""
    rows = [(name, figures) for name, figures in results["summary"].items()]
    for anchor, groups in (results.get("anchors") or {}).items():
        rows += [(f"anchor: {anchor} ({g})", f) for g, f in groups.items()]
    columns = [c for c in SUMMARY_COLUMNS if any(c in f for _, f in rows)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f'<td class="num">{_number(c, figures.get(c))}</td>' for c in columns)
        + "</tr>"
        for name, figures in rows
    )
    return f'<table class="summary"><tr><th></th>{head}</tr>{body}</table>'


def _gate_section(gate: Mapping[str, Any] | None) -> str:
    if not gate:
        return "<p>No thresholds were checked.</p>"
    misses = gate.get("misses") or []
    source = _text(gate.get("thresholds", ""))
    if not misses:
        return f'<p class="ok">All {gate.get("checked", 0)} thresholds met ({source}).</p>'
    items = "".join(f"<li>{_text(m)}</li>" for m in misses)
    return (
        f'<p class="miss">{len(misses)} of {gate.get("checked", 0)} thresholds missed '
        f'({source}):</p><ul class="gate-misses">{items}</ul>'
    )


def _comparison_section(comparison: Mapping[str, Any]) -> str:
    parts = [
        f"<p>Compared with the run of {_text(comparison.get('previous') or 'unknown date')}.</p>"
    ]
    for key, title in (("worse", "Worse"), ("better", "Better")):
        changes = comparison.get(key) or []
        parts.append(f"<h3>{title}: {len(changes)}</h3>")
        if changes:
            parts.append(
                f'<table class="compare-{key}"><tr><th>category</th><th>metric</th>'
                "<th>before</th><th>after</th></tr>"
                + "".join(
                    f"<tr><td>{_text(c['category'])}</td><td>{_text(c['metric'])}</td>"
                    f'<td class="num">{_number(c["metric"], c["before"])}</td>'
                    f'<td class="num">{_number(c["metric"], c["after"])}</td></tr>'
                    for c in changes
                )
                + "</table>"
            )
    for key, title in (
        ("newly_failing", "Cases that now fail"),
        ("newly_passing", "Cases that now pass"),
    ):
        cases = comparison.get(key) or []
        parts.append(f"<h3>{title}: {len(cases)}</h3>")
        if cases:
            parts.append(
                f'<ul class="{key.replace("_", "-")}">'
                + "".join(
                    f"<li><b>{_text(c['id'])}</b> ({_text(c['category'])}): "
                    f"{_text(c.get('question') or '', 200)}"
                    + (
                        f' — <span class="why">{_text("; ".join(c.get("failures") or []))}</span>'
                        if c.get("failures")
                        else ""
                    )
                    + "</li>"
                    for c in cases
                )
                + "</ul>"
            )
    return "".join(parts)


def _passages(case: Mapping[str, Any]) -> str:
    evidence = case.get("evidence") or []
    parts = []
    if evidence:
        parts.append(
            "<div><b>evidence:</b> " + " | ".join(f"“{_text(e)}”" for e in evidence) + "</div>"
        )
    passages = case.get("passages") or []
    if not passages:
        return "".join(parts) + "<div>(no passages retrieved)</div>"
    lowered = [" ".join(e.lower().split()) for e in evidence]
    for rank, p in enumerate(passages[:PASSAGES_SHOWN], start=1):
        text = str(p.get("text", ""))
        hit = any(e in " ".join(text.lower().split()) for e in lowered)
        sim = p.get("similarity")
        parts.append(
            f'<details class="passage{" hit" if hit else ""}"><summary>#{rank} '
            f"{_text(p.get('source', ''))} · score {_number('', p.get('score'))}"
            + (f" · similarity {_number('', sim)}" if sim is not None else "")
            + (" · contains evidence" if hit else "")
            + f'</summary><div class="pre">{_text(text, PASSAGE_CHARS)}</div></details>'
        )
    return "".join(parts)


def failing_table(cases: Sequence[Mapping[str, Any]]) -> str:
    """Every failing case: why, the question, the reply and the passages retrieved."""
    failing = [c for c in cases if not c.get("passed", True)]
    if not failing:
        return '<p class="ok">Every case passed.</p>'
    rows = []
    for c in failing:
        reply = c.get("error") or c.get("text") or ""
        rows.append(
            f'<tr class="failing-case" id="case-{_text(c["id"])}">'
            f"<td><b>{_text(c['id'])}</b><br>{_text(c.get('category', ''))}"
            f"<br><small>{_text(c.get('file', ''))}</small></td>"
            f'<td class="why">{"<br>".join(_text(f) for f in c.get("failures") or [])}</td>'
            f'<td class="pre">{_text(c.get("question", ""), QUESTION_CHARS)}</td>'
            f'<td><span class="kind">{_text(c.get("kind", ""))}</span>'
            f'<div class="pre">{_text(reply, REPLY_CHARS)}</div></td>'
            f"<td>{_passages(c)}</td></tr>"
        )
    return (
        f'<p>{len(failing)} of {len(cases)} cases failed.</p><table class="failing">'
        "<tr><th>case</th><th>why it failed</th><th>question</th><th>reply</th>"
        "<th>retrieved passages</th></tr>" + "".join(rows) + "</table>"
    )


def render_report(results: Mapping[str, Any], title: str = "kapbot evaluation") -> str:
    """The whole report page for one results file (see the module docstring)."""
    summary = results.get("summary") or {}
    results = {**results, "summary": summary}
    cases = results.get("cases") or []
    meta = results.get("meta") or {}
    overall = summary.get("overall", {})
    overrides = meta.get("overrides") or {}
    settings = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "defaults"
    sections = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_text(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_text(title)}</h1>",
        f"<p>Run of {_text(meta.get('created') or 'unknown date')} · {len(cases)} cases from "
        f"{_text(', '.join(meta.get('files') or []) or 'unknown files')} · settings: "
        f"{_text(settings)}</p>",
        '<h2 id="gate">Gate</h2>',
        _gate_section(results.get("gate")),
    ]
    if results.get("comparison"):
        sections += ['<h2 id="comparison">Changes</h2>', _comparison_section(results["comparison"])]
    sections += [
        '<h2 id="retrieval">Retrieval and citations by category</h2>',
        retrieval_chart(results),
        '<h2 id="latency">Latency</h2>',
        latency_histogram(
            [float(c.get("latency_ms", 0.0)) for c in cases],
            float(overall.get("latency_p50_ms", 0.0)),
            float(overall.get("latency_p95_ms", 0.0)),
        ),
        '<h2 id="summary">All figures</h2>',
        summary_table(results),
        '<h2 id="failing">Failing cases</h2>',
        failing_table(cases),
        "</body></html>",
    ]
    return "\n".join(sections)
