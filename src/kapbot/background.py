"""Fitting the passage model while the server answers.

A first build with ``kapbot ingest --fit-later`` embeds the passages with the packaged
model, so the chat answers within a minute of the install. ``kapbot serve`` then fits a
model to the documents in a thread (:meth:`kapbot.ingest.Indexer.fit_in_place`: a few
minutes on two cores), embeds the passages again with it and switches to it; the log
and the admin page say where it stands. ``kapbot ingest`` without the flag still fits
in the foreground, for scripts that want the fitted index before anything serves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from langchain_core.embeddings import Embeddings

from kapbot.adaptation import STOCK
from kapbot.settings import Settings

log = logging.getLogger(__name__)

IDLE, FITTING, DONE, FAILED = "idle", "fitting", "done", "failed"


class _Counter:
    """The ingest progress protocol, kept as numbers for :meth:`BackgroundFit.status`."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0

    def start(self, total: int, description: str, unit: str = "chunk") -> None:
        self.done, self.total = 0, total

    def advance(self, n: int) -> None:
        self.done += n

    def close(self) -> None:
        return None

    def message(self, text: str) -> None:
        log.warning("%s", text)


class BackgroundFit:
    """Fits the passage model to an index the packaged model embedded, in a thread.

    Args:
        settings: Configuration; nothing happens unless ``settings.adapt`` is on.
        embeddings: The packaged model, already loaded, to share.
        on_done: Called once the index names the fitted model (the server reloads it).
    """

    def __init__(
        self,
        settings: Settings,
        embeddings: Embeddings,
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.on_done = on_done
        self.state = IDLE
        self.label = ""
        self.progress = _Counter()
        self.thread: threading.Thread | None = None

    def start(self, current_label: str) -> bool:
        """Start fitting if the index's passages (``current_label``) are the packaged
        model's and fitting is on; True when it started."""
        if not self.settings.adapt or current_label != STOCK:
            return False
        self.state = FITTING
        self.thread = threading.Thread(target=self._run, name="kapbot-fit", daemon=True)
        self.thread.start()
        log.warning(
            "answering with the packaged embedding model while a model is fitted to the "
            "documents in the background (a few minutes); the chat switches to it when ready"
        )
        return True

    def _run(self) -> None:
        from kapbot.ingest import Indexer

        try:
            indexer = Indexer.open(self.settings, self.embeddings, self.progress)
            report = indexer.fit_in_place()
            for notice in report.notices:
                log.warning("%s", notice)
            self.label = indexer.store.model_label() or STOCK
            self.state = DONE
            if self.label != STOCK:
                self.on_done()
                log.warning("the chat now searches with the fitted model %s", self.label)
        except Exception:
            self.state = FAILED
            log.exception("fitting the model in the background failed; the packaged one stays")

    def status(self) -> str:
        """One line for the admin page."""
        if self.state == FITTING:
            share = self.progress.done / self.progress.total if self.progress.total else 0.0
            return (
                f"Fitting a model to the documents in the background ({share:.0%}); "
                "answering with the packaged model meanwhile."
            )
        if self.state == DONE and self.label != STOCK:
            return f"{self.label}, fitted to these documents in the background."
        if self.state == FAILED:
            return "Fitting failed (see the server log); answering with the packaged model."
        return ""
