"""Fitting the passage embeddings to the clinic's own documents, from those documents alone.

all-MiniLM-L6-v2 was trained on general web text; it places the clinic's passages less
sharply than it could for the questions patients ask about them. Before the first build
of an index, kapbot fine-tunes a copy of the packaged model as a *passage* encoder, on
pairs taken from the documents being indexed (no evaluation question, nothing
downloaded): each sentence is paired with the passage it came from, usually with the
sentence itself taken out (the inverse cloze task), each section heading with its
passage, and each curated question of a document's front matter (the patient questions
the content team wrote for it) with the passage that holds its quote. The query side is
embedded by the packaged model, unchanged, and training moves the passage's vector
towards it and away from the other passages of the batch.

Only passages get the fitted vectors. A message, the sentence records and the curated
questions are still embedded by the packaged model, so the crisis check's calibration
does not move when the documents change (it judges the packaged vector).

The same pairs then fit a *query head*: a copy of the packaged model's top two layers,
trained to bring each query nearer its fitted passage. A message goes through the
packaged model once; the input of its top layers also goes through the head, and that
vector searches the passages (:class:`kapbot.embeddings.QueryEncoder`). The packaged
vector, unchanged, still serves the crisis check and the sentence and question records.

The fitted model is saved under ``HOME/models/<name>``, where the name is a hash of the
recipe and the pairs: the same documents give the same name, and the model is reused
instead of trained again. The index records the name of the model its passages were
embedded with (:meth:`kapbot.store.ChunkStore.model_label`), and everything that opens
the index loads that model. Documents ingested later are embedded with the same model;
``kapbot ingest --rebuild`` fits a new one to the corpus as it is then and embeds every
document again. ``KAPBOT_ADAPT=0`` builds with the packaged model alone.

Example:
    >>> text = "## Cost\\n\\nThe cost varies from clinic to clinic. Ask us before you book."
    >>> [p.query for p in training_pairs([Document(id="c1", page_content=text)], limit=10)]
    ['Cost', 'The cost varies from clinic to clinic.']
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from kapbot.chunking import body_of, split_sentences
from kapbot.errors import IndexUnavailableError

if TYPE_CHECKING:
    from kapbot.embeddings import QueryEncoder

STOCK = "stock"  # the packaged model, as shipped
# Change when the pairs or the training change: it names a new model.
RECIPE = "passages-ict-questions-query-head-1"
MIN_PAIRS = 64  # fewer pairs than this teach nothing reliable; the packaged model is used
_MIN_SENTENCE_CHARS = 30  # shorter "sentences" are list fragments and labels
_DROP = 0.9  # how often the query sentence is taken out of its passage
_MIN_REST_CHARS = 100  # ... unless too little of the passage would be left
_MIN_BATCH = 4
BATCH_SIZE = 32
EPOCHS = 2  # passes over the pairs


@dataclass(frozen=True)
class Pair:
    """One training example: a query-like text and the passage it belongs to.

    Attributes:
        query: A sentence or a heading of the passage.
        passage: The passage, usually without ``query`` in it.
        group: The passage's chunk id (one pair per passage in a training batch).
    """

    query: str
    passage: str
    group: str


def _heading(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    return first.lstrip("#").strip() if first.startswith("#") else None


def training_pairs(
    chunks: Sequence[Document],
    *,
    limit: int,
    seed: int = 0,
    questions: Sequence[Document] = (),
) -> list[Pair]:
    """Pairs for fitting the model to these passages, at most ``limit`` of them.

    ``questions`` are curated question records (``metadata["parent"]`` names the chunk
    that answers them): each is paired with its whole passage.

    Deterministic: the same chunks, limit and seed give the same pairs.
    """
    rng = random.Random(seed)
    pairs: list[Pair] = []
    by_id = {chunk.id: chunk for chunk in chunks if chunk.id}
    for question in questions:
        parent = by_id.get(str(question.metadata.get("parent", "")))
        if parent is not None:
            pairs.append(Pair(question.page_content, parent.page_content, parent.id or ""))
    for chunk in chunks:
        text = chunk.page_content
        heading = _heading(text)
        queries = [heading] if heading else []
        queries += [
            s
            for block in body_of(text).split("\n\n")
            for s in split_sentences(block)
            if len(s) > _MIN_SENTENCE_CHARS
        ]
        for query in queries:
            passage = text
            if rng.random() < _DROP and query in text and len(text) - len(query) > _MIN_REST_CHARS:
                passage = text.replace(query, "")
            pairs.append(Pair(query, passage, chunk.id or text))
    if len(pairs) > limit:
        pairs = rng.sample(pairs, limit)
    return pairs


def training_batches(pairs: Sequence[Pair], size: int, seed: int = 0) -> list[list[Pair]]:
    """The pairs shuffled into batches of at most ``size``, one pair per group in a batch.

    Training uses the other passages of a batch as negatives, so a passage must not be
    its own negative; a second pair of the same passage waits for a later batch. Batches
    of fewer than 4 pairs (too few negatives to learn from) are left out.
    """
    waiting = list(pairs)
    random.Random(seed).shuffle(waiting)
    batches: list[list[Pair]] = []
    while waiting:
        batch: list[Pair] = []
        groups: set[str] = set()
        later: list[Pair] = []
        for pair in waiting:
            if len(batch) < size and pair.group not in groups:
                batch.append(pair)
                groups.add(pair.group)
            else:
                later.append(pair)
        if len(batch) < _MIN_BATCH:
            break
        batches.append(batch)
        waiting = later
    return batches


def model_name(pairs: Sequence[Pair]) -> str:
    """The fitted model's name: a hash of the recipe and the pairs it is trained on."""
    digest = hashlib.sha256(RECIPE.encode())
    for pair in pairs:
        digest.update(json.dumps([pair.query, pair.passage, pair.group]).encode())
    return f"fitted-{digest.hexdigest()[:16]}"


