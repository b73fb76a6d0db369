"""kapbot: a clinic FAQ assistant that answers only from the clinic's own documents."""

from kapbot.settings import Settings

__all__ = ["Settings"]
__version__ = "0.1.0"
