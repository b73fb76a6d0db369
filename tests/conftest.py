"""Shared fixtures: every test gets its own KAPBOT_HOME; unit tests get no network."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported as module ``name`` (benchmarks/ is a folder of
    scripts, not a package; they import their siblings by bare name, so it goes on the path)."""
    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


CORPUS = ROOT / "corpus"
KAPBOT = str(Path(sys.executable).with_name("kapbot"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def packaged_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged model's ONNX export, made once per machine (kept beside the fitted
    models of :func:`fitted_model_cache`) or once per session when that cache is off."""
    from kapbot.embeddings import ensure_exported

    cache = fitted_model_cache()
    return ensure_exported(cache if cache is not None else tmp_path_factory.mktemp("models"))


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, packaged_export: Path
) -> Path:
    """State never leaks into the project's .kapbot/ or between tests.

    Indexes are built with the packaged model alone (``KAPBOT_ADAPT=0``): fitting a
    model takes minutes. The product's default, a fitted passage model, is built once
    per session by ``fitted_home_template`` for the tests of it and the eval gate. The
    packaged model's ONNX export is linked in, not exported for each home.
    """
    home = tmp_path_factory.mktemp("kapbot-home")
    link_packaged(home, packaged_export)
    monkeypatch.setenv("KAPBOT_HOME", str(home))
    monkeypatch.setenv("KAPBOT_ADAPT", "0")
    monkeypatch.delenv("KAPBOT_CHROMA_URL", raising=False)
    return home


@pytest.fixture(autouse=True)
def _no_outbound_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests may not open connections beyond loopback."""
    if request.node.get_closest_marker("integration"):
        return
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and (host.startswith("127.") or host in {"localhost", "::1"}):
            return real_connect(self, address)  # type: ignore[arg-type]
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)  # type: ignore[arg-type]
        raise RuntimeError(f"unit test tried to connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may edit."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def embeddings(packaged_export: Path):  # type: ignore[no-untyped-def]
    """The real embedding model, loaded once per test session."""
    from kapbot.embeddings import load_embeddings

    return load_embeddings(models_dir=packaged_export.parent)


@pytest.fixture
def settings(corpus_copy: Path, _isolated_home: Path):  # type: ignore[no-untyped-def]
    from kapbot.settings import Settings

    return Settings.from_env(corpus_dir=corpus_copy, home=_isolated_home)


@pytest.fixture
def indexer(settings, embeddings) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from kapbot.ingest import Indexer

    yield Indexer.open(settings, embeddings=embeddings)


def link_packaged(home: Path, export: Path) -> None:
    """Give a new home folder the packaged model's export (a link to the session's)."""
    (home / "models").mkdir(parents=True, exist_ok=True)
    (home / "models" / export.name).symlink_to(export, target_is_directory=True)


def copy_home(template: Path, home: Path) -> None:
    """A private copy of a home folder. Model files, which are never changed in place, are
    hard links, and the link to the packaged model's export stays a link: a copy takes
    no time or space for them."""
    shutil.copytree(
        template, home, symlinks=True, ignore=shutil.ignore_patterns("models"), dirs_exist_ok=True
    )
    if (template / "models").is_dir():
        (home / "models").mkdir(parents=True, exist_ok=True)
        for entry in (template / "models").iterdir():
            target = home / "models" / entry.name
            if entry.is_symlink():
                if not target.is_symlink():
                    target.symlink_to(entry.readlink(), target_is_directory=True)
            elif entry.is_dir():
                shutil.copytree(entry, target, copy_function=os.link, dirs_exist_ok=True)


def run_kapbot(*args: str, env: dict[str, str] | None = None, timeout: float = 600, **kw):  # type: ignore[no-untyped-def]
    """Run the installed ``kapbot`` command with the test's environment."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [KAPBOT, *args], env=full_env, capture_output=True, text=True, timeout=timeout, **kw
    )


def wait_for_http(url: str, proc, log: Path, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``url`` answers 200; fail with the server's log if ``proc`` dies or times out."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{url} did not come up:\n{log.read_text()}")
        time.sleep(0.5)


def stop_process(proc) -> None:  # type: ignore[no-untyped-def]
    """Terminate a server the test started; kill it if it does not stop in 20 s."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def built_home_template(
    tmp_path_factory: pytest.TempPathFactory, embeddings, packaged_export: Path
):  # type: ignore[no-untyped-def]
    """A home folder with the bundled corpus already indexed (built once per session)."""
    from kapbot.ingest import Indexer
    from kapbot.settings import Settings

    base = tmp_path_factory.mktemp("template")
    shutil.copytree(CORPUS, base / "corpus")
    home = base / "home"
    link_packaged(home, packaged_export)
    # adapt=False here: a session fixture is set up before the autouse KAPBOT_ADAPT=0.
    settings = Settings.from_env(home=home, corpus_dir=base / "corpus", adapt=False)
    report = Indexer.open(settings, embeddings=embeddings).ingest()
    assert report.ok and len(report.added) == 5
    return home


