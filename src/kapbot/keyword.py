"""The keyword (BM25) index: the only module that imports bm25s.

The Chroma collection is the source of truth. This index is derived from it: it is
rebuilt from the collection's chunks whenever their id set changes, and saved with a
fingerprint of that id set, so a crash mid-ingest can never leave the two out of step
for longer than the next ingest or start-up check.

Example:
    >>> index = KeywordIndex.build([Document(id="a", page_content="Ketamine cost")])
    >>> [doc.id for doc, _ in index.search("cost of ketamine", k=1)]
    ['a']
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
STOPWORDS = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "data" / "stopwords_en.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG on import and logs every build.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-free, stop-word-free, Snowball-stemmed word tokens."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = [w.replace("’", "'") for w in _WORD.findall(folded)]
    words = [w.split("'")[0] for w in words]
    return list(_stemmer().stemWords([w for w in words if w and w not in STOPWORDS]))


def fingerprint(ids: Iterable[str]) -> str:
    """Order-independent digest of a set of chunk ids."""
    digest = hashlib.sha256()
    for cid in sorted(set(ids)):
        digest.update(cid.encode())
        digest.update(b"\n")
    return digest.hexdigest()


class KeywordIndex:
    """BM25 over chunk texts, with the chunks kept in memory for returning hits."""

    def __init__(
        self, docs: Sequence[Document], retriever: object | None, key: str | None = None
    ) -> None:
        self.docs = list(docs)
        self._retriever = retriever
        # What the index was built from (default: its chunk ids), to know when it is stale.
        self.fingerprint = key or fingerprint(d.id or "" for d in self.docs)
        self.by_id = {d.id or "": d for d in self.docs}
        self._masked: tuple[frozenset[str], Any] | None = None

    @classmethod
    def build(
        cls,
        docs: Iterable[Document],
        expansions: Mapping[str, Sequence[str]] | None = None,
        key: str | None = None,
    ) -> KeywordIndex:
        """BM25 over each chunk's text plus its ``expansions`` (the curated patient questions
        that quote it, by chunk id: "doc2query"), so a patient's own words match a passage
        written in the clinic's words. Hits return the chunk as written."""
        bm25s = _bm25s()
        extra = expansions or {}
        chunks = [d for d in docs if d.id]
        tokens = [tokenize(" ".join((d.page_content, *extra.get(d.id or "", ())))) for d in chunks]
        if not any(tokens):
            return cls(chunks, None, key)  # nothing searchable (no chunks, or only stop words)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(chunks, retriever, key)

    def _mask(self, sources: frozenset[str]) -> Any:
        """1 for each chunk of ``sources``, 0 for the rest (kept for the last set asked;
        read and replaced as one tuple, so threads asking for other sets cannot mix)."""
        masked = self._masked
        if masked is None or masked[0] != sources:
            import numpy as np

            mask = np.fromiter(
                (str(d.metadata.get("source", "")) in sources for d in self.docs),
                dtype=np.float32,
                count=len(self.docs),
            )
            masked = self._masked = (sources, mask)
        return masked[1]

    def __len__(self) -> int:
        return len(self.docs)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a stemmed token (rare words weigh more)."""
        n = len(self.docs)
        df = 0
        if self._retriever is not None:
            token_id = self._retriever.vocab_dict.get(token)  # type: ignore[attr-defined]
            if token_id is not None:
                indptr = self._retriever.scores["indptr"]  # type: ignore[attr-defined]
                df = int(indptr[token_id + 1] - indptr[token_id])
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def search(
        self, query: str, k: int = 10, sources: Collection[str] | None = None
    ) -> list[tuple[Document, float]]:
        """Chunks sharing words with ``query``, best BM25 score first (score > 0 only);
        only chunks of the documents ``sources`` when given (scored as among all)."""
        if self._retriever is None or k <= 0:
            return []
        vocab = self._retriever.vocab_dict  # type: ignore[attr-defined]
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        mask = None if sources is None else self._mask(frozenset(sources))
        n = min(k, len(self.docs) if mask is None else int(mask.sum()))
        if n <= 0:
            return []
        rows, scores = self._retriever.retrieve(  # type: ignore[attr-defined]
            [tokens], k=n, show_progress=False, n_threads=0, weight_mask=mask
        )
        return [
            (self.docs[int(i)], float(s))
            for i, s in zip(rows[0], scores[0], strict=True)
            if float(s) > 0.0
        ]

    def save(self, folder: Path) -> None:
        """Write atomically: a reader sees the old index or the new one, never a mix."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".keyword-", dir=folder.parent))
        try:
            with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
                for d in self.docs:
                    fh.write(
                        json.dumps(
                            {"id": d.id, "text": d.page_content, "metadata": d.metadata},
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
            if self._retriever is not None:
                self._retriever.save(str(tmp / "bm25"), show_progress=False)  # type: ignore[attr-defined]
            (tmp / "meta.json").write_text(
                json.dumps(
                    {
                        "fingerprint": self.fingerprint,
                        "count": len(self.docs),
                        "bm25": self._retriever is not None,
                    }
                )
            )
            old = folder.with_name(folder.name + ".old")
            if folder.exists():
                os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex | None:
        """The saved index, or None when there is none or it is unreadable."""
        bm25s = _bm25s()
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            docs = []
            with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line)
                    docs.append(
                        Document(id=row["id"], page_content=row["text"], metadata=row["metadata"])
                    )
            retriever = (
                bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if meta["bm25"] else None
            )
            if len(docs) != meta["count"]:
                return None
        except Exception:  # any damage means "rebuild it"
            return None
        return cls(docs, retriever, str(meta["fingerprint"]))

    @staticmethod
    def saved_fingerprint(folder: Path) -> str | None:
        try:
            return str(json.loads((folder / "meta.json").read_text())["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def load_in_step(
    folder: Path,
    ids: Sequence[str],
    chunks: Callable[[], Iterable[Document]],
    expansions: Callable[[], Mapping[str, Sequence[str]]] | None = None,
) -> KeywordIndex:
    """The saved index if it matches ``ids`` (the chunks' and the expansions' record ids);
    otherwise rebuilt from ``chunks()`` and ``expansions()`` and saved."""
    current = fingerprint(ids)
    if KeywordIndex.saved_fingerprint(folder) == current:
        loaded = KeywordIndex.load(folder)
        if loaded is not None and loaded.fingerprint == current:
            return loaded
    rebuilt = KeywordIndex.build(chunks(), expansions() if expansions else None, current)
    rebuilt.save(folder)
    return rebuilt
