"""Crisis check: runs on every message, before retrieval (pure, except for the embedder).

Layers:

1. normalisation: case, accents, leetspeak ("k1ll"), squeezed repeated letters
   ("diiie"), "my self" -> "myself";
2. a reviewable lexicon (``data/crisis_lexicon.yaml``) with severity tiers, English and
   Spanish, including code words ("kms", "unalive", "sewer slide");
3. context rules: idioms are removed before matching ("my boss will kill me"); a negated
   phrase does not count ("I've never been suicidal"); a message about the past or asking
   for information is a *concern*, unless someone is in danger now; news of someone
   else's wish to die, self-harm, plan or means is a crisis, the topic alone a concern;
   signs of a medical emergency ("he won't wake up") are a crisis on their own;
4. a semantic backstop: the message's similarity to reviewed crisis exemplars
   (``data/crisis_exemplars.txt``) with the same embedding model, so a paraphrase without
   any lexicon word is still caught.

Every decision records which rule or score made it.

Example:
    >>> check = CrisisCheck.load()
    >>> check.check("this wait is killing me").level
    'none'
    >>> check.check("i want to kill myself").level
    'crisis'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kapbot.crisis_reply import replied_crisis
from kapbot.crisis_words import (
    CLAUSE_MARK,
    normalise,
    normalise_clauses,
    normalise_pattern,
    squeeze,
    word_count,
)
from kapbot.risk_model import RiskModel
from kapbot.spelling import looks_spanish

DATA = Path(__file__).parent / "data"
# The writer as the subject ("told me" is not enough: the girlfriend is the subject).
_FIRST_PERSON = re.compile(r"\b(i|im|ive|id|ill|myself|my life|quiero|yo)\b")
# How far past its threshold the semantic score must be to overrule rules that softened
# a message (someone else, a figure of speech, hopelessness without a plan).
ESCALATE = 0.05
# How far below its threshold the semantic score still earns the Lifeline note (a concern)
# before an ordinary answer: near-misses of the backstop are shown where help is.
CONCERN_BAND = 0.04
_RISK_TIERS = ("intent", "plan", "means", "self_harm", "harm_to_others", "emergency")
# A state word just before a topic word makes it about the writer ("feeling suicidal").
_STATE_WORDS = (
    "feel feeling feelin felt been getting am im so very really super kinda pretty estoy me siento"
)
# A message that asks about something rather than telling about oneself.
_QUESTION_WORDS = (
    "what whats how why when where who which is are does do did can could should would will "
    "que como cual cuales es son puede pueden hay"
)

# A question about something, not about the writer: the backstop alone does not make it a
# crisis ("who cant do this", "what happens in the last one?"), only a concern.
_WH_QUESTION = re.compile(r"^(what|whats|how|when|where|who|which|que|como|cual|cuales|cuando)\b")

_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?:because|bc|porque)\s+", re.IGNORECASE)
_SEVERITY = {"none": 0, "concern": 1, "crisis": 2}
# A question that asks about the writer's own feelings ("is it normal to want to ...").
_ABOUT_ME = re.compile(r"(is it|its) (normal|ok|okay|bad|wrong|weird) (to|that i|if i)\b")

# A yes/no question about what the treatment does ("but won't it bring up my trauma and make
# everything worse?"): a worry about the treatment. When only the backstop hears a crisis in
# it, it gets the Lifeline note and its answer, not the crisis reply.
_ABOUT_TREATMENT = re.compile(
    r"^(?:(?:but|and|so|ok|okay)\s+)?(?:will|wont|won't|would|wouldnt|wouldn't|could|couldnt|"
    r"couldn't|can|does|doesnt|doesn't|is|isnt|isn't|might|may)\s+(?:it|this|that|ketamine|kap|"
    r"spravato|esketamine|the\s+(?:treatment|therapy|medicine|medication|drug|infusions?|"
    r"sessions?|dose|doses))\b",
    re.IGNORECASE,
)

Vector = Sequence[float]


_STATE = re.compile(r"\b(" + "|".join(squeeze(w) for w in _STATE_WORDS.split()) + r")\s*$")
_QUESTION = re.compile(r"^(" + "|".join(squeeze(w) for w in _QUESTION_WORDS.split()) + r")\b")


@dataclass(frozen=True)
class CrisisDecision:
    """The outcome and why: ``level`` is ``crisis``, ``concern`` or ``none``."""

    level: str
    rule: str
    matched: str = ""
    score: float = 0.0
    # After a crisis reply: "help" when help has come or is coming, "refused" when the
    # person refuses help or a line did not answer (each has its own reply).
    variant: str = ""

    @property
    def severity(self) -> int:
        """2 for a crisis, 1 for a concern or an acknowledgement, 0 otherwise."""
        if self.rule == "acknowledgement":
            return 1
        return _SEVERITY[self.level]


def _phrase_pattern(
    phrases: Sequence[str], expressions: Sequence[str] = ()
) -> re.Pattern[str] | None:
    """One pattern for the phrases (normalised, longest first) and regular expressions
    (written in normalised form), its group 1 the text found."""
    cleaned = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    parts = [*(re.escape(p) for p in cleaned), *expressions]
    if not parts:
        return None
    return re.compile(r"\b(" + "|".join(parts) + r")\b")


class CrisisCheck:
    """Decides whether a message is a crisis, a concern or neither."""

    def __init__(
        self,
        lexicon: Mapping[str, Any],
        exemplars: Sequence[str] = (),
        embed: Callable[[list[str]], list[list[float]]] | None = None,
        threshold: float = 0.72,
        safe_exemplars: Sequence[str] = (),
        cache_dir: Path | None = None,
    ) -> None:
        self.tiers: dict[str, re.Pattern[str]] = {}
        patterns = lexicon.get("patterns", {})
        for tier, languages in lexicon["tiers"].items():
            phrases = [p for group in languages.values() for p in group]
            pattern = _phrase_pattern(phrases, patterns.get(tier, ()))
            if pattern is not None:
                self.tiers[tier] = pattern
        self.idioms = [re.compile(r"\b" + normalise_pattern(p) + r"\b") for p in lexicon["idioms"]]
        self.negations = [normalise(n) for n in lexicon["negations"]]
        self.third_person = _phrase_pattern(lexicon["third_person"])
        self.immediate = _phrase_pattern(lexicon["immediate_danger"])
        self.past = _phrase_pattern(lexicon["past"])
        self.present = _phrase_pattern(lexicon.get("present", []))
        self.roles = _phrase_pattern(lexicon.get("roles", []))
        self.informational = _phrase_pattern(lexicon["informational"])
        self.warning_signs = _phrase_pattern(lexicon.get("warning_signs", []))
        self.emergency_signs = _phrase_pattern(lexicon.get("emergency_signs", []))
        self.refusals = _phrase_pattern(lexicon.get("refusals", []))
        self.responders = _phrase_pattern(lexicon.get("responders", []))
        self.continuations = _phrase_pattern(lexicon.get("continuations", []))
        help_arrived = lexicon.get("help_arrived", {})
        self.help_arrived = _phrase_pattern([p for group in help_arrived.values() for p in group])
        acknowledgements = lexicon.get("acknowledgements", {})
        self.acknowledgements = _phrase_pattern(
            [p for group in acknowledgements.values() for p in group]
        )
        self.spanish = {
            normalise(p)
            for group in (*lexicon["tiers"].values(), acknowledgements, help_arrived)
            for p in group.get("es", [])
        }
        self.exemplars = list(exemplars)
        self.safe_exemplars = list(safe_exemplars)
        self.threshold = threshold
        self._embed = embed
        self._cache_dir = cache_dir
        self._exemplar_vectors: list[list[float]] | None = None
        self.model: RiskModel | None = None

    @classmethod
    def load(
        cls,
        embed: Callable[[list[str]], list[list[float]]] | None = None,
        threshold: float = 0.72,
        cache_dir: Path | None = None,
    ) -> CrisisCheck:
        """The check with the lexicon and exemplars shipped in ``data/``."""
        lexicon = yaml.safe_load((DATA / "crisis_lexicon.yaml").read_text(encoding="utf-8"))
        return cls(
            lexicon,
            data_lines(DATA / "crisis_exemplars.txt"),
            embed,
            threshold,
            safe_exemplars=data_lines(DATA / "safe_exemplars.txt"),
            cache_dir=cache_dir,
        )

    def warm_up(self) -> None:
        """Embed the exemplars and train the classifier now (once), not on the first
        patient's message."""
        if self._embed is None or not self.exemplars or self._exemplar_vectors is not None:
            return
        texts = self.exemplars + self.safe_exemplars
        vectors = cached_vectors(texts, self._embed, self._cache_dir)
        self._exemplar_vectors = vectors[: len(self.exemplars)]
        if len(self.safe_exemplars) > 3 and len(self.exemplars) > 3:
            self.model = RiskModel.fit(self._exemplar_vectors, vectors[len(self.exemplars) :])

    def check(
        self,
        message: str,
        history: Sequence[Mapping[str, str]] = (),
        vector: Vector | None = None,
        *,
        words_only: bool = False,
    ) -> CrisisDecision:
        """Classify one message (recent user turns give context to short replies).

        Args:
            message: What the patient typed (already cleaned).
            history: Earlier turns; a short reply such as "yes, tonight" after a risky
                message is read together with it.
            vector: The message's embedding, if the caller already has it.
            words_only: Decide by the lexicon and the conversation alone, without the
                embedding model (nothing that can fail): run first, so that a crisis is
                never missed because a later step failed.
        """
        text, idiom_found = self._without_idioms(normalise_clauses(message))
        decision = self._lexical(text)
        if decision.level != "crisis":
            # A long message is read sentence by sentence too: an FAQ question first must
            # not soften "... and the pills are right here" that follows it.
            for sentence in _SENTENCE_BREAK.split(message):
                if sentence.strip() and sentence.strip() != message.strip():
                    part = self._lexical(self._without_idioms(normalise_clauses(sentence))[0])
                    if _SEVERITY[part.level] > _SEVERITY[decision.level]:
                        decision = part
        if decision.level != "crisis" and history:
            after = self._after(text, message, history, decision)
            if after is not None:
                return after
        if decision.level == "crisis" or words_only:
            return decision
        if decision.level == "concern" or idiom_found:
            # The rules found context that softens the words (someone else, a figure of
            # speech, hopelessness without a plan); only a confident classifier overrules
            # them, and never for a question about research or a resolved past.
            softened = decision if decision.level == "concern" else CrisisDecision("none", "idiom")
            if "informational" in softened.rule or "past" in softened.rule:
                return softened
            if self._embed is None or not self.exemplars:
                return softened
            alarm, score, best = self._scores(message, vector)
            if alarm and self.model is not None and score >= self.model.threshold + ESCALATE:
                return CrisisDecision(
                    "crisis", f"{softened.rule}+semantic", self.exemplars[best], score
                )
            return softened
        return self._semantic(message, text, vector)

    def _after(
        self,
        text: str,
        message: str,
        history: Sequence[Mapping[str, str]],
        decision: CrisisDecision,
    ) -> CrisisDecision | None:
        """A message that carries no risk phrase of its own, read with the conversation.

        After a crisis reply, a message with a warning sign, or a concern of its own, ("getting really sleepy", "i
        took them") or a short one that carries it on ("yes", "tonight") is a crisis again,
        and one that says the writer is safer, that help has come, or thanks ("ok thanks",
        "I'm okay now, I called") gets an acknowledgement; any other message (an ordinary
        question) is answered as usual. Otherwise a short reply that completes
        an earlier risky message ("... I have the pills", then "tonight") is read with it.
        """
        previous = [t.get("content", "") for t in history if t.get("role") == "user"][-2:]
        previous = [p for p in previous if isinstance(p, str)]
        if not previous:
            return None
        words = word_count(text)
        before = self._lexical(normalise(" ".join(previous)))
        if before.level == "crisis" or replied_crisis(history):
            helped = self.help_arrived.search(text) if self.help_arrived else None
            rest = self.help_arrived.sub(" ", text) if self.help_arrived else text
            body = self.emergency_signs.search(rest) if self.emergency_signs else None
            refused = self.refusals.search(text) if self.refusals else None
            if words <= 25 and refused:  # "on hold so I hung up" (", taking them now")
                rule, found = (
                    ("history:emergency_sign", body) if body else ("history:refused", refused)
                )
                return CrisisDecision("crisis", rule, found.group(1), variant="refused")
            if decision.level == "concern":  # hopelessness right after a crisis: still one
                return CrisisDecision("crisis", "history:" + decision.rule, decision.matched)
            if words <= 25 and body:
                return CrisisDecision("crisis", "history:emergency_sign", body.group(1))
            sign = self.warning_signs.search(rest) if self.warning_signs else None
            if words <= 25 and sign:
                return CrisisDecision("crisis", "history:warning_sign", sign.group(1))
            if words <= 40 and helped:
                came = self.responders is not None and self.responders.search(text)
                variant = "help" if came else ""
                return CrisisDecision("none", "acknowledgement", helped.group(1), variant=variant)
            going_on = self.continuations.search(text) if self.continuations else None
            if words <= 6 and going_on:
                return CrisisDecision("crisis", "history:continuation", going_on.group(1))
            thanks = self.acknowledgements.search(text) if self.acknowledgements else None
            if words <= 25 and thanks and "?" not in message:
                return CrisisDecision("none", "acknowledgement", thanks.group(1))
            return None
        if words <= 6 and decision.level == "none":
            earlier = self._lexical(normalise(" ".join(previous)) + " " + text)
            if earlier.level == "crisis":
                return CrisisDecision("crisis", "history:" + earlier.rule, earlier.matched)
        return None

    @staticmethod
    def emergency(decision: CrisisDecision) -> bool:
        """Whether the decision found an emergency under way (someone not breathing, an
        overdose taken, self-harm happening now): emergency help first."""
        if "emergency" in decision.rule or decision.rule.startswith("self_harm+immediate"):
            return True
        # Someone else with the means or a plan now ("my sister is threatening to jump").
        tier = decision.rule.removeprefix("history:").split("+")[0]
        if "+immediate_danger+third_person" in decision.rule:
            return True
        if decision.rule.endswith("+third_person") and tier in {"plan", "means", "emergency"}:
            return True
        taken = r"\b(?:tok|taken|swalowed|downed|tome|tomo|trague)\b"
        return tier in {"means", "plan"} and re.search(taken, decision.matched) is not None

    def bystander(self, message: str, decision: CrisisDecision) -> bool:
        """Whether the writer is telling of someone else in danger ("my girlfriend took a
        bunch of pills"), not of themselves: a third person decided it, and the clause of
        the risk phrase has no word of the writer ("my girlfriend moved out, and i've been
        sitting in my car with a hose" is about the writer)."""
        if "+third_person" not in decision.rule:
            return False
        text = normalise_clauses(message)
        at = text.find(decision.matched.split(" / ")[0])
        return at < 0 or _FIRST_PERSON.search(_clause_at(text, at)) is None

    def language(self, message: str, decision: CrisisDecision) -> str:
        """``es`` when the message, or the phrase or exemplar it was flagged by, is Spanish."""
        matched = decision.matched.split(" / ")[0]
        if looks_spanish(message) or looks_spanish(matched) or normalise(matched) in self.spanish:
            return "es"
        return "en"

    def _without_idioms(self, text: str) -> tuple[str, bool]:
        """The normalised text with figures of speech removed, and whether there were any."""
        found = False
        for idiom in self.idioms:
            text, n = idiom.subn(" ", text)
            found = found or n > 0
        return text, found

    def _lexical(self, text: str) -> CrisisDecision:
        hits: list[tuple[str, str, int]] = []
        for tier, pattern in self.tiers.items():
            for match in pattern.finditer(text):
                if not self._negated(text, match.start()):
                    hits.append((tier, match.group(1), match.start()))
        if not hits:
            return CrisisDecision("none", "no lexicon match")
        hits.sort(key=lambda h: h[2])
        # A body in danger now decides first, wherever it is said ("cut myself pretty bad,
        # theres a lot of blood"): emergency help leads the reply.
        risky = sorted((h for h in hits if h[0] in _RISK_TIERS), key=lambda h: h[0] != "emergency")
        topic = [h for h in hits if h[0] == "topic"]
        tier, phrase, start = (risky or topic or hits)[0]
        # Someone in danger now: a crisis whoever it is about.
        alarming = bool(risky or topic) or tier == "hopelessness"
        if alarming and self.immediate is not None and (m := self.immediate.search(text)):
            rule = f"{tier}+immediate_danger"
            someone = self.third_person is not None and self.third_person.search(text)
            if someone and not self._personal(text, start, phrase):
                rule += "+third_person"  # "my girlfriend took a bunch of pills"
            return CrisisDecision("crisis", rule, f"{phrase} / {m.group(1)}")
        if (past := self._resolved(text, start)) is not None:
            return CrisisDecision("concern", f"{tier}+past", f"{phrase} / {past}")
        feeling = _STATE.search(" ".join(text[:start].split()[-2:])) is not None
        if tier == "topic" and not feeling and self.roles and (r := self.roles.search(text)):
            # "I'm a paramedic and see overdoses every shift": the topic at work (but "I'm
            # a nurse and I'm suicidal" is about the writer).
            return CrisisDecision("concern", "topic+role", f"{phrase} / {r.group(1)}")
        personal = self._personal(text, start, phrase)
        asking = self._asking(text)
        # Questions about treatment or research; a question about means or an emergency
        # ("is it normal that he is barely breathing?") is never that.
        if not personal and tier not in {"means", "emergency"} and asking:
            return CrisisDecision("concern", f"{tier}+informational", phrase)
        if not personal and self.third_person is not None and (m := self.third_person.search(text)):
            # Someone else's wish to die, self-harm, plan, means or threat, told as news (not
            # asked about, not in the past), is crisis language about them; the topic alone
            # ("she thinks about suicide sometimes") or hopelessness is a concern.
            level = "crisis" if risky else "concern"
            return CrisisDecision(level, f"{tier}+third_person", f"{phrase} / {m.group(1)}")
        if tier == "topic":
            level = "crisis" if personal or word_count(text) <= 4 else "concern"
            return CrisisDecision(
                level, "topic" if level == "concern" else "topic+personal", phrase
            )
        if not risky:
            return CrisisDecision("concern", tier, phrase)
        return CrisisDecision("crisis", tier, phrase)

    def _resolved(self, text: str, start: int) -> str | None:
        """The past marker that makes the risk phrase at ``start`` a resolved past ("I
        attempted years ago"), unless its own clause speaks of now ("when I was younger I
        loved life, now I want to die"; "I survived one attempt, this time I have the pills").
        """
        if self.past is None:
            return None
        clause = _clause_at(text, start)
        if (m := self.past.search(clause)) is not None:
            return m.group(1)
        if self.present is not None and self.present.search(clause):
            return None
        m = self.past.search(text)
        return m.group(1) if m is not None else None

    def _personal(self, text: str, start: int, phrase: str) -> bool:
        """Whether the writer is the one at risk: the phrase names them ("kill myself"), a
        first-person word or a state word ("feeling") comes just before it, or it opens
        the message ("suicidal and alone")."""
        before = text[:start]
        window = " ".join(before.split()[-5:])
        return (
            _ABOUT_ME.match(text) is not None
            or _FIRST_PERSON.search(phrase) is not None
            or _FIRST_PERSON.search(window) is not None
            or _STATE.search(before) is not None
            or not before.strip()
        )

    def _asking(self, text: str) -> bool:
        """A question about something (not a statement about oneself)."""
        if self.informational is not None and self.informational.search(text):
            return True
        return _QUESTION.search(text) is not None

    def _negated(self, text: str, start: int) -> bool:
        before = text[:start].split()
        if CLAUSE_MARK in before:  # only a negation in the phrase's own clause counts
            before = before[len(before) - before[::-1].index(CLAUSE_MARK) :]
        before = before[-4:]
        window = " ".join(before)
        return any(re.search(r"\b" + re.escape(n) + r"\b", window) for n in self.negations)

    def _scores(self, message: str, vector: Vector | None) -> tuple[bool, float, int]:
        """Whether the backstop calls it a crisis, its score, and the nearest exemplar.

        With safe exemplars: the nearest-neighbour margin against its cross-validated
        threshold; without them, similarity to the nearest crisis exemplar.
        """
        self.warm_up()
        assert self._exemplar_vectors is not None
        query = list(vector) if vector is not None else self._embed([message])[0]  # type: ignore[misc]
        if self.model is not None:
            score = self.model.score(query)
            return score >= self.model.threshold, score, self.model.nearest_crisis(query)
        similarities = [
            sum(a * b for a, b in zip(query, ex, strict=True)) for ex in self._exemplar_vectors
        ]
        best = max(range(len(similarities)), key=similarities.__getitem__)
        return similarities[best] >= self.threshold, similarities[best], best

    def _semantic(self, message: str, text: str, vector: Vector | None) -> CrisisDecision:
        if self._embed is None or not self.exemplars or not re.search(r"[a-z]", text):
            return CrisisDecision("none", "no lexicon match")
        alarm, score, best = self._scores(message, vector)
        if not alarm:
            near = self.model is not None and score >= self.model.threshold - CONCERN_BAND
            if near and (self.informational is None or not self.informational.search(text)):
                return CrisisDecision("concern", "semantic near", self.exemplars[best], score)
            return CrisisDecision("none", "below semantic threshold", score=score)
        if self.informational is not None and self.informational.search(text):
            return CrisisDecision("concern", "semantic+informational", self.exemplars[best], score)
        if _WH_QUESTION.match(text) and not _FIRST_PERSON.search(text):
            return CrisisDecision("concern", "semantic+question", self.exemplars[best], score)
        if "?" in message and _ABOUT_TREATMENT.match(message.strip()):
            return CrisisDecision(
                "concern", "semantic+treatment question", self.exemplars[best], score
            )
        return CrisisDecision("crisis", "semantic", self.exemplars[best], score)


