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

__all__ = ["ADAPTERS", "Adapter", "SourceFile", "ToolRead", "choose"]


def choose(file: SourceFile) -> tuple[Adapter | None, str]:
    """The adapter for ``file`` (None when none reads it) and a note when the choice was a tie."""
    scored = sorted(((adapter.detect(file), index, adapter) for index, adapter in enumerate(ADAPTERS)),
                    key=lambda item: (-item[0], item[1]))
    best_score, _, best = scored[0]
    if best_score <= 0:
        return None, ""
    tied = [adapter.name for score, _, adapter in scored[1:] if score == best_score and adapter is not best]
    if tied and best is not generic.ADAPTER and generic.ADAPTER.detect(file) > 0:
        names = ", ".join([best.name, *tied])
        return generic.ADAPTER, f"looks like the output of several tools ({names}): read as a generic table"
    return best, ""
