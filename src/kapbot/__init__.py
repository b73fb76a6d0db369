"""kapbot: a clinic FAQ assistant that answers only from the clinic's own documents.

Example:
    >>> from kapbot import Bot  # doctest: +SKIP
    >>> Bot().ask("Is KAP covered by insurance?").text  # doctest: +SKIP
"""

from kapbot.bot import Bot
from kapbot.records import Citation, Passage, Reply
from kapbot.settings import Settings

__all__ = ["Bot", "Citation", "Passage", "Reply", "Settings"]
__version__ = "0.1.0"