def _clause_at(text: str, start: int) -> str:
    """The clause of the normalised ``text`` (between clause marks) holding ``start``."""
    begin = text.rfind(CLAUSE_MARK, 0, start)
    end = text.find(CLAUSE_MARK, start)
    return text[begin + len(CLAUSE_MARK) if begin >= 0 else 0 : end if end >= 0 else len(text)]


def data_lines(path: Path) -> list[str]:
    """The non-comment lines of a data file (missing file: none)."""
    if not path.is_file():
        return []
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def cached_vectors(
    texts: list[str], embed: Callable[[list[str]], list[list[float]]], cache_dir: Path | None
) -> list[list[float]]:
    """Embeddings of the exemplars, kept in ``cache_dir`` keyed by their exact text."""
    key = hashlib.sha256("\n".join(["all-MiniLM-L6-v2", *texts]).encode()).hexdigest()[:16]
    if key in _MEMO:
        return _MEMO[key]
    _MEMO[key] = vectors = _read_or_embed(texts, embed, cache_dir, key)
    return vectors


# Exemplar vectors already computed in this process (tests open many bots).
_MEMO: dict[str, list[list[float]]] = {}


def _read_or_embed(
    texts: list[str],
    embed: Callable[[list[str]], list[list[float]]],
    cache_dir: Path | None,
    key: str,
) -> list[list[float]]:
    import numpy as np

    if cache_dir is None:
        return embed(texts)
    path = cache_dir / f"crisis-exemplars-{key}.npy"
    if path.is_file():
        try:
            return [list(map(float, row)) for row in np.load(path)]
        except (OSError, ValueError):
            pass
    vectors = embed(texts)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp.npy")
        np.save(temp, np.asarray(vectors, dtype=np.float32))
        temp.replace(path)
    except OSError:
        pass  # a read-only home only costs the next start-up a few seconds
    return vectors
