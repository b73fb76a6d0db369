"""Ingest's windowed embedding: the pure logic, with a fake model that records its calls."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from kapbot.ingest import SilentProgress, _CountingEmbeddings


class RecordingModel(Embeddings):
    """A vector per text that says which text it was; every call is recorded."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(t)), float(sum(map(ord, t)))] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def vector(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)))]


def windowed(window: int) -> tuple[_CountingEmbeddings, RecordingModel]:
    model = RecordingModel()
    return _CountingEmbeddings(lambda: model, SilentProgress(), window), model


def test_planned_texts_are_embedded_a_window_at_a_time_and_served_in_order() -> None:
    texts = [f"text number {i} " + "x" * (i % 7) for i in range(10)]
    embedder, model = windowed(4)
    embedder.plan(texts)
    served = [embedder.embed_documents(texts[i : i + 3]) for i in range(0, 10, 3)]
    assert [v for batch in served for v in batch] == [vector(t) for t in texts]
    assert [len(c) for c in model.calls] == [4, 4, 2]
    assert [t for c in model.calls for t in c] == texts  # each text embedded once


def test_a_text_planned_twice_is_embedded_once_and_served_twice() -> None:
    embedder, model = windowed(8)
    embedder.plan(["a", "b", "a", "c"])
    assert embedder.embed_documents(["a", "b"]) == [vector("a"), vector("b")]
    assert embedder.embed_documents(["a", "c"]) == [vector("a"), vector("c")]
    assert sum(len(c) for c in model.calls) == 3


def test_unplanned_texts_are_still_embedded() -> None:
    embedder, model = windowed(8)
    assert embedder.embed_documents(["never planned"]) == [vector("never planned")]
    embedder.plan(["p", "q"])
    assert embedder.embed_documents(["z", "p"]) == [vector("z"), vector("p")]
    assert model.calls[-1][:2] == ["z", "p"]  # what was asked for comes first


def test_a_new_plan_drops_vectors_of_the_old_one() -> None:
    embedder, model = windowed(8)
    embedder.plan(["old one", "old two"])
    embedder.embed_documents(["old one"])
    embedder.plan([])
    assert embedder.embed_documents(["old two"]) == [vector("old two")]
    assert len(model.calls) == 2  # "old two" was embedded again, not served stale
