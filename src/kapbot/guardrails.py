"""Output guardrails (pure): no outcome promises, no individual medical advice.

Every reply passes through :func:`guard`: sentences with promise language ("will cure",
"guaranteed", "100% effective", "you will feel better") are removed, whoever wrote them
(a passage, a chat model, or a question that tried to make kapbot say them); so are
sentences that state a dose. A question that asks for a promise gets a plain statement
that results vary; a question about doses, combining drugs, changing medication or one's
own conditions gets a pointer to the prescriber or care team. A request to write
something, play a role or drop kapbot's instructions (:func:`asks_for_task`) is declined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kapbot.records import Passage
from kapbot.texts import safety_text

RESULTS_VARY = safety_text("results_vary")
SEE_PROVIDER = safety_text("see_provider")

_PROMISE = re.compile(
    r"\b(will|would|shall)\s+(definitely\s+|certainly\s+|surely\s+)?(cure|fix|heal)\b"
    r"|\bcures?\s+(you|your|depression|anxiety|ptsd)\b"
    r"|\bguarantee(d|s)?\b"
    r"|\b100\s?(%|percent)\s+(effective|success|guaranteed|of (patients|people))"
    r"|\byou\s+(will|'ll)\s+(definitely\s+|certainly\s+)?(feel|get|be)\s+better\b"
    r"|\b(definitely|certainly|always)\s+works?\b"
    r"|\bwill\s+(definitely|certainly)\s+(work|help)\b"
    r"|\bpermanent(ly)?\s+(cure|fix)\b|\bfor good\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(not|no|never|cannot|can't|don't|doesn't|won't|nothing)\b", re.IGNORECASE
)
_DOSE = re.compile(r"\b\d+(\.\d+)?\s?(mg|milligrams?|mcg|ml|mg/kg)\b", re.IGNORECASE)
_TREATMENT = r"(it|this|that|kap|ketamine|spravato|esketamine|the treatment|treatment|therapy|the therapy|one session|a session|the sessions|infusions?|lozenges?|troches?)"
_ASKS_PROMISE = re.compile(
    r"\b(guarantee\w*|garantiz\w*|promis\w*|prometes?|odds|chances?|success rate|for good|for sure"
    r"|definitely|certain(ly)? to|sure to|bound to|proven to|cure\w*|cura\w*|fix my|fix me"
    r"|permanent(ly)?|forever|para siempre|never come back|completely (better|cured|healed|fine|gone)|(go|goes) away completely|say yes|going to (work|help|be the one)"
    r"|works? for (everyone|everybody|me)|work for me|funciona\w* para todos"
    r"|will i (?:ever )?(?:(?:feel|get|be) (?:better|well|cured|healed|fine|okay|ok|normal|happy|myself|back)|recover|heal|improve|respond)"
    r"|i will too|ill be fine|how soon will i|how long until i"
    r"|will " + _TREATMENT + r" (work|help|cure|fix|heal|make|be enough|get rid|take away|stop)"
    r"|me va a (curar|ayudar|funcionar)|va a funcionar)\b|\b100\s?(%|percent)|\d+\s?% of",
    re.IGNORECASE,
)
# Asking for assurance that it will work for *them*, often leaning on a statistic, a
# study, a review or someone's story ("87%. So I'm good?", "it worked for my sister, so
# it'll work for me?", "I'll respond in 2 weeks too?", "a mí también me va a funcionar").
_ASKS_ASSURANCE = re.compile(
    r"\b(?:it|this|that|they|kap|ketamine|spravato|infusions?|lozenges?|the treatment|"
    r"the first (?:session|one)|one session|another round)\s*(?:['’]ll|will|is going to|"
    r"['’]s going to|'s gonna|is gonna|gonna|would)\s+(?:\w+\s+){0,2}?(?:work|help|cure|fix|"
    r"heal|do the same|be the same|get rid)"
    r"|\b(?:i|i['’]ll|ill|i will|i['’]m going to|im going to|i['’]m gonna|im gonna)\s+"
    r"(?:\w+\s+){0,2}?(?:be (?:better|fine|cured|okay|ok|healed|in that|one of|the same|set)|"
    r"get (?:better|that|the same|well|cured)|feel (?:better|the same|amazing)|respond|recover|"
    r"improve|heal)"
    r"|\b(?:so|then)\s+(?:i['’]?m|i am|im|it['’]?s|its|i['’]ll|ill|we['’]re)\s+(?:good|set|fine|"
    r"safe|covered|sure|okay|ok|basically|definitely|going to|gonna|in)\b"
    r"|\bso (?:it['’]?ll|it will|it['’]s going to) \w+"
    r"|\b(?:same|like) (?:for|with) me\b|\bfor me too\b|\bme too\b|\bmine too\b|"
    r"\bwork the same\b|\bsame results?\b|\blike last time\b|\bexactly like\b|"
    r"\bmy results will\b|\bno chance\b|\bcan['’]?t fail\b|\bbasically certain\b|"
    r"\bbasically (?:made|guaranteed|proven)\b|\bproven to work for me\b|\bsi o si\b|\bsí o sí\b"
    r"|\bme (?:va|van) a (?:curar|ayudar|funcionar|servir)|\b(?:me voy|voy) a (?:curar|mejorar|"
    r"sanar|responder|sentir)|\ba m[ií] tambi[eé]n\b|\b(?:curar|funcionar|mejorar)\w* seguro\b"
    r"|\bseguro que (?:yo )?(?:tambi[eé]n )?(?:me|funciona|voy|mejor\w*|san\w*|respond\w*)"
    r"|\btampoco (?:voy|vuelvo) a\b|\b(?:yo )?tambi[eé]n (?:voy a|me va a|mejor\w*)"
    r"|\bi\s*(?:won['’]?t|will not|wont)\s+(?:ever\s+)?(?:need|have|feel|get|be)\b[^.?!]{0,40}"
    r"\bagain\b|\bi have the same\b|\bsame (?:kind|type) of\b"
    r"|\bexpect\w* to be (?:fully |totally |completely )?(?:fixed|cured|healed|better|fine|well)\b"
    r"|\bno way (?:it|this|that|they) (?:fails?|won['’]?t work|doesn['’]?t work)"
    r"|\b(?:only|just) need (?:one|1|a single)\b|\b(?:so|then) i['’]?m done\b"
    r"|\bvoy a estar (?:bien|mejor|curad\w*|san\w*)"
    r"|\b(?:it|this|that|ketamine|kap)(?:['’]ll| will) (?:\w+ ){0,2}(?:knock out|wipe out|"
    r"take care of|get rid of)\b|\b(?:i['’]?m|i am) (?:confident|sure|certain|positive) "
    r"(?:it|this|that|ketamine|kap) ?(?:['’]ll|will|is going to|gonna|fixes|works|cures)\b"
    r"|\b(?:made for me|the missing piece|this is the one|in the good group|"
    r"i['’]?m covered|in remission this time)\b|\b(?:can['’]?t|cannot|don['’]?t) see (?:any|a) "
    r"reason (?:it|this|that) (?:wouldn['’]?t|won['’]?t)|\b(?:won['’]?t|wouldn['’]?t) i\b\s*\?"
    r"|\b(?:doesn['’]?t|won['’]?t|never) comes? back\b"
    r"|\btiene que funcionar\b|\bme va a ir (?:igual|bien)\b|\bes porque funciona\b"
    r"|\besta vez s[ií] es\b"
    # "one session and I'm set?", "so I should be good?", "a sure thing?", "tell me this
    # time is different", "will I be in the half that improves?", "will 4 sessions be
    # enough?", "I'll be back to full time", "¿me va a pasar lo mismo?"
    r"|\band (?:i['’]?m|im|i am) (?:set|good|fine|cured|fixed|healed)\b"
    r"|\bi should be (?:good|fine|ok|okay|set|cured|fixed|better|healed)\b"
    r"|\b(?:a )?(?:sure thing|safe bet|sure bet)\b|\b(?:re)?assure me\b"
    r"|\bthis time (?:is|will be|it['’]?s) different\b"
    r"|\bwill i be (?:in|one of|among) the\b"
    r"|\b(?:will|would) (?:\d+|one|two|three|four|five|six|a few|the) (?:sessions?|infusions?|doses?|"
    r"treatments?) be enough\b|\bget my life back\b"
    r"|\bi['’]?ll be back (?:to|at) (?:normal|full|work|myself)\b"
    r"|\bme (?:va|van) a pasar lo mismo\b|\b(?:el )?mismo resultado\b|\blo mismo (?:a|para) m[ií]\b",
    re.IGNORECASE,
)
# Words that ask for a guarantee, misspelt too ("gaurantee"); "shown promise" is not one.
_GUARANTEE = re.compile(
    r"\b(g(?:ua|au|a|u|ue)r(?:a|e)nt(?:e|i)e\w*|garantiz\w*|promis\w*|promet\w*)\b", re.IGNORECASE
)
# The treatment named ("KAP", "the sessions", "terapia") or signing up for it.
_NAMES_TREATMENT = re.compile(
    r"\b(kap|ketamin[ea]|spravato|esketamine|treatment|therapy|sessions?|infusions?|"
    r"tratamiento|terapia|sesi[oó]n|assure|sign up)\b",
    re.IGNORECASE,
)
_NOT_A_PROMISE = re.compile(
    r"\b(?:shown?|shows|showing|holds?|great|some) promise\b|\bpromising\b", re.IGNORECASE
)
_ASKS_MEDICAL = re.compile(
    r"\b(dose|doses|dosage|dosing|mg|milligrams?|how much (ketamine|should i)|how many (lozenges|troches|mg)"
    r"|double|extra|another one|a second one|take (two|2|more|another)|should i take|can i take"
    r"|missed (my|a) (dose|lozenge|troche|pill)|leftover|skip (my|a|the) (dose|meds?|medication|pill)"
    r"|alcohol|drink|drinking|wine|beer|weed|cannabis|marijuana|xanax|benzo\w*|adderall"
    r"|ibuprofen|tylenol|acetaminophen|advil|aspirin|naproxen|painkillers?|sleeping pills?|melatonin"
    r"|klonopin|clonazepam|lorazepam|ativan|valium|gabapentin|lamotrigine|lamictal|lexapro|zoloft"
    r"|prozac|wellbutrin|bupropion|sertraline|fluoxetine|escitalopram|suboxone|buprenorphine|methadone"
    r"|naltrexone|interacts?|interactions?|bp"
    r"|opioids?|mix|combine|combining|together with|stop (taking|my)|quit (my|taking)|come off"
    r"|taper|wean|change my (meds|medication|dose)|ssri|snri|antidepressants?|lithium|maoi"
    r"|disqualif\w*|rule me out|rules me out|eligible|contraindicat\w*"
    r"|pregnan\w*|breastfeed\w*|blood pressure|hypertension|heart (condition|disease|problems?)"
    r"|glaucoma|epilepsy|seizures?|schizophrenia|bipolar|psychosis|liver|kidney|sleep apnea"
    r"|thyroid|medications?|meds|prescri\w+|medicamentos?|pastillas?|dosis)\b",
    re.IGNORECASE,
)
# Not a question for the clinic's materials: a request to write something, to take on
# another role, or to drop kapbot's instructions. (A patient's own "should I write in a
# journal?" or "can I ignore the fasting rule?" is not matched: the request must be put
# to kapbot, and the rules to ignore must be its own.)
_YOU = r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:help\s+me\s+)?|help\s+me\s+|^\W*(?:please\s+|pls\s+|now\s+)?)"
_ASKS_TASK = re.compile(
    _YOU + r"(?:write|compose|draft|make|create|generate|give)\s+(?:me\s+|us\s+|my\s+\w+\s+)?"
    r"(?:an?|one|some|the|my|\w+'s)?\s*(?:\w+\s+){0,2}?"
    r"(?:poem|story|song|rap|haiku|limerick|essay|cover letter|letter|doctor'?s note|note"
    r"|email|e-mail|advert\w*|ad|slogan|code|program|script|tweet|joke|speech)\b"
    r"|\b(?:can|could|would|will)\s+you\s+(?:please\s+)?write\s+(?:one|it|that|this)\b"
    r"|\bignore\s+(?:all\s+|any\s+)?(?:your|previous|prior|above|earlier)\s+(?:\w+\s+)?"
    r"(?:instructions|rules|prompt|documents|guidelines)\b"
    r"|\bignore\s+(?:all\s+)?the\s+(?:previous\s+|above\s+|clinic\s+|clinic's\s+)?"
    r"(?:instructions|prompt|documents|materials)\b"
    r"|\b(?:system|hidden)\s+(?:prompt|instructions|override)\b"
    r"|\byou\s+are\s+now\b|\bpretend\s+(?:you'?re|you\s+are|to\s+be)\b"
    r"|" + _YOU + r"act\s+as\b|\brole-?\s?play\b|\bjailbreak\b|\bdeveloper\s+mode\b"
    r"|\btranslate\b[^.?!]*\b(?:and|then)\s+(?:state|say|write)\b",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*\s+(?=[^\s\[])")


@dataclass(frozen=True)
class Guarded:
    text: str
    cited: tuple[Passage, ...]
    removed: int


def is_promise(sentence: str) -> bool:
    """Promise language not negated just before it ("we do not make guarantees" is fine)."""
    for match in _PROMISE.finditer(sentence):
        # The negation must govern the promise: "no risks and always works" is a promise.
        clause = re.split(r"\b(?:and|but|so|yet)\b|[,;:]", sentence[: match.start()])[-1]
        before = clause.split()[-6:]
        if not _NEGATION.search(" ".join(before)) and not _NEGATION.search(match.group(0)):
            return True
    return False


def states_dose(text: str) -> bool:
    """Whether a text states an amount of a drug (kapbot never does)."""
    return bool(_DOSE.search(text))


def asks_for_promise(question: str) -> bool:
    """A question that asks for a promise, or carries one for kapbot to repeat."""
    question = _NOT_A_PROMISE.sub(" ", question)
    return bool(_ASKS_PROMISE.search(question)) or asks_assurance(question) or is_promise(question)


def asks_assurance(question: str) -> bool:
    """A request for assurance that it will work for the writer, often leaning on a
    statistic, a study or someone's story ("87%. So I'm good?"), or for a guarantee."""
    return bool(_ASKS_ASSURANCE.search(question)) or bool(
        _GUARANTEE.search(_NOT_A_PROMISE.sub(" ", question))
    )


