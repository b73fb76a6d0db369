"""The semantic backstop's scorer: nearest reviewed exemplars on each side (pure numpy).

Two reviewed data files hold the examples: ``data/crisis_exemplars.txt`` (messages that
are a crisis) and ``data/safe_exemplars.txt`` (messages that share words or topics with a
crisis but are not one: FAQ questions, idioms, negations, questions about research). A
message's score is how much closer it is to its ``k`` nearest crisis exemplars than to its
``k`` nearest safe ones (mean cosine similarity, crisis minus safe). Near-misses in the
safe file pull the score of look-alike messages down, which a single similarity threshold
to the crisis examples cannot do.

The threshold is chosen on the exemplars alone, leaving each one out in turn: the lowest
score that keeps the false alarms on safe exemplars at ``false_alarm_rate``. No evaluation
set is ever used to fit or tune it.

Example:
    >>> model = RiskModel.fit(crisis_vectors, safe_vectors)  # doctest: +SKIP
    >>> model.score(vector) >= model.threshold  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]


def _top_mean(similarities: Matrix, k: int) -> Matrix:
    """Mean of the k largest values of each row."""
    k = min(k, similarities.shape[1])
    means: Matrix = np.sort(similarities, axis=1)[:, -k:].mean(axis=1)
    return means


@dataclass(frozen=True)
class RiskModel:
    """Exemplar vectors of both kinds and the decision threshold on the margin."""

    crisis: Matrix
    safe: Matrix
    k: int
    threshold: float
    floor: float
    loo_recall: float
    loo_false_alarms: float

    @classmethod
    def fit(
        cls,
        crisis: Sequence[Sequence[float]],
        safe: Sequence[Sequence[float]],
        *,
        k: int = 3,
        false_alarm_rate: float = 0.02,
    ) -> RiskModel:
        """Keep the (normalised) exemplar vectors and pick the threshold leaving one out.

        Raises:
            ValueError: each side needs more than ``k`` exemplars.
        """
        pos = _normalised(crisis)
        neg = _normalised(safe)
        if min(len(pos), len(neg)) <= k:
            raise ValueError(f"need more than {k} crisis and {k} safe exemplars")
        # Leave-one-out margins: an exemplar never counts as its own neighbour.
        pos_pos = pos @ pos.T
        np.fill_diagonal(pos_pos, -np.inf)
        neg_neg = neg @ neg.T
        np.fill_diagonal(neg_neg, -np.inf)
        pos_near = _top_mean(pos_pos, k)
        pos_scores = pos_near - _top_mean(pos @ neg.T, k)
        neg_near = _top_mean(neg @ pos.T, k)
        neg_scores = neg_near - _top_mean(neg_neg, k)
        threshold = float(np.quantile(neg_scores, 1.0 - false_alarm_rate))
        # A message far from every crisis exemplar (weather, car repairs) is not judged by
        # the margin at all: the floor is what 99% of crisis exemplars reach.
        floor = float(np.quantile(pos_near, 0.01))
        return cls(
            crisis=pos,
            safe=neg,
            k=k,
            threshold=threshold,
            floor=floor,
            loo_recall=float(((pos_scores >= threshold) & (pos_near >= floor)).mean()),
            loo_false_alarms=float(((neg_scores >= threshold) & (neg_near >= floor)).mean()),
        )

    def score(self, vector: Sequence[float]) -> float:
        """Closeness to crisis exemplars minus closeness to safe ones (higher: riskier);
        minus infinity when the message is below the floor (near no crisis exemplar)."""
        v = _normalised([vector])
        near = float(_top_mean(v @ self.crisis.T, self.k)[0])
        if near < self.floor:
            return float("-inf")
        return near - float(_top_mean(v @ self.safe.T, self.k)[0])

    def nearest_crisis(self, vector: Sequence[float]) -> int:
        """Index of the most similar crisis exemplar (for the decision's record)."""
        return int(np.argmax(_normalised([vector]) @ self.crisis.T))


def _normalised(vectors: Sequence[Sequence[float]]) -> Matrix:
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("expected a list of vectors")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)
