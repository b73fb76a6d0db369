"""How replies look in the web chat: escaping, sources per answer, the crisis reply."""

from __future__ import annotations

import pytest

from kapbot.records import Citation, Reply
from kapbot.render import CRISIS_CLASS, plain_title, reply_messages, source_body, user_message


def _citation(n: int = 1, text: str = "## Cost\nKAP costs vary.", **kw: str) -> Citation:
    fields = {
        "title": "Cost of KAP",
        "source": "corpus/cost.md",
        "url": "https://example.org/cost",
        "publisher": "Example Clinic",
        "section": "Cost",
    } | kw
    return Citation(n=n, text=text, **fields)


@pytest.mark.parametrize(
    ("typed", "forbidden"),
    [
        ("<img src=x onerror=alert(1)>", "<img"),
        ("<script>alert(1)</script>", "<script"),
        ("**bold** [link](javascript:alert(1))", "](javascript"),
        ("{{ 7*7 }} ${x}", None),
    ],
)
def test_user_text_is_never_markup(typed: str, forbidden: str | None) -> None:
    shown = user_message(typed)
    assert shown["role"] == "user"
    if forbidden:
        assert forbidden not in shown["content"]
    # Every character the patient typed is still there, escaped.
    assert "&lt;" in shown["content"] or "<" not in typed


def test_answer_then_one_collapsed_source_per_citation() -> None:
    reply = Reply(
        "answer",
        "KAP costs vary. [1] Insurance may help. [2]",
        citations=(_citation(1), _citation(2, title="Insurance")),
    )
    messages = reply_messages(reply)
    assert [m["role"] for m in messages] == ["assistant"] * 3
    assert messages[0]["content"].startswith("KAP costs vary. [1]")
    assert [m["metadata"]["title"] for m in messages[1:]] == ["[1] Cost of KAP", "[2] Insurance"]
    assert all(m["metadata"]["status"] == "done" for m in messages[1:])
    body = messages[1]["content"]
    assert "Example Clinic" in body
    assert "(https://example.org/cost)" in body
    assert "> KAP costs vary." in body  # the quoted passage, without its heading line
    assert "## Cost" not in body


def test_document_markup_is_escaped_in_sources() -> None:
    citation = _citation(text="## Notes\nSee <script>alert('x')</script> and [3] here.")
    body = source_body(citation)
    assert "<script" not in body
    assert "&lt;script&gt;" in body
    # A bracketed reference number in a document is page furniture, never a citation.
    assert "[3]" not in body.replace("\\[", "[").replace("\\]", "]")
    assert "and here." in body


def test_unsafe_urls_are_not_linked() -> None:
    body = source_body(_citation(url="javascript:alert(1)"))
    assert "javascript:" not in body


def test_crisis_reply_is_one_visible_marked_message() -> None:
    reply = Reply("crisis", "**Call or text 988.**")
    messages = reply_messages(reply)
    assert len(messages) == 1
    assert "metadata" not in messages[0]  # never inside a collapsed panel
    assert f'class="{CRISIS_CLASS}"' in messages[0]["content"]
    assert "988" in messages[0]["content"]


def test_abstain_has_no_sources() -> None:
    messages = reply_messages(Reply("abstain", "Our materials don't cover that."))
    assert messages == [{"role": "assistant", "content": "Our materials don't cover that."}]


def test_plain_title() -> None:
    assert plain_title("<b>Cost</b> [1] of *KAP*") == "bCost/b 1 of KAP"


def test_a_source_names_its_title_and_publisher_never_a_file_path() -> None:
    messages = reply_messages(Reply("answer", "KAP costs vary. [1]", citations=(_citation(),)))
    shown = " ".join([messages[1]["metadata"]["title"], messages[1]["content"]])
    assert "Cost of KAP" in shown and "Example Clinic" in shown
    assert "corpus/" not in shown and "cost.md" not in shown


def test_a_document_without_title_or_publisher_is_named_in_words() -> None:
    citation = _citation(title="", publisher="", source="corpus/kap-vs-infusion_only.md")
    (_answer, source) = reply_messages(Reply("answer", "Text. [1]", citations=(citation,)))
    assert source["metadata"]["title"] == "[1] Kap vs infusion only"
    assert source["content"].startswith("Publisher not named")
    assert ".md" not in source["content"] + source["metadata"]["title"]


def test_a_documents_image_is_shown_as_its_description_never_fetched() -> None:
    text = "## Room\nOur room. ![a calm room](https://example.invalid/room.png) ![](http://x.invalid/p.gif)"
    body = source_body(_citation(text=text))
    assert "example.invalid" not in body and "x.invalid" not in body and "![" not in body
    assert "(image: a calm room)" in body
