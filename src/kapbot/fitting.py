"""Fitting and exporting the embedding model: the only module that imports torch and
sentence-transformers.

Questions are answered without torch (:mod:`kapbot.inference` runs the ONNX exports
this module writes); torch is loaded only to fit a passage model to the documents
(:func:`fit_model`) and to export a model to ONNX (:func:`export_onnx`), each once
per model.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kapbot.embeddings import HEAD_FILE, HEAD_LAYERS, model_path
from kapbot.inference import HEAD_ONNX, MODEL_ONNX, TOKENIZER_FILE

_MICRO_BATCH = 8  # texts per forward pass when fitting (see fit_model)
HEAD_LEARNING_RATE = 1e-4
_OPSET = 17


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _sentence_transformer(folder: Path) -> Any:
    _offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.eval()
    return model


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
    (``HEAD_FILE``) and used by :class:`kapbot.embeddings.QueryEncoder`: a message goes through the
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
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    packaged = _sentence_transformer(model_path())
    model = _sentence_transformer(model_path())
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

    tokenize = packaged.preprocess

    def encode(encoder: Any, texts: list[str]) -> torch.Tensor:
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


@dataclass(frozen=True)
class Export:
    """What :func:`export_onnx` wrote, and torch's vectors to check it against."""

    max_length: int  # tokens kept per text
    own: list[list[float]]  # the model's normalised vectors of the probes
    searched: list[list[float]] | None  # the query head's, when the model has one


def export_onnx(folder: Path, target: Path, probes: Sequence[str]) -> Export:
    """Export the model in ``folder`` (the packaged one, or one :func:`fit_model` wrote) to
    ONNX in ``target``, and return torch's vectors of ``probes`` to check the export with.

    ``target`` gets ``MODEL_ONNX``: the encoder, from token ids to the last layer's token
    states and to the token states entering the top ``HEAD_LAYERS`` layers (what a query
    head reads); with a query head beside the model, ``HEAD_ONNX`` too: the head, from
    those states to its own. The tokenizer is copied beside them. Each file is written
    under a temporary name and then moved into place.

    Returns:
        The model's token limit, and torch's vectors of ``probes``: the model's own, as
        sentence-transformers gives them, and with a head the head's (the packaged
        model's states through it).
    """
    import torch

    model = _sentence_transformer(folder)
    bert: Any = model[0].auto_model
    tap = len(bert.encoder.layer) - HEAD_LAYERS
    target.mkdir(parents=True, exist_ok=True)
    sample = model.preprocess(["a short text", "a somewhat longer text to pad the other one"])
    inputs = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                output_hidden_states=True,
            )
            return out.last_hidden_state, out.hidden_states[tap]

    names = ["input_ids", "attention_mask", "token_type_ids"]
    _export(
        Encoder().eval(),
        inputs,
        target / MODEL_ONNX,
        names,
        ["last", "tap"],
        {name: {0: "batch", 1: "tokens"} for name in [*names, "last", "tap"]},
    )
    own = model.encode(list(probes), normalize_embeddings=True).tolist()
    searched = None

    head_file = folder / HEAD_FILE
    if head_file.is_file():
        packaged = _sentence_transformer(model_path())
        layers = _load_head(packaged, head_file)

        class Head(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = layers

            def forward(self, hidden: Any, attention_mask: Any) -> Any:
                # The mask the encoder hands its layers: who may attend to whom.
                size = attention_mask.shape
                mask = attention_mask.bool()[:, None, None, :].expand(size[0], 1, size[1], size[1])
                for layer in self.layers:
                    hidden = layer(hidden, mask, None)
                    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
                return hidden

        with torch.no_grad():  # sample states to trace with: only their shape matters
            states = Encoder().eval()(*inputs)[1]
        _export(
            Head().eval(),
            (states, sample["attention_mask"]),
            target / HEAD_ONNX,
            ["tap", "attention_mask"],
            ["head"],
            {name: {0: "batch", 1: "tokens"} for name in ["tap", "attention_mask", "head"]},
        )
        searched = _encode_with_head(packaged, layers, list(probes))[1]
    if folder != target:
        shutil.copyfile(folder / TOKENIZER_FILE, target / TOKENIZER_FILE)
    return Export(int(model.max_seq_length), own, searched)


def _export(
    module: Any,
    inputs: tuple[Any, ...],
    path: Path,
    input_names: list[str],
    output_names: list[str],
    axes: dict[str, dict[int, str]],
) -> None:
    import torch

    partial = path.with_name(path.name + ".partial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            inputs,
            str(partial),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=axes,  # type: ignore[arg-type]
            opset_version=_OPSET,
            dynamo=False,
        )
    os.replace(partial, path)


def torch_vectors(folder: Path, texts: Sequence[str]) -> list[list[float]]:
    """The model in ``folder``'s normalised vectors of ``texts``, through torch (what the
    ONNX export is checked against)."""
    return _sentence_transformer(folder).encode(list(texts), normalize_embeddings=True).tolist()  # type: ignore[no-any-return]


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
