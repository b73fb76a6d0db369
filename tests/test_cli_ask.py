"""The CLI contract evaluators depend on: `kapbot ask` and `kapbot ask --json`."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import KAPBOT, run_kapbot

pytestmark = pytest.mark.integration


def test_json_lines_contract(corpus_copy) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"question": "What does KAP cost?"}),
        "this is not json",
        json.dumps({"question": "What is Spravato?", "history": []}),
        json.dumps({"question": 42}),
        "",
        json.dumps(
            {
                "question": "is it covered by insurance?",
                "history": [
                    {"role": "user", "content": "What is Spravato?"},
                    {"role": "assistant", "content": "Spravato is an esketamine nasal spray."},
                ],
            }
        ),
        json.dumps({"question": "How do I renew my passport?"}),
        json.dumps({"question": "x", "history": "not a list"}),
    ]
    result = subprocess.run(
        [KAPBOT, "ask", "--json"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "KAPBOT_CORPUS_DIR": str(corpus_copy)},
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    kinds = [o["kind"] for o in out]
    assert kinds == [
        "answer",
        "invalid",
        "answer",
        "invalid",
        "invalid",
        "answer",
        "abstain",
        "invalid",
    ]
    for o in out:
        assert set(o) == {"kind", "text", "citations", "passages", "suggestions"}
        for c in o["citations"]:
            assert set(c) == {
                "n",
                "title",
                "source",
                "url",
                "text",
                "publisher",
                "owner",
                "section",
            }
        for p in o["passages"]:
            assert set(p) == {"text", "source", "score"}
    assert "not JSON" in out[1]["text"]
    assert "Spravato" in " ".join(p["text"] for p in out[5]["passages"])
    assert out[6]["citations"] == []
    assert all(isinstance(q, str) and q.endswith("?") for q in out[6]["suggestions"])
    # The index was built on first use, with its progress on stderr, not stdout.
    assert "Built the index" in result.stderr


def test_ask_prints_answer_and_sources(built_indexer, settings) -> None:  # type: ignore[no-untyped-def]
    # On an index already built (the first use that builds it is tested above).
    env = {"KAPBOT_CORPUS_DIR": str(settings.corpus_dir), "KAPBOT_HOME": str(settings.home)}
    result = run_kapbot("ask", "What are the side effects of ketamine?", env=env)
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout
    assert "Sources:" in result.stdout
    assert "corpus/choosing-therapy-kap-overview.md" in result.stdout


def test_ask_without_an_index_or_corpus_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_kapbot(
        "ask", "What does KAP cost?", env={"KAPBOT_CORPUS_DIR": str(tmp_path / "nothing")}
    )
    assert result.returncode == 1
    assert "kapbot ingest" in result.stderr
    assert "Traceback" not in result.stderr
