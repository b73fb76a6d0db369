"""Unit tests for kapbot.settings: defaults, KAPBOT_* parsing, validation, derived paths."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from kapbot.settings import PROJECT_ROOT, Settings
from tests.conftest import CORPUS, ROOT


def test_project_root_is_this_checkout() -> None:
    assert PROJECT_ROOT == ROOT


def test_defaults() -> None:
    settings = Settings()

    assert settings.home == ROOT / ".kapbot"
    assert settings.corpus_dir == CORPUS
    assert settings.chroma_url is None
    assert settings.collection == "kapbot"
    assert (settings.chunk_max_chars, settings.chunk_min_chars) == (1200, 250)
    assert (settings.embed_batch_size, settings.index_batch_size) == (64, 2048)
    assert settings.lock_timeout == 600.0
    assert settings.max_file_bytes == 20_000_000


def test_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_from_env_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAPBOT_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("KAPBOT_CHUNK_MAX_CHARS", "900")

    settings = Settings.from_env()

    assert settings.home == tmp_path / "state"
    assert settings.chunk_max_chars == 900


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("KAPBOT_HOME", "/srv/kapbot", "home", Path("/srv/kapbot")),
        ("KAPBOT_CORPUS_DIR", "/srv/docs/", "corpus_dir", Path("/srv/docs")),
        ("KAPBOT_CHROMA_URL", "http://localhost:8000", "chroma_url", "http://localhost:8000"),
        ("KAPBOT_COLLECTION", "clinic", "collection", "clinic"),
        ("KAPBOT_CHUNK_MAX_CHARS", "900", "chunk_max_chars", 900),
        ("KAPBOT_CHUNK_MIN_CHARS", "100", "chunk_min_chars", 100),
        ("KAPBOT_EMBED_BATCH_SIZE", "16", "embed_batch_size", 16),
        ("KAPBOT_INDEX_BATCH_SIZE", " 512 ", "index_batch_size", 512),
        ("KAPBOT_LOCK_TIMEOUT", "2.5", "lock_timeout", 2.5),
        ("KAPBOT_LOCK_TIMEOUT", "30", "lock_timeout", 30.0),
        ("KAPBOT_MAX_FILE_BYTES", "1000", "max_file_bytes", 1000),
    ],
)
def test_variable_is_converted_to_the_field_type(
    variable: str, raw: str, field: str, expected: Any
) -> None:
    value = getattr(Settings.from_env({variable: raw}), field)

    assert value == expected
    assert type(value) is type(expected)


def test_relative_path_is_resolved_against_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)

    settings = Settings.from_env({"KAPBOT_CORPUS_DIR": "docs", "KAPBOT_HOME": "./state/../s"})

    assert settings.corpus_dir == tmp_path.resolve() / "docs"
    assert settings.home == tmp_path.resolve() / "s"


def test_home_directory_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    settings = Settings.from_env({"KAPBOT_HOME": "~/kapbot"})

    assert settings.home == tmp_path.resolve() / "kapbot"


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_variable_is_ignored(raw: str) -> None:
    settings = Settings.from_env({"KAPBOT_CHUNK_MAX_CHARS": raw, "KAPBOT_CHROMA_URL": raw})

    assert settings.chunk_max_chars == 1200
    assert settings.chroma_url is None


def test_unknown_variables_are_ignored() -> None:
    assert Settings.from_env({"KAPBOT_NOPE": "1", "HOME": "/x"}) == Settings()


def test_overrides_win_over_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"KAPBOT_HOME": "/from/env", "KAPBOT_COLLECTION": "env"}, home=tmp_path
    )

    assert settings.home == tmp_path
    assert settings.collection == "env"


@pytest.mark.parametrize(
    ("variable", "raw", "kind"),
    [
        ("KAPBOT_CHUNK_MAX_CHARS", "abc", "int"),
        ("KAPBOT_CHUNK_MIN_CHARS", "1.5", "int"),
        ("KAPBOT_EMBED_BATCH_SIZE", "64 texts", "int"),
        ("KAPBOT_INDEX_BATCH_SIZE", "2e3", "int"),
        ("KAPBOT_MAX_FILE_BYTES", "20MB", "int"),
        ("KAPBOT_LOCK_TIMEOUT", "soon", "float"),
    ],
)
def test_bad_number_raises_value_error_naming_the_variable(
    variable: str, raw: str, kind: str
) -> None:
    with pytest.raises(ValueError) as info:
        Settings.from_env({variable: raw})

    assert str(info.value) == f"{variable}={raw!r} is not a valid {kind}"


@pytest.mark.parametrize(("min_chars", "max_chars"), [(700, 700), (800, 700), (160, 100)])
def test_chunk_min_chars_must_be_below_chunk_max_chars(min_chars: int, max_chars: int) -> None:
    expected = (
        rf"chunk_min_chars \({min_chars}\) must be smaller than chunk_max_chars \({max_chars}\)"
    )
    with pytest.raises(ValueError, match=expected):
        Settings(chunk_min_chars=min_chars, chunk_max_chars=max_chars)


def test_chunk_size_check_applies_to_environment_values() -> None:
    with pytest.raises(ValueError, match=r"chunk_min_chars \(250\).*chunk_max_chars \(100\)"):
        Settings.from_env({"KAPBOT_CHUNK_MAX_CHARS": "100"})


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "https://chroma.example.org:443",
        "http://[::1]:8000",
    ],
)
def test_http_chroma_url_is_accepted(url: str) -> None:
    assert Settings.from_env({"KAPBOT_CHROMA_URL": url}).chroma_url == url


@pytest.mark.parametrize(
    "url",
    ["localhost:8000", "localhost", "ftp://chroma:8000", "http://:8000", "//chroma:8000"],
)
def test_malformed_chroma_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="KAPBOT_CHROMA_URL must look like http://host:port"):
        Settings.from_env({"KAPBOT_CHROMA_URL": url})


@pytest.mark.parametrize("url", ["http://localhost:abc", "http://localhost:99999"])
def test_chroma_url_with_invalid_port_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="KAPBOT_CHROMA_URL"):
        Settings.from_env({"KAPBOT_CHROMA_URL": url})


@pytest.mark.parametrize(
    "variable", ["KAPBOT_EMBED_BATCH_SIZE", "KAPBOT_INDEX_BATCH_SIZE", "KAPBOT_MAX_FILE_BYTES"]
)
def test_zero_size_is_refused_naming_the_variable(variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: "0"})


def test_derived_paths_are_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, collection="clinic")

    assert settings.chroma_dir == tmp_path / "chroma"
    assert settings.records_db == tmp_path / "records.sqlite"
    assert settings.keyword_dir == tmp_path / "keyword" / "clinic"
    assert settings.lock_path == tmp_path / "ingest.lock"


def test_derived_paths_follow_kapbot_home(_isolated_home: Path) -> None:
    settings = Settings.from_env()

    assert settings.home == _isolated_home
    for path in [settings.chroma_dir, settings.records_db, settings.keyword_dir]:
        assert path.is_relative_to(_isolated_home)
    assert settings.lock_path.parent == _isolated_home


def test_store_label_names_embedded_folder_or_server(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).store_label == f"embedded:{tmp_path / 'chroma'}"
    assert Settings(chroma_url="http://localhost:8000").store_label == "http://localhost:8000"


def test_with_returns_a_validated_copy(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)

    changed = settings.with_(collection="other")

    assert changed.collection == "other"
    assert settings.collection == "kapbot"
    assert changed.home == tmp_path
    with pytest.raises(ValueError, match="chunk_min_chars"):
        settings.with_(chunk_max_chars=10)


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().collection = "x"  # type: ignore[misc]


def test_fusion_defaults_to_relative_score_and_accepts_rrf() -> None:
    assert Settings().fusion == "relative_score"
    assert Settings.from_env({"KAPBOT_FUSION": "rrf"}).fusion == "rrf"


def test_unknown_fusion_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="KAPBOT_FUSION must be one of relative_score, rrf"):
        Settings.from_env({"KAPBOT_FUSION": "borda"})


def test_refresh_seconds_is_read_and_may_be_zero_but_not_negative() -> None:
    assert Settings.from_env({"KAPBOT_REFRESH_SECONDS": "0"}).refresh_seconds == 0.0
    assert Settings.from_env({"KAPBOT_REFRESH_SECONDS": "0.5"}).refresh_seconds == 0.5
    with pytest.raises(ValueError, match="KAPBOT_REFRESH_SECONDS must be 0 or more"):
        Settings.from_env({"KAPBOT_REFRESH_SECONDS": "-1"})


def test_distinctive_weight_and_common_word_share_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {"KAPBOT_DISTINCTIVE_WEIGHT": "0", "KAPBOT_COMMON_WORD_SHARE": "0.5"}
    )
    assert (settings.distinctive_weight, settings.common_word_share) == (0.0, 0.5)
    with pytest.raises(ValueError, match="KAPBOT_DISTINCTIVE_WEIGHT must be 0 or more"):
        Settings.from_env({"KAPBOT_DISTINCTIVE_WEIGHT": "-1"})
    for share in ("0", "1.5"):
        with pytest.raises(ValueError, match="KAPBOT_COMMON_WORD_SHARE must be above 0"):
            Settings.from_env({"KAPBOT_COMMON_WORD_SHARE": share})


def test_the_settings_page_lists_every_setting_as_settings_defines_it() -> None:
    """docs/settings.md holds the table `kapbot settings` prints (regenerate it with that)."""
    from kapbot.settings import settings_markdown

    page = (PROJECT_ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = page.split("<!-- generated: kapbot settings -->\n", 1)[1].split("\n<!-- end", 1)[0]
    assert table == settings_markdown(), "docs/settings.md is stale: paste `kapbot settings` in"
    for f in dataclasses.fields(Settings):
        row = next(r for r in table.splitlines() if r.startswith(f"| `KAPBOT_{f.name.upper()}` |"))
        assert row.rstrip(" |").split("|")[-1].strip(), f"{f.name} has no documented meaning"
