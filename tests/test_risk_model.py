"""The semantic backstop's nearest-exemplar scorer (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from kapbot.risk_model import RiskModel


def _blobs(n: int = 60, dim: int = 8, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = np.zeros(dim)
    centre[0] = 1.0
    return rng.normal(centre, 0.35, size=(n, dim)), rng.normal(-centre, 0.35, size=(n, dim))


def test_separable_exemplars_are_told_apart() -> None:
    crisis, safe = _blobs()
    model = RiskModel.fit(crisis, safe)
    assert model.loo_recall >= 0.95
    assert model.loo_false_alarms <= 0.05
    probe_crisis, probe_safe = _blobs(n=20, seed=99)
    caught = sum(model.score(v) >= model.threshold for v in probe_crisis)
    alarms = sum(model.score(v) >= model.threshold for v in probe_safe)
    assert caught >= 18 and alarms <= 1


def test_threshold_holds_the_false_alarm_rate_leaving_one_out() -> None:
    crisis, safe = _blobs(seed=11)
    safe[:10] = crisis[:10] + 0.01  # ten safe exemplars that look like crisis ones
    model = RiskModel.fit(crisis, safe, false_alarm_rate=0.2)
    assert model.loo_false_alarms <= 0.2 + 1e-9


def test_far_from_every_crisis_exemplar_scores_nothing() -> None:
    crisis, safe = _blobs()
    model = RiskModel.fit(crisis, safe)
    orthogonal = np.zeros(8)
    orthogonal[5] = 1.0
    assert model.score(orthogonal) == float("-inf")
    assert model.nearest_crisis(crisis[7]) == 7


def test_needs_enough_exemplars() -> None:
    with pytest.raises(ValueError, match="need more than 3"):
        RiskModel.fit(np.ones((3, 4)), np.ones((10, 4)))
