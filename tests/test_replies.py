"""The reply a patient reads, with the real model and real Chroma: the answer first, in
whole sentences, honestly attributed, never a dead end."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kapbot import Bot, Reply
from kapbot.reply_quality import (
    dangling_openers,
    duplicate_sentences,
    lists_cut,
    plain_text,
    reference_markers,
)
from kapbot.settings import Settings
from tests.conftest import CORPUS, copy_home

pytestmark = pytest.mark.integration

EVERYDAY = [
    "is ketamine addictive?",
    "who shouldn't do this?",
    "how is it different from IV ketamine?",
    "what are the side effects?",
    "what happens in a session?",
    "what is KAP?",
    "will this cure my depression?",
    "how much does it cost?",
    "is it legal?",
    "can I do it from home?",
    "does insurance cover it?",
    "how does ketamine work in the brain?",
    "what conditions can it treat?",
]


@pytest.fixture(scope="module")
def product(fitted_home_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The index as the product builds it (passages embedded by the fitted model)."""
    base = tmp_path_factory.mktemp("replies")
    copy_home(fitted_home_template, base / "home")
    shutil.copytree(CORPUS, base / "corpus")
    return Settings.from_env(home=base / "home", corpus_dir=base / "corpus", adapt=True)


@pytest.fixture(scope="module")
def bot(product: Settings, embeddings) -> Bot:  # type: ignore[no-untyped-def]
    return Bot(product, embeddings=embeddings)


def quotes(reply: Reply) -> list[tuple[str, str]]:
    """(introduction, quote) for each quote of an answer; "" when there is none."""
    paragraphs = reply.text.split("\n\n")
    out = []
    for i, paragraph in enumerate(paragraphs):
        if re.search(r"\[\d+\]$", paragraph):
            intro = paragraphs[i - 1] if i and paragraphs[i - 1].endswith(":") else ""
            out.append((intro, paragraph))
    return out


@pytest.mark.parametrize("question", EVERYDAY)
def test_everyday_questions_get_whole_readable_attributed_quotes(bot: Bot, question: str) -> None:
    reply = bot.ask(question)
    assert reply.kind == "answer", reply.text
    cited = [c.text for c in reply.citations]
    assert reference_markers(reply.text) == 0, reply.text
    assert duplicate_sentences(reply.text) == 0, reply.text
    assert dangling_openers(reply.text) == 0, reply.text
    assert lists_cut(reply.text, cited) == 0, reply.text
    for intro, quote in quotes(reply):
        n = int(re.findall(r"\[(\d+)\]$", quote)[0])
        citation = reply.citations[n - 1]
        # The bundled documents are other providers' articles: each quote names its
        # publisher (or says it is not named) and is set apart as a quote.
        assert citation.owner == "third_party"
        assert intro.startswith((citation.publisher or "An article in our materials",)), intro
        assert quote.startswith("> ")
        # Quoted, not reworded: every line is the document's text.
        source = " ".join(plain_text(citation.text).split())
        for line in plain_text(quote).split("\n"):
            line = re.sub(r"^\*\*[^*]+\*\* ", "", line.strip())  # an FAQ's question, shown
            assert " ".join(line.split()).removeprefix("- ") in source, line


def test_a_question_without_its_subject_is_answered_from_the_clinics(bot: Bot) -> None:
    reply = bot.ask("who shouldn't do this?")
    assert reply.kind == "answer"
    # Alone it is near nothing; as a question about the clinic's subject it is answered.
    assert max(p.similarity for p in reply.passages) < bot.settings.abstain_below
    assert "should not do ketamine-assisted psychotherapy include:" in reply.text
    assert "- A person with limited to no support system" in reply.text


def test_a_list_question_gets_the_whole_lists(bot: Bot) -> None:
    text = bot.ask("what are the side effects of ketamine treatment?").text
    for item in ("Nausea or vomiting", "Short-term memory loss", "Liver damage"):
        assert item in text


def test_another_providers_practice_is_never_the_clinics(bot: Bot) -> None:
    reply = bot.ask("do you bill insurance directly?")
    assert reply.kind == "answer"
    for intro, quote in quotes(reply):
        if re.search(r"\b(we|our|us)\b", plain_text(quote), re.IGNORECASE):
            assert intro.endswith("writes about its own practice:"), reply.text
    if "its own practice" in reply.text:
        assert re.search(r"not necessarily our clinic's|our clinic's own may differ", reply.text)


def test_a_typo_is_read_as_the_documents_word(bot: Bot) -> None:
    reply = bot.ask("how many sessons will i need?")
    assert reply.kind == "answer"
    assert "sessions" in reply.query
    assert "number of sessions varies" in reply.text


def test_a_patients_word_is_searched_with_the_documents_words_for_it(bot: Bot) -> None:
    # "addictive" shares a stem with "the treatment of addictions", which answers the
    # opposite question; the glossary searches it as "abuse dependence".
    reply = bot.ask("is ketamine addictive?")
    assert reply.kind == "answer"
    assert "abuse" in reply.query and "dependence" in reply.query
    assert "treatment of addictions" not in reply.text, reply.text
    # Added words: "how fast" is searched with "rapid" too.
    listed = bot.ask("how fast does it kick in?")
    assert "rapid" in listed.query and listed.kind == "answer", listed.text


