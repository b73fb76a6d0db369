"""Unit tests for kapbot.keyword: tokenizer, fingerprint, BM25 index and its saved form."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.documents import Document

from kapbot.keyword import KeywordIndex, fingerprint, tokenize

DOCS = [
    Document(
        id="cost",
        page_content="## Cost\n\nKetamine sessions cost between 400 and 800 dollars.",
        metadata={"source": "a.md", "section": "Cost"},
    ),
    Document(
        id="parking",
        page_content="## Parking\n\nPatients park in the blue garage behind the clinic.",
        metadata={"source": "b.md", "section": "Parking"},
    ),
    Document(
        id="insurance",
        page_content="## Insurance\n\nSome insurers cover ketamine sessions for depression.",
        metadata={"source": "a.md", "section": "Insurance", "tags": ["a", "b"]},
    ),
    Document(
        id="safety",
        page_content="## Safety\n\nKetamine is given under medical supervision in the clinic.",
        metadata={"source": "c.md", "section": "Safety"},
    ),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(DOCS)


def _ids(hits: list[tuple[Document, float]]) -> list[str | None]:
    return [doc.id for doc, _ in hits]


# --- tokenize -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Insurance", "insured"),
        ("KETAMINE", "ketamine"),
        ("caf\u00e9 r\u00e9sum\u00e9", "cafe resume"),
        ("sessions", "session"),
        ("patient's", "patient"),
        ("don\u2019t", "don't"),
        ("The cost of ketamine", "cost ketamine"),
    ],
    ids=["stem", "case", "accents", "plural", "possessive", "curly apostrophe", "stop words"],
)
def test_tokenize_folds_variants_to_the_same_tokens(a: str, b: str) -> None:
    assert tokenize(a) == tokenize(b)
    assert tokenize(a)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the cost?", ["cost"]),
        ("Insurance INSURED insurer", ["insur", "insur", "insur"]),
        ("Ketamine-assisted 3-hour", ["ketamin", "assist", "3", "hour"]),
        ("the and of it is", []),
        ("", []),
        ("!!! ... ???", []),
    ],
)
def test_tokenize_examples(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_tokenize_drops_stop_words_but_keeps_content_words() -> None:
    tokens = tokenize("Is ketamine safe for the patients and their families?")

    assert tokens == tokenize("ketamine safe patients families")
    assert not {"is", "for", "the", "and", "their"} & set(tokens)


# --- fingerprint ----------------------------------------------------------------------


def test_fingerprint_is_order_independent() -> None:
    assert fingerprint(["a", "b", "c"]) == fingerprint(["c", "a", "b"])


def test_fingerprint_ignores_duplicates() -> None:
    assert fingerprint(["a", "b", "b"]) == fingerprint(["b", "a"])


@pytest.mark.parametrize(
    "other", [["a", "b", "d"], ["a", "b"], ["a", "b", "c", "d"], ["ab", "c"], []]
)
def test_fingerprint_changes_when_ids_change(other: list[str]) -> None:
    assert fingerprint(["a", "b", "c"]) != fingerprint(other)


def test_fingerprint_is_hex_sha256() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(["x"]))


# --- build and search -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Where do I park?", "parking"),
        ("garage", "parking"),
        ("Does insurance cover it?", "insurance"),
        ("How much does it cost in dollars?", "cost"),
        ("Is it supervised?", "safety"),
        ("DEPRESSION", "insurance"),
    ],
)
def test_chunk_with_the_rare_query_word_ranks_first(
    index: KeywordIndex, query: str, first: str
) -> None:
    assert _ids(index.search(query))[0] == first


def test_common_word_matches_every_chunk_that_has_it(index: KeywordIndex) -> None:
    assert set(_ids(index.search("ketamine", k=10))) == {"cost", "insurance", "safety"}


def test_scores_are_positive_and_descending(index: KeywordIndex) -> None:
    scores = [score for _, score in index.search("ketamine clinic sessions", k=10)]

    assert scores
    assert all(s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("query", ["zebra quantum", "the and of", "", "???"])
def test_query_without_known_words_returns_nothing(index: KeywordIndex, query: str) -> None:
    assert index.search(query) == []


def test_k_larger_than_the_index_is_fine(index: KeywordIndex) -> None:
    hits = index.search("ketamine clinic", k=100)

    assert len(hits) == 4
    assert len(set(_ids(hits))) == 4


@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_k_returns_nothing(index: KeywordIndex, k: int) -> None:
    assert index.search("garage", k=k) == []


def test_k_limits_the_number_of_hits(index: KeywordIndex) -> None:
    assert len(index.search("ketamine", k=2)) == 2


def test_sources_keep_only_those_documents_chunks(index: KeywordIndex) -> None:
    hits = index.search("ketamine clinic", k=10, sources={"a.md"})

    assert set(_ids(hits)) == {"cost", "insurance"}


def test_sources_do_not_change_a_chunks_score(index: KeywordIndex) -> None:
    everywhere = dict((doc.id, score) for doc, score in index.search("ketamine garage", k=10))
    only_c = index.search("ketamine garage", k=10, sources={"c.md", "b.md"})

    assert only_c
    assert all(score == pytest.approx(everywhere[doc.id]) for doc, score in only_c)


def test_sources_change_between_searches(index: KeywordIndex) -> None:
    assert _ids(index.search("ketamine", k=10, sources={"c.md"})) == ["safety"]
    assert set(_ids(index.search("ketamine", k=10, sources={"a.md"}))) == {"cost", "insurance"}
    assert _ids(index.search("ketamine", k=10, sources={"c.md"})) == ["safety"]


@pytest.mark.parametrize("sources", [set(), {"nowhere.md"}])
def test_sources_without_chunks_find_nothing(index: KeywordIndex, sources: set[str]) -> None:
    assert index.search("ketamine garage", k=10, sources=sources) == []


def test_empty_index_returns_nothing() -> None:
    empty = KeywordIndex.build([])

    assert len(empty) == 0
    assert empty.search("ketamine") == []
    assert empty.fingerprint == fingerprint([])


def test_chunks_without_id_are_left_out() -> None:
    index = KeywordIndex.build([Document(page_content="garage"), DOCS[0]])

    assert len(index) == 1
    assert index.search("garage") == []


def test_index_fingerprint_is_the_fingerprint_of_its_ids(index: KeywordIndex) -> None:
    assert index.fingerprint == fingerprint(d.id or "" for d in DOCS)


def test_chunk_with_only_stop_words_does_not_break_the_index() -> None:
    index = KeywordIndex.build([*DOCS, Document(id="empty", page_content="It is what it is.")])

    assert _ids(index.search("garage")) == ["parking"]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(
    "text",
    ["It is what it is.", "\u041a\u0435\u0442\u0430\u043c\u0438\u043d \u0446\u0435\u043d\u0430"],
    ids=["stop words only", "cyrillic"],
)
def test_build_over_chunks_without_tokens_gives_an_index_that_finds_nothing(text: str) -> None:
    index = KeywordIndex.build([Document(id="a", page_content=text)])

    assert len(index) == 1
    assert index.search("ketamine") == []


# --- save and load --------------------------------------------------------------------


def test_save_and_load_round_trip(index: KeywordIndex, tmp_path: Path) -> None:
    folder = tmp_path / "keyword" / "kapbot"
    index.save(folder)

    loaded = KeywordIndex.load(folder)

    assert loaded is not None
    assert [(d.id, d.page_content, d.metadata) for d in loaded.docs] == [
        (d.id, d.page_content, d.metadata) for d in DOCS
    ]
    assert loaded.fingerprint == index.fingerprint
    for query in ["park", "insurance depression", "ketamine clinic"]:
        assert loaded.search(query, k=10) == index.search(query, k=10)


def test_saved_fingerprint_matches_the_index(index: KeywordIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "kw")

    assert KeywordIndex.saved_fingerprint(tmp_path / "kw") == index.fingerprint


def test_save_replaces_the_old_index_and_leaves_no_temporary_folders(
    index: KeywordIndex, tmp_path: Path
) -> None:
    folder = tmp_path / "kw"
    KeywordIndex.build(DOCS[:1]).save(folder)

    index.save(folder)

    loaded = KeywordIndex.load(folder)
    assert loaded is not None and len(loaded) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["kw"]


def test_empty_index_round_trip(tmp_path: Path) -> None:
    KeywordIndex.build([]).save(tmp_path / "kw")

    loaded = KeywordIndex.load(tmp_path / "kw")

    assert loaded is not None
    assert len(loaded) == 0
    assert loaded.search("ketamine") == []
    assert KeywordIndex.saved_fingerprint(tmp_path / "kw") == fingerprint([])


def test_missing_folder_has_no_fingerprint_and_no_index(tmp_path: Path) -> None:
    assert KeywordIndex.saved_fingerprint(tmp_path / "nothing") is None
    assert KeywordIndex.load(tmp_path / "nothing") is None


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text)


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "chunks not json": _write("chunks.jsonl", "{not json\n"),
    "chunks not utf-8": lambda f: (f / "chunks.jsonl").write_bytes(b"\xff\xfe\x00 junk"),
    "chunks row missing a key": _write("chunks.jsonl", json.dumps({"id": "x"}) + "\n"),
    "chunks missing": lambda f: (f / "chunks.jsonl").unlink(),
    "bm25 folder missing": lambda f: shutil.rmtree(f / "bm25"),
    "bm25 vocab garbage": _write("bm25/vocab.index.json", "garbage"),
    "bm25 params garbage": _write("bm25/params.index.json", "garbage"),
    "bm25 array garbage": lambda f: (f / "bm25" / "data.csc.index.npy").write_bytes(b"junk"),
    "meta missing": lambda f: (f / "meta.json").unlink(),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_load_of_a_corrupted_folder_returns_none(
    index: KeywordIndex, tmp_path: Path, corrupt: Callable[[Path], None]
) -> None:
    index.save(tmp_path / "kw")
    corrupt(tmp_path / "kw")

    assert KeywordIndex.load(tmp_path / "kw") is None


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda f: (f / "bm25" / "indptr.csc.index.npy").write_bytes(b""),
        _write("chunks.jsonl", "null\n"),
    ],
    ids=["zero-byte bm25 array", "null row in chunks.jsonl"],
)
def test_load_of_a_badly_corrupted_folder_returns_none(
    index: KeywordIndex, tmp_path: Path, corrupt: Callable[[Path], None]
) -> None:
    index.save(tmp_path / "kw")
    corrupt(tmp_path / "kw")

    assert KeywordIndex.load(tmp_path / "kw") is None


@pytest.mark.parametrize("meta", ["garbage", "", "{}", '{"count": 4}'])
def test_saved_fingerprint_of_unreadable_meta_is_none(
    index: KeywordIndex, tmp_path: Path, meta: str
) -> None:
    index.save(tmp_path / "kw")
    (tmp_path / "kw" / "meta.json").write_text(meta)

    assert KeywordIndex.saved_fingerprint(tmp_path / "kw") is None


@pytest.mark.parametrize("meta", ["[]", "null"])
def test_saved_fingerprint_of_non_object_meta_is_none(
    index: KeywordIndex, tmp_path: Path, meta: str
) -> None:
    index.save(tmp_path / "kw")
    (tmp_path / "kw" / "meta.json").write_text(meta)

    assert KeywordIndex.saved_fingerprint(tmp_path / "kw") is None


PAYMENT = Document(
    id="pay", page_content="Visits are settled at the time of service by card or check."
)
OTHER = Document(id="other", page_content="Sessions last two hours in a quiet room.")


def test_curated_questions_let_a_patients_words_find_the_passage() -> None:
    plain = KeywordIndex.build([PAYMENT, OTHER])
    assert plain.search("can I pay cash?") == []
    expanded = KeywordIndex.build([PAYMENT, OTHER], {"pay": ["How do I pay? Can I pay cash?"]})
    hits = expanded.search("can I pay cash?")
    assert [d.id for d, _ in hits] == ["pay"]
    assert hits[0][0].page_content == PAYMENT.page_content  # the passage as written


def test_load_in_step_rebuilds_when_only_the_questions_changed(tmp_path: Path) -> None:
    from kapbot.keyword import load_in_step

    builds: list[int] = []

    def questions(text: str) -> Callable[[], dict[str, list[str]]]:
        def read() -> dict[str, list[str]]:
            builds.append(1)
            return {"pay": [text]}

        return read

    chunks = lambda: [PAYMENT, OTHER]  # noqa: E731
    first = load_in_step(tmp_path / "kw", ["pay", "other", "q1"], chunks, questions("pay cash"))
    same = load_in_step(tmp_path / "kw", ["pay", "other", "q1"], chunks, questions("pay cash"))
    assert len(builds) == 1 and same.fingerprint == first.fingerprint  # loaded, not rebuilt
    changed = load_in_step(tmp_path / "kw", ["pay", "other", "q2"], chunks, questions("refund"))
    assert len(builds) == 2
    assert [d.id for d, _ in changed.search("refund")] == ["pay"]
    assert changed.search("cash") == []
