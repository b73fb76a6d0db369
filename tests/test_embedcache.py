"""The benchmarks' embedding cache: one SQLite file of float32 vectors."""

from __future__ import annotations

from array import array
from pathlib import Path

from langchain_core.embeddings import Embeddings

from tests.conftest import benchmark_module

embedcache = benchmark_module("embedcache")


class CountingModel(Embeddings):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += texts
        return [[len(t) / 3.0, -1.0, 0.1] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [0.0, 0.0, 0.0]


def float32(values: list[float]) -> list[float]:
    return array("f", values).tolist()


def test_a_cached_text_is_not_embedded_again_even_after_reopening(tmp_path: Path) -> None:
    model = CountingModel()
    cache = embedcache.cache_backed(model, tmp_path, "ns")
    first = cache.embed_documents(["alpha", "beta gamma"])
    assert first == [[5 / 3, -1.0, 0.1], [10 / 3, -1.0, 0.1]]  # fresh from the model
    reopened = embedcache.cache_backed(model, tmp_path, "ns")
    # From the cache as stored (float32, as the real model's vectors are).
    assert reopened.embed_documents(["beta gamma", "delta"]) == [
        float32(first[1]),
        [5 / 3, -1.0, 0.1],
    ]
    assert model.texts == ["alpha", "beta gamma", "delta"]
    assert (tmp_path / "embeddings.sqlite").stat().st_size > 0


def test_another_namespace_does_not_share_vectors(tmp_path: Path) -> None:
    model = CountingModel()
    embedcache.cache_backed(model, tmp_path, "model-a").embed_documents(["same text"])
    embedcache.cache_backed(model, tmp_path, "model-b").embed_documents(["same text"])
    assert model.texts == ["same text", "same text"]


def test_store_get_set_delete_and_keys(tmp_path: Path) -> None:
    store = embedcache.SQLiteByteStore(tmp_path / "kv.sqlite")
    keys = [f"k{i:04d}" for i in range(1200)]  # more than one SQL statement's worth
    store.mset([(k, k.encode()) for k in keys])
    assert store.mget(["k0001", "missing", "k1199"]) == [b"k0001", None, b"k1199"]
    assert len(store.mget(keys)) == 1200 and store.count() == 1200
    store.mdelete(["k0001"])
    assert store.mget(["k0001"]) == [None]
    assert list(store.yield_keys(prefix="k119")) == [f"k119{i}" for i in range(10)]