def model_folder(models_dir: Path, label: str | None) -> Path | None:
    """Where a fitted model's weights live; None for the packaged model."""
    if label in (None, "", STOCK):
        return None
    return models_dir / str(label)


@dataclass(frozen=True)
class FitPlan:
    """What fitting a model to some documents will do.

    Attributes:
        name: The fitted model's name (its folder under ``HOME/models``).
        pairs: How many training pairs the documents gave.
        steps: The training batches of ``(query, passage)``, in order (every pair once
            per pass, ``EPOCHS`` passes).
    """

    name: str
    pairs: int
    steps: list[list[tuple[str, str]]]

    @property
    def size(self) -> int:
        """Pairs the fitting goes through: every step twice, once for the passage model
        and once for the query head (see :func:`kapbot.fitting.fit_model`)."""
        return 2 * sum(len(step) for step in self.steps)


def fitting_plan(
    chunks: Sequence[Document], *, limit: int, questions: Sequence[Document] = ()
) -> FitPlan | None:
    """How to fit a model to these passages; None when they are too few to learn from."""
    pairs = training_pairs(chunks, limit=limit, questions=questions)
    if len(pairs) < MIN_PAIRS:
        return None
    steps = [
        [(p.query, p.passage) for p in batch]
        for epoch in range(EPOCHS)
        for batch in training_batches(pairs, BATCH_SIZE, seed=epoch)
    ]
    return FitPlan(model_name(pairs), len(pairs), steps)


def passage_model(
    models_dir: Path, label: str | None, packaged: Embeddings, batch_size: int
) -> Embeddings:
    """The model that embeds an index's passages: ``packaged`` itself, or the fitted model
    ``label`` (with ``packaged`` embedding the queries).

    Raises:
        IndexUnavailableError: the index names a fitted model this machine does not have.
    """
    folder = model_folder(models_dir, label)
    if folder is None:
        return packaged
    if not (folder / "modules.json").is_file():
        raise IndexUnavailableError(
            f"The index's passages were embedded by the model {label}, fitted to its "
            f"documents, which is not in {models_dir}. Copy that folder from the machine "
            "that built the index, or run `kapbot ingest --rebuild` to fit a model here "
            "and embed every document again."
        )
    from kapbot.embeddings import PassageEmbeddings, load_embeddings

    return PassageEmbeddings(packaged, load_embeddings(batch_size, folder))


def query_encoder(models_dir: Path, label: str | None, packaged: Embeddings) -> QueryEncoder:
    """What embeds a message for an index whose passages the model ``label`` embedded:
    the packaged model, with the query head fitted beside that model if it has one (a
    model fitted before query heads existed has none: the packaged vectors search the
    passages, as they did when it was fitted)."""
    from kapbot.embeddings import HEAD_FILE, QueryEncoder

    folder = model_folder(models_dir, label)
    return QueryEncoder(packaged, None if folder is None else folder / HEAD_FILE)