def test_the_second_one_is_the_second_item_of_the_last_answers_list(bot: Bot) -> None:
    history = [
        {"role": "user", "content": "what kinds of ketamine treatment are out there"},
        {
            "role": "assistant",
            "content": "There are four main options: ketamine-assisted psychotherapy (KAP), "
            "at-home ketamine programs, IV ketamine infusions, and Spravato.",
        },
    ]
    reply = bot.ask("is the second one covered by insurance?", history)
    assert reply.kind == "answer"
    assert reply.query.endswith("(at-home ketamine programs)")
    assert "Not covered by insurance" in reply.text, reply.text


DECLINED = "what's the weather supposed to be like tomorrow?"


def test_a_decline_gives_the_clinics_contact_and_questions_it_can_answer(
    product: Settings,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    clinic = product.with_(clinic_name="Calm Clinic", clinic_phone="(555) 010-0100")
    bot = Bot(clinic, embeddings=embeddings)
    reply = bot.ask(DECLINED)
    assert reply.kind == "abstain" and reply.decline == "not_covered"
    assert "Calm Clinic's materials don't cover that" in reply.text
    assert "You can reach Calm Clinic by phone at (555) 010-0100." in reply.text
    assert 1 <= len(reply.suggestions) <= 3
    assert reply.text.endswith("\n".join(f"- {q}" for q in reply.suggestions))
    for suggestion in reply.suggestions:
        assert bot.ask(suggestion).kind == "answer", suggestion
    assert reply.to_dict()["suggestions"] == list(reply.suggestions)


def test_no_contact_setting_no_number(bot: Bot) -> None:
    reply = bot.ask(DECLINED)
    assert reply.kind == "abstain"
    assert "Please contact our clinic directly" in reply.text
    assert not re.search(r"\d{3}", reply.text)


def test_how_to_reach_the_clinic_comes_from_settings_not_another_provider(
    product: Settings,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    clinic = product.with_(clinic_name="Calm Clinic", clinic_phone="(555) 010-0100")
    reply = Bot(clinic, embeddings=embeddings).ask(
        "what's your phone number to book an evaluation?"
    )
    assert reply.kind == "abstain" and reply.decline == "contact"
    assert "(555) 010-0100" in reply.text
    assert "941" not in reply.text  # another provider's number, in its article
    # Asked about that provider by name, its article answers (attributed).
    theirs = Bot(clinic, embeddings=embeddings).ask(
        "what's the phone number for Cohen & Associates?"
    )
    assert theirs.kind == "answer"
    assert "Cohen & Associates writes about its own practice:" in theirs.text


def test_a_loose_match_says_so_and_gives_the_way_to_reach_the_clinic(
    product: Settings,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    clinic = product.with_(clinic_name="Calm Clinic", clinic_phone="(555) 010-0100")
    bot = Bot(clinic, embeddings=embeddings)
    reply = bot.ask("can I bring my dog to the session?")
    best = max(p.similarity for p in reply.passages)
    assert clinic.abstain_below <= best < clinic.confident_above  # only loosely near
    assert reply.kind == "answer"
    assert reply.text.startswith("This may not be exactly what you asked")
    assert reply.text.endswith("You can reach Calm Clinic by phone at (555) 010-0100.")
    # A close match is answered without the hedge.
    assert not bot.ask("what are the side effects?").text.startswith("This may not be")


def test_a_request_for_assurance_gets_what_the_documents_say_about_results_varying(
    bot: Bot,
) -> None:
    reply = bot.ask("I read 87% of patients improve. So I'll definitely be one of them, right?")
    assert reply.kind == "answer"
    assert reply.text.startswith("Results vary from person to person")
    assert "87%" not in reply.text.split("\n\n", 1)[1]  # the figure leaned on is not repeated
    assert re.search(r"[Rr]esults vary by individual|[Ee]ffectiveness varies", reply.text)


def test_an_own_medicine_question_the_documents_do_not_answer_points_to_the_prescriber(
    bot: Bot,
) -> None:
    reply = bot.ask("can i take my xanax before a session?")
    assert reply.text.startswith("For questions about your own doses, medicines")
    assert reply.kind == "abstain" and reply.citations == ()
    general = bot.ask("who prescribes the ketamine if I see a KAP therapist?")
    assert general.kind == "answer"
    assert not general.text.startswith("For questions about your own")  # the answer first


def test_a_request_for_assurance_in_words_no_pattern_knows_reads_that_results_vary(
    bot: Bot,
) -> None:
    reply = bot.ask("Since the research shows it works fast, I should feel fine by next week.")
    assert reply.kind == "answer"
    assert reply.text.startswith("Results vary from person to person")
    # An ordinary question does not.
    assert "Results vary from person" not in bot.ask("how long does an infusion take?").text


def test_an_own_condition_the_documents_never_name_gets_the_prescriber_first(
    bot: Bot,
) -> None:
    reply = bot.ask("is it safe for me to do KAP while pregnant?")
    assert reply.kind == "abstain" and reply.citations == ()
    assert reply.text.startswith("For questions about your own doses, medicines")
    # A condition the documents do discuss is answered from them.
    assert bot.ask("is ketamine safe for someone with high blood pressure?").kind == "answer"


def test_a_question_in_spanish_the_materials_do_not_answer_is_declined_in_spanish(
    bot: Bot,
) -> None:
    reply = bot.ask("¿Tienen estacionamiento para los pacientes cerca de la clínica?")
    assert reply.kind == "abstain" and reply.decline == "spanish"
    assert reply.text.startswith("Lo siento") and "inglés" in reply.text
    # In English the same question is read as usual, in English.
    english = bot.ask("Do you have parking for patients near the clinic?")
    assert english.decline != "spanish" and "Lo siento" not in english.text