def fitted_model_cache() -> Path | None:
    """Where fitted models are kept between test sessions on this machine, or None.

    A fitted model's name already hashes its training pairs (the documents); the folder
    above it hashes what else decides the weights: the fitting code and the versions of
    torch, transformers and sentence-transformers (and of the ONNX export beside each
    model: onnx and onnxruntime). So a cached model is used only where
    the same code would fit the same one; any change there fits anew. On a new machine
    the first session fits (about 5 minutes). ``KAPBOT_TEST_MODEL_CACHE=off`` always fits.
    """
    setting = os.environ.get("KAPBOT_TEST_MODEL_CACHE", "")
    if setting.lower() in {"off", "0", "no"}:
        return None
    from importlib.metadata import version

    digest = hashlib.sha256()
    for name in ("adaptation.py", "fitting.py"):
        digest.update((ROOT / "src" / "kapbot" / name).read_bytes())
    for package in ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime"):
        digest.update(f"{package}=={version(package)}".encode())
    root = Path(setting) if setting else Path.home() / ".cache" / "kapbot-tests" / "fitted"
    return root / digest.hexdigest()[:16]


def _keep_fitted_models(models: Path, cache: Path) -> None:
    """Copy each fitted model in ``models`` that ``cache`` lacks (or holds without its ONNX
    export) into it, whole or not at all."""
    from kapbot.embeddings import EXPORT_FILE

    for folder in models.glob("fitted-*"):
        target = cache / folder.name
        if (target / EXPORT_FILE).exists() or not (folder / EXPORT_FILE).exists():
            continue
        shutil.rmtree(target, ignore_errors=True)
        partial = cache / f".{folder.name}.{os.getpid()}"
        try:
            shutil.copytree(folder, partial)
            partial.rename(target)
        except OSError:  # a cache is a convenience: never fail a test on it
            shutil.rmtree(partial, ignore_errors=True)


FITTED = "fitted_home_template"
_fitting: list[tuple[subprocess.Popen[bytes], Path]] = []  # the fitted template's build, home


def _start_fitted_build(base: Path) -> None:
    """Build the fitted template in a `kapbot ingest` of its own, at low priority, so the
    fitting (about 5 minutes of both cores on a new machine) uses the time the other tests
    leave idle: they run first, the tests that need it last."""
    shutil.copytree(CORPUS, base / "corpus")
    home = base / "home"
    cache = fitted_model_cache()
    if cache is not None and cache.is_dir():
        for folder in cache.iterdir():
            if folder.name.startswith("packaged-"):
                link_packaged(home, folder)
            elif folder.is_dir() and not folder.name.startswith("."):
                shutil.copytree(folder, home / "models" / folder.name)
    env = {k: v for k, v in os.environ.items() if k != "KAPBOT_CHROMA_URL"}
    env.update(KAPBOT_HOME=str(home), KAPBOT_CORPUS_DIR=str(base / "corpus"), KAPBOT_ADAPT="1")
    with (base / "build.log").open("w") as log:
        proc = subprocess.Popen(
            ["nice", "-n", "10", KAPBOT, "ingest"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    _fitting.append((proc, home))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the fitted model go last, while its build runs beside the others."""
    needs = [i for i in items if FITTED in getattr(i, "fixturenames", ())]
    if not needs or config.option.collectonly:
        return
    items[:] = [i for i in items if FITTED not in getattr(i, "fixturenames", ())] + needs
    _start_fitted_build(Path(tempfile.mkdtemp(prefix="kapbot-fitted-")))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop a build no test waited for (a run stopped early, or the tests deselected)."""
    for proc, home in _fitting:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(home.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def fitted_home_template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A home folder with the bundled corpus indexed as the product does by default: the
    passages embedded by a model fitted to them (built once per session, beside the other
    tests; the fitting is skipped when :func:`fitted_model_cache` holds that model)."""
    if not _fitting:  # collected without the hook's help (a plugin reordered)
        _start_fitted_build(Path(tempfile.mkdtemp(prefix="kapbot-fitted-")))
    proc, home = _fitting[0]
    log = (home.parent / "build.log").read_text
    assert proc.wait(timeout=1800) == 0, log()[-3000:]
    assert "5 added" in log(), log()[-3000:]
    template = tmp_path_factory.mktemp("fitted") / "home"
    shutil.move(home, template)
    shutil.rmtree(home.parent, ignore_errors=True)
    cache = fitted_model_cache()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        _keep_fitted_models(template / "models", cache)
    return template


@pytest.fixture
def built_indexer(settings, embeddings, built_home_template: Path):  # type: ignore[no-untyped-def]
    """An Indexer over a copy of the indexed corpus (cheaper than ingesting again)."""
    from kapbot.ingest import Indexer

    copy_home(built_home_template, settings.home)
    return Indexer.open(settings, embeddings=embeddings)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright (installed by `make test`, never downloaded)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh page; any JavaScript dialog (alert, confirm) is recorded in ``page.dialogs``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]

    def on_dialog(dialog):  # type: ignore[no-untyped-def]
        pg.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    context.close()