def asks_treatment_assurance(question: str) -> bool:
    """A request for assurance that names the treatment or a guarantee of it ("guarantee me
    this works and I'll sign up today"; not "a spot in the basement that would work")."""
    if not asks_assurance(question):
        return False
    return bool(_NAMES_TREATMENT.search(question) or _GUARANTEE.search(question))


def asks_for_task(question: str) -> bool:
    """A request to write something, play a role or drop kapbot's instructions, rather
    than a question the clinic's materials could answer."""
    return bool(_ASKS_TASK.search(question))


# A dose that names a moment, not an amount or a medicine: "how long does the brain stay
# open after a dose", "will someone be with me the whole time I'm dosing".
_DOSE_MOMENT = re.compile(
    r"\b(?:after|before|during|between|following)\s+(?:(?:a|the|each|every|your|their)\s+)?"
    r"(?:dose|doses|dosing)\b|\bdosing\s+sessions?\b|\b(?:i'?m|i am|while|when)\s+dosing\b",
    re.IGNORECASE,
)


def asks_medical_advice(question: str) -> bool:
    return bool(medical_terms(question))


def medical_terms(question: str) -> list[str]:
    """The words of a question that make it one about medicines, doses or conditions
    ("xanax", "pregnant", "blood pressure")."""
    return [m.group(0).lower() for m in _ASKS_MEDICAL.finditer(_DOSE_MOMENT.sub(" ", question))]


