"""The optional chat model: the only module that imports LangChain's ``init_chat_model``.

Nothing here runs unless ``KAPBOT_LLM`` names a model (``provider:model``, e.g.
``ollama:llama3.1`` or ``openai:gpt-4o-mini`` with ``KAPBOT_LLM_BASE_URL`` for an
OpenAI-compatible server), so without one kapbot never touches the network.
"""

from __future__ import annotations

from typing import Any

from kapbot.errors import KapbotError
from kapbot.settings import Settings


def load_chat_model(settings: Settings) -> Any | None:
    """The configured chat model, or None when ``settings.llm`` is unset."""
    if not settings.llm:
        return None
    from langchain_classic.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"timeout": settings.llm_timeout, "temperature": 0}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    try:
        return init_chat_model(settings.llm, **kwargs)
    except ImportError as exc:
        raise KapbotError(
            f"KAPBOT_LLM={settings.llm!r} needs its LangChain integration package ({exc})"
        ) from exc
    except ValueError as exc:
        raise KapbotError(f"KAPBOT_LLM={settings.llm!r} is not a usable chat model: {exc}") from exc
