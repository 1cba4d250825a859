"""The `bot.flows.ports.ChatModel` port on Ollama, without loading the Ollama client until a call.

Building the pipeline builds this port; a run without the narrative (``--no-llm``) never calls it,
so the client (`ollama`, `httpx`: ~60 ms to import) is loaded by the first `OllamaChat.chat`,
from `bot.adapters.ollama`, which holds every detail of talking to Ollama.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.core.types import ChatResult
from bot.settings import Settings


class OllamaChat:
    """`bot.adapters.ollama.stream_chat` with the configured model."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def model(self) -> str:
        return self._settings.ollama_model

    @property
    def num_ctx(self) -> int:
        return self._settings.ollama_num_ctx

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        format: Mapping[str, Any] | str | None = None,
        num_predict: int | None = None,
        purpose: str = "narrative",
        on_token: Callable[[int], None] | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> ChatResult:
        from bot.adapters.ollama import stream_chat  # the client, on the first call only

        return stream_chat(messages, settings=self._settings, format=format, num_predict=num_predict,
                           purpose=purpose, on_token=on_token, on_text=on_text)
