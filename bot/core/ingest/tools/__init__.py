"""One adapter per benchmark tool, and the registry that picks one per file.

Each adapter module says what it reads and what it ignores (its docstring). `choose` asks every
adapter how sure it is that a file is its tool's output (``detect``) and gives the file to the most
sure one; when two tools are equally sure, the generic adapter reads it and the inventory says why.
"""

from __future__ import annotations

from bot.core.ingest.tools import genai_perf, generic, llama_bench, llmperf, ollama, vllm
from bot.core.ingest.tools.base import Adapter, SourceFile, ToolRead

ADAPTERS: tuple[Adapter, ...] = (
    llama_bench.ADAPTER,
    vllm.ADAPTER,
    llmperf.ADAPTER,
    ollama.ADAPTER,
    genai_perf.ADAPTER,
    generic.ADAPTER,
)

_GENERIC = ADAPTERS.index(generic.ADAPTER)

__all__ = ["ADAPTERS", "Adapter", "SourceFile", "ToolRead", "choose"]


def choose(file: SourceFile) -> tuple[Adapter | None, str]:
    """The adapter for ``file`` (None when none reads it) and a note when the choice was a tie."""
    # Every adapter's score, the first of the highest wins (a list and `max`: what sorting the scores
    # by (-score, place) gave, without a key function called per adapter on every file).
    scores = [adapter.detect(file) for adapter in ADAPTERS]
    best_score = max(scores)
    if best_score <= 0:
        return None, ""
    at = scores.index(best_score)
    best = ADAPTERS[at]
    if scores.count(best_score) == 1:  # (most files: no tie to name, counted in C)
        return best, ""
    tied = [ADAPTERS[i].name for i, score in enumerate(scores) if score == best_score and i != at]
    if tied and best is not generic.ADAPTER and scores[_GENERIC] > 0:
        names = ", ".join([best.name, *tied])
        return generic.ADAPTER, f"looks like the output of several tools ({names}): read as a generic table"
    return best, ""
