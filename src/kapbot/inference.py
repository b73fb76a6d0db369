"""The embedding model at question time: the only module that imports onnxruntime and
tokenizers.

Runs the ONNX exports that :func:`kapbot.fitting.export_onnx` writes, the way
sentence-transformers runs the model it exported: the model's own tokenizer (stripped
text, truncated to the model's length), the encoder, mean pooling over the real tokens,
L2 normalisation. Sessions are created once and are safe to call from several threads.

Example:
    >>> model = OnnxModel(folder)  # doctest: +SKIP
    >>> own = model.embed(["Is ketamine addictive?"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kapbot.errors import ModelFileError

MODEL_ONNX = "model.onnx"  # an exported encoder (see kapbot.fitting.export_onnx)
HEAD_ONNX = "query_head.onnx"  # an exported query head, beside a fitted model's encoder
TOKENIZER_FILE = "tokenizer.json"

Matrix = Any  # a float32 numpy array, one row per text


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads sleep between calls instead of spinning: a spinning thread takes the core the
    # rest of an answer (keyword search, composing) runs on; answers were 1.6x slower.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelFileError(path, f"cannot be loaded ({type(exc).__name__})") from exc


def _pool(states: Matrix, mask: Matrix) -> Matrix:
    """Mean of the real tokens' states, L2-normalised (sentence-transformers' pooling and
    normalisation)."""
    weights = mask[..., None].astype(np.float32)
    summed = (states * weights).sum(axis=1)
    vectors = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


class OnnxHead:
    """A query head (:func:`kapbot.fitting.fit_model`) exported to ONNX, loaded when first
    used."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        self._threads = threads or os.cpu_count() or 1
        self._session: Any = None
        self._lock = threading.Lock()

    def run(self, tap: Matrix, mask: Matrix) -> Matrix:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = _session(self.path, self._threads)
        return self._session.run(None, {"tap": tap, "attention_mask": mask})[0]


class OnnxModel:
    """An exported encoder and its tokenizer, loaded when first used.

    Args:
        folder: Holds ``MODEL_ONNX`` and ``TOKENIZER_FILE``.
        max_length: Tokens kept per text (the model's ``max_seq_length``).
        batch_size: Texts per forward pass when there are many.
        threads: onnxruntime's threads per call (default: every core).
    """

    def __init__(
        self, folder: Path, max_length: int, batch_size: int = 64, threads: int | None = None
    ) -> None:
        self.folder = folder
        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        self._threads = threads or os.cpu_count() or 1
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def load(self) -> OnnxModel:
        """Create the session and tokenizer now (they are otherwise made on first use)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    from tokenizers import Tokenizer

                    path = self.folder / TOKENIZER_FILE
                    try:
                        tokenizer = Tokenizer.from_file(str(path))
                    except Exception as exc:  # tokenizers raises untyped errors
                        raise ModelFileError(path, f"cannot be read ({exc})") from exc
                    tokenizer.no_padding()
                    tokenizer.enable_truncation(self.max_length)
                    self._tokenizer = tokenizer
                    self._session = _session(self.folder / MODEL_ONNX, self._threads)
        return self

    def _tokens(self, texts: Sequence[str]) -> tuple[Matrix, Matrix, Matrix]:
        encoded = self._tokenizer.encode_batch([t.strip() for t in texts])
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = e.attention_mask
            types[row, : len(e.ids)] = e.type_ids
        return ids, mask, types

    def _forward(self, texts: Sequence[str]) -> tuple[Matrix, Matrix, Matrix]:
        ids, mask, types = self._tokens(texts)
        last, tap = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        return last, tap, mask

    def _batches(self, texts: Sequence[str]) -> list[list[int]]:
        # Longest first, in batches of similar length (less padding), as
        # sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Normalised vectors of ``texts``, one row each, in order."""
        return self._embed(texts, None)[0]

    def embed_with_head(self, texts: Sequence[str], head: OnnxHead) -> tuple[Matrix, Matrix]:
        """The model's vectors of ``texts`` and the head's (one pass through the encoder;
        the head reads the states entering its top layers)."""
        own, searched = self._embed(texts, head)
        return own, searched

    def _embed(self, texts: Sequence[str], head: OnnxHead | None) -> tuple[Matrix, Matrix | None]:
        self.load()
        own: Matrix = None
        searched: Matrix = None
        for rows in self._batches(texts):
            last, tap, mask = self._forward([texts[i] for i in rows])
            mine = _pool(last, mask)
            if own is None:
                own = np.zeros((len(texts), mine.shape[1]), dtype=np.float32)
            own[rows] = mine
            if head is not None:
                theirs = _pool(head.run(tap, mask), mask)
                if searched is None:
                    searched = np.zeros((len(texts), theirs.shape[1]), dtype=np.float32)
                searched[rows] = theirs
        if own is None:  # no texts
            own = np.zeros((0, 0), dtype=np.float32)
            searched = own if head is not None else None
        return own, searched
