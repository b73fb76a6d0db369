"""Errors kapbot raises; the CLI turns them into one-line messages."""


class KapbotError(Exception):
    """Base class for every error kapbot reports to a person."""


class LoadError(KapbotError):
    """A file could not be turned into a document (the message names file and reason)."""


class IndexBusyError(KapbotError):
    """Another process holds the ingest lock on the embedded store."""


class IndexUnavailableError(KapbotError):
    """The index cannot be opened or reached (missing folder, server down)."""


class IndexEmptyError(KapbotError):
    """The index has no documents, so there is nothing to answer from."""


class ModelFileError(KapbotError):
    """A file of the embedding model is missing or damaged; the message names it and the
    command that writes it again."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(
            f"The embedding model file {path} {problem}. "
            "Run `kapbot export-models` to export the models again."
        )
        self.path = path
