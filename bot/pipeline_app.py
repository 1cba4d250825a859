"""The analysis pipeline's composition root: the pipeline with its real ports, and nothing else.

`bot.cli analyze` builds the pipeline here, and so does `bot.app` (the Slack bot's composition
root) for its flows. Importing this module loads what an analysis needs (settings, the storage
roots, ingest, analysis, rendering) and none of the Slack app's adapters: no Slack SDK, database,
scheduler or charts, and the Ollama client only when a narrative is asked for
(`bot.adapters.ollama_chat`).
"""

from __future__ import annotations

from bot.adapters.archives import StorageArchives
from bot.adapters.ollama_chat import OllamaChat
from bot.flows.pipeline import Pipeline
from bot.settings import Settings


def build_pipeline(settings: Settings, *, one_shot: bool = False) -> Pipeline:
    """The analysis with its real ports: the storage roots and Ollama. ``one_shot`` (``chimera
    analyze``: one run, then the process exits) removes each archive's scratch in the background."""
    return Pipeline(settings=settings, archives=StorageArchives(settings, remove_later=one_shot),
                    chat=OllamaChat(settings))
