"""The same ingest and search against a real Chroma server (`chroma run`), and a server that is down."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapbot.errors import IndexUnavailableError
from kapbot.ingest import Indexer
from kapbot.settings import Settings
from tests.conftest import run_kapbot, stop_process, wait_for_http

pytestmark = pytest.mark.integration

CHROMA = str(Path(sys.executable).with_name("chroma"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [
            CHROMA,
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/api/v2/heartbeat", proc, tmp_path / "chroma.log", timeout=60)
    yield url
    stop_process(proc)
    log.close()


def test_ingest_and_search_on_a_chroma_server(
    chroma_server: str, settings: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    server_settings = settings.with_(chroma_url=chroma_server)
    indexer = Indexer.open(server_settings, embeddings=embeddings)
    assert indexer.store.label == chroma_server
    first = indexer.ingest()
    assert first.ok and len(first.added) == 5
    generation = indexer.store.generation()
    assert generation  # recorded on the server, for every machine serving from it
    count = indexer.store.count()
    assert count == first.chunks_added > 50
    # Nothing was written to the embedded store.
    assert not (settings.chroma_dir / "chroma.sqlite3").exists()

    second = indexer.ingest()
    assert (second.added, second.updated, len(second.skipped)) == ([], [], 5)
    assert second.chunks_added == 0 and indexer.store.count() == count
    assert indexer.store.generation() == generation  # nothing changed: nothing to reload

    hits = indexer.store.similarity_search("Is KAP covered by insurance?", k=3)
    assert any("insurance" in doc.page_content.lower() for doc, _ in hits)
    keyword_hits = indexer.sync_keyword().search("direct-care model insurance", k=3)
    assert (
        keyword_hits and keyword_hits[0][0].metadata["source"] == "corpus/cohen-kap-vs-infusions.md"
    )

    # The clinic's records with their vectors, as the in-memory search apart reads them.
    cohen = "corpus/cohen-kap-vs-infusions.md"
    for kind in ("chunk", "sentence"):
        records = list(indexer.store.with_vectors(kind, {cohen}))
        assert records and all(d.metadata["source"] == cohen for d, _ in records)
        assert len(records) == len(indexer.store.ids_for_source(cohen, kind))
        assert all(len(vector) == 384 for _, vector in records)
    (doc, vector), *_ = records
    nearest, similarity = indexer.store.search_by_vector(vector, 1, kind="sentence")[0]
    assert nearest.id == doc.id and similarity == pytest.approx(1.0, abs=1e-4)

    (settings.corpus_dir / "kap-vs-infusion-only-therapy.md").unlink()
    pruned = indexer.ingest(prune=True)
    assert pruned.deleted == ["corpus/kap-vs-infusion-only-therapy.md"]
    assert indexer.store.generation() not in (None, generation)
    assert all(
        d.metadata["source"] != "corpus/kap-vs-infusion-only-therapy.md"
        for d in indexer.store.iter_chunks()
    )

    # The CLI switches with the environment variable alone.
    listing = run_kapbot(
        "sources",
        env={"KAPBOT_CHROMA_URL": chroma_server, "KAPBOT_CORPUS_DIR": str(settings.corpus_dir)},
    )
    assert listing.returncode == 0, listing.stderr
    assert "4 documents" in listing.stdout


def test_server_down_gives_a_clear_error(settings: Settings) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(
        IndexUnavailableError, match=re.escape(f"Cannot open the Chroma index at {url}")
    ):
        Indexer.open(settings.with_(chroma_url=url))
    result = run_kapbot(
        "ingest", env={"KAPBOT_CHROMA_URL": url, "KAPBOT_CORPUS_DIR": str(settings.corpus_dir)}
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: Cannot open the Chroma index at {url}")
    assert "Traceback" not in result.stderr
