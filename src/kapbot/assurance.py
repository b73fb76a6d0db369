"""Requests for assurance: a pattern and a semantic backstop (pure, except the embedder).

A patient who leans on a statistic, a study, a review or someone's story to ask whether
it will work for them ("87%. So I'm good?", "it fixed my sister's, it'll fix mine?")
must first read that results vary and nothing can be guaranteed. Patterns
(:func:`kapbot.guardrails.asks_assurance`) catch the common forms; phrasings they miss
("that means it has to work on me") are caught by their meaning: the message's vector is
compared with reviewed exemplars of such requests (``data/assurance_exemplars.txt``) and
of ordinary questions, near misses included (``data/ordinary_exemplars.txt``), with the
same nearest-exemplar margin and leave-one-out threshold as the crisis check's backstop
(:mod:`kapbot.risk_model`).

Example:
    >>> check = AssuranceCheck.load(embed)  # doctest: +SKIP
    >>> check.asks("so it has to work on me, right?", vector)  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kapbot.guardrails import asks_assurance
from kapbot.risk_model import RiskModel

DATA = Path(__file__).parent / "data"
ASKING = DATA / "assurance_exemplars.txt"
ORDINARY = DATA / "ordinary_exemplars.txt"
# Share of the ordinary exemplars (left out one at a time) the backstop may flag.
FALSE_ALARM_RATE = 0.01


@dataclass(frozen=True)
class AssuranceCheck:
    """The pattern, then the margin between the nearest requests and ordinary questions."""

    model: RiskModel

    @classmethod
    def load(
        cls,
        embed: Callable[[list[str]], list[list[float]]],
        cache_dir: Path | None = None,
    ) -> AssuranceCheck:
        """Embed the exemplars (cached in ``cache_dir`` by their text) and fit the margin."""
        from kapbot.crisis import cached_vectors, data_lines

        asking, ordinary = data_lines(ASKING), data_lines(ORDINARY)
        vectors = cached_vectors([*asking, *ordinary], embed, cache_dir)
        model = RiskModel.fit(
            vectors[: len(asking)], vectors[len(asking) :], false_alarm_rate=FALSE_ALARM_RATE
        )
        return cls(model)

    def asks(self, message: str, vector: Sequence[float] | None) -> bool:
        """Whether ``message`` asks for assurance that it will work for the writer."""
        if asks_assurance(message):
            return True
        return vector is not None and self.model.score(vector) >= self.model.threshold