# Asking what to do about one's own doses, medicines or condition, not how things work.
_OWN_CARE = re.compile(
    r"\b(?:dose|doses|dosage|dosing|mg|double|skip|stop|quit|come off|taper|wean|change my|"
    r"switch|mix|combine|combining|together with|interact\w*|pregnan\w*|breastfeed\w*|"
    r"safe for me|okay for me|ok for me|allowed|can i (?:still )?(?:take|do|have|drink|use|keep)|"
    r"should i|do i (?:need|have) to|is it (?:safe|ok|okay) (?:to|if|with)|"
    r"with my (?:\w+ ){0,2}(?:meds|medications?|pills?|condition|heart|blood pressure))\b",
    re.IGNORECASE,
)


def asks_own_care(question: str) -> bool:
    """Whether a question about medicines asks what the writer should do about their own
    doses, medicines or condition ("can I take my Xanax before?") rather than how
    things work ("who prescribes the ketamine?")."""
    return bool(_OWN_CARE.search(question))


def _sentences(paragraph: str) -> list[str]:
    # Split after sentence ends, keeping any [n] markers with the sentence before them.
    parts, start = [], 0
    for m in _SENTENCE.finditer(paragraph):
        parts.append(paragraph[start : m.end()].strip())
        start = m.end()
    parts.append(paragraph[start:].strip())
    return [p for p in parts if p]


