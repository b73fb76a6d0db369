"""Wrong admin passwords: the lockout rule (pure) and the admin page's login (in process)."""

from __future__ import annotations

import logging

import pytest

from kapbot.login_guard import LoginGuard, same_secret


def test_an_address_is_locked_out_after_the_limit_within_the_window() -> None:
    guard = LoginGuard(limit=3, window=60, lockout=300)
    assert not guard.failed("a", now=0.0) and not guard.failed("a", now=10.0)
    assert not guard.locked("a", now=11.0)
    assert guard.failed("a", now=20.0)  # the third within a minute
    assert guard.locked("a", now=21.0) and guard.locked("a", now=319.0)
    assert not guard.locked("a", now=321.0)
    assert not guard.locked("b", now=21.0)  # per address


def test_failures_outside_the_window_or_before_a_success_do_not_add_up() -> None:
    guard = LoginGuard(limit=2, window=60, lockout=300)
    guard.failed("a", now=0.0)
    assert not guard.failed("a", now=100.0)  # the first is older than the window
    guard.succeeded("a")
    assert not guard.failed("a", now=101.0)


def test_the_password_comparison_is_exact() -> None:
    assert same_secret("pässword", "pässword")
    assert not same_secret("password", "password ") and not same_secret("", "x")


@pytest.mark.usefixtures("built_indexer")
def test_the_admin_login_is_locked_after_five_wrong_passwords(settings, embeddings, caplog) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from kapbot.bot import Bot
    from kapbot.web import create_app

    right = "the-right-password"
    app = create_app(Bot(settings, embeddings=embeddings), settings.with_(admin_password=right))
    caplog.set_level(logging.WARNING, logger="kapbot.web")
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 404
        moved = client.get("/admin", follow_redirects=False)
        assert moved.status_code in {302, 307} and moved.headers["location"] == "/admin/"

        def login(password: str) -> int:
            form = {"username": "admin", "password": password}
            return client.post("/admin/login", data=form).status_code

        assert login(right) == 200
        assert [login("guess") for _ in range(5)] == [400] * 5
        assert login(right) == 429  # locked out, even with the right password
    assert "wrong password" in caplog.text and "locked out" in caplog.text
