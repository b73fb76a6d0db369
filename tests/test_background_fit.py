"""Serving first, fitting after: `kapbot serve` answers with the packaged model while a
model is fitted to the documents in the background, then switches to it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from kapbot.adaptation import STOCK
from kapbot.background import DONE, FAILED, FITTING, IDLE, BackgroundFit
from kapbot.settings import Settings
from tests.conftest import CORPUS, KAPBOT, link_packaged, stop_process, wait_for_http

SWITCHED = "the chat now searches with the fitted model"
QUESTION, ANSWER = "what is ketamine-assisted psychotherapy?", "therap"


def test_nothing_is_fitted_when_fitting_is_off_or_done(tmp_path: Path) -> None:
    off = BackgroundFit(Settings.from_env(home=tmp_path, adapt=False), embeddings=None)  # type: ignore[arg-type]
    assert not off.start(STOCK) and off.state == IDLE and off.status() == ""
    on = BackgroundFit(Settings.from_env(home=tmp_path, adapt=True), embeddings=None)  # type: ignore[arg-type]
    assert not on.start("fitted-0123456789abcdef") and on.thread is None


def test_the_admin_line_says_where_fitting_stands(tmp_path: Path) -> None:
    fit = BackgroundFit(Settings.from_env(home=tmp_path), embeddings=None)  # type: ignore[arg-type]
    fit.state = FITTING
    fit.progress.start(200, "Fitting")
    fit.progress.advance(50)
    assert fit.status().startswith("Fitting a model to the documents in the background (25%)")
    fit.state, fit.label = DONE, "fitted-0123456789abcdef"
    assert fit.status() == "fitted-0123456789abcdef, fitted to these documents in the background."
    fit.state = FAILED
    assert "packaged model" in fit.status()


def _model_label(settings: Settings) -> str:
    from kapbot.embeddings import load_embeddings
    from kapbot.store import ChunkStore

    store = ChunkStore.open(settings, load_embeddings(settings.embed_batch_size))
    assert store.count() > 0
    return store.model_label() or STOCK


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
def test_serve_on_an_empty_home_answers_first_and_switches_to_the_fitted_model(
    tmp_path: Path,
) -> None:
    from gradio_client import Client

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    small = CORPUS / "kap-vs-infusion-only-therapy.md"  # the shortest document
    shutil.copy(small, corpus / small.name)
    home = tmp_path / "home"
    port = _free_port()
    env = {
        **os.environ,
        "KAPBOT_HOME": str(home),
        "KAPBOT_CORPUS_DIR": str(corpus),
        "KAPBOT_ADAPT": "1",
        "KAPBOT_ADAPT_PAIRS": "64",  # a small fitting: the path, not the model, is tested
    }
    log_path = tmp_path / "serve.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [KAPBOT, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_http(url, proc, log_path)
            client = Client(url, verbose=False)
            first = client.predict(QUESTION, [], api_name="/ask")
            answered = time.monotonic() - started
            assert SWITCHED not in log_path.read_text()  # answered while fitting
            assert first["kind"] == "answer" and ANSWER in first["text"]
            assert answered < 150
            deadline = time.monotonic() + 300
            while SWITCHED not in log_path.read_text():
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(1)
            after = client.predict(QUESTION, [], api_name="/ask")
            assert after["kind"] == "answer" and ANSWER in after["text"]
        finally:
            stop_process(proc)
    text = log_path.read_text()
    assert "Traceback" not in text
    assert text.index("in the background") < text.index("is serving") < text.index(SWITCHED)
    # The packaged model was exported at first use, the fitted one after fitting.
    models = sorted(p.name for p in (home / "models").iterdir())
    assert len(models) == 2 and models[1].startswith("packaged-"), models
    assert models[0].startswith("fitted-") and (home / "models" / models[0] / "onnx.json").is_file()
    assert text.count("Exporting the embedding model") == 2
    # The index names the fitted model: the next server starts with it, fitting nothing.
    assert _model_label(Settings.from_env(home=home, corpus_dir=corpus)) == models[0]


@pytest.mark.integration
def test_ingest_fit_later_builds_with_the_packaged_model(
    tmp_path: Path, embeddings, packaged_export: Path
) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from kapbot.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    small = CORPUS / "kap-vs-infusion-only-therapy.md"
    shutil.copy(small, corpus / small.name)
    link_packaged(tmp_path / "home", packaged_export)
    env = {
        "KAPBOT_HOME": str(tmp_path / "home"),
        "KAPBOT_CORPUS_DIR": str(corpus),
        "KAPBOT_ADAPT": "1",
    }
    result = CliRunner().invoke(main, ["ingest", "--fit-later"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "Fitting" not in result.output
    assert not list((tmp_path / "home" / "models").glob("fitted-*"))
    assert _model_label(Settings.from_env(home=tmp_path / "home", corpus_dir=corpus)) == STOCK