def guard(text: str, cited: Sequence[Passage]) -> Guarded:
    """Drop promise and dose sentences; renumber the citations that are left. A quote's
    introduction ("Journey Clinical writes:") goes with its quote when nothing of the
    quote is left."""
    kept_paragraphs: list[str | None] = []
    removed = 0
    for paragraph in text.split("\n\n"):
        lines = []
        for line in paragraph.split("\n"):
            sentences = _sentences(line)
            good = [s for s in sentences if not (is_promise(s) or states_dose(s))]
            removed += len(sentences) - len(good)
            # A quote line left with only its ">" loses its sentences; a quote's own
            # empty line (">") keeps its paragraphs apart.
            emptied = good == [">"] and len(sentences) > len(good)
            if good and not (line.startswith(">") and emptied):
                lines.append(" ".join(good))
        if lines:
            body = "\n".join(lines)
            # A paragraph whose trailing marker went with a removed sentence keeps its source.
            trailing = _MARKER.findall(paragraph.rstrip()[-6:])
            if trailing and not _MARKER.search(body):
                body += f" [{trailing[-1]}]"
            kept_paragraphs.append(body)
        else:
            kept_paragraphs.append(None)
    kept = "\n\n".join(
        p
        for i, p in enumerate(kept_paragraphs)
        if p is not None
        and not (
            _introduces(p) and (i + 1 >= len(kept_paragraphs) or kept_paragraphs[i + 1] is None)
        )
    )
    order: list[int] = []
    for n in _MARKER.findall(kept):
        if 1 <= int(n) <= len(cited) and int(n) not in order:
            order.append(int(n))
    renumbered = _MARKER.sub(
        lambda m: f"[{order.index(int(m.group(1))) + 1}]" if int(m.group(1)) in order else "", kept
    )
    return Guarded(renumbered, tuple(cited[n - 1] for n in order), removed)


def _introduces(paragraph: str) -> bool:
    """A paragraph that only introduces the next one ("Journey Clinical writes:")."""
    return paragraph.rstrip().endswith(":") and not _MARKER.search(paragraph)


def promise_sentences(text: str) -> list[str]:
    """Sentences of a document that a patient could read as a promise (content lint)."""
    from kapbot.chunking import split_sentences

    found: list[str] = []
    for line in text.splitlines():
        for sentence in split_sentences(line.lstrip("#-*| ").strip()):
            if is_promise(sentence) and sentence not in found:
                found.append(sentence)
    return found
