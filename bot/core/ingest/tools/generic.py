"""Generic tables: any CSV, JSON, JSON Lines or Markdown no tool adapter claims.

Columns are recognised by name and unit (`bot.core.metrics.classify_column`): ``ttft_s``,
``Tokens per Second``, ``latency_ms``, ``mean_ttft_ms``, ``*_per_s``/``tok/s``/``t/s``/``tokens/sec``
(rates, never seconds). A column that names a timed quantity with a unit we do not know
(``latency_fortnights``) or none at all (``latency``) is not read, and the file's inventory line says
so: never a guess. Tables of per-request results (the Ollama-style ``ttft_s, tokens_s, load_s,
prompt_eval_s, eval_s, eval_count, error, options`` files among them) become requests, summaries and
all Markdown become claims, other timings become generic (non-LLM) measurements
(`bot.core.ingest.tables`). Every non-metric column is context by the general rule
(`bot.core.context`).
"""

from __future__ import annotations

from bot.core.ingest.readers import json_blocks, read_csv, read_json, read_jsonl, read_markdown
from bot.core.ingest.tables import TableBlock, interpret
from bot.core.ingest.tools.base import INVALID, SourceFile, ToolRead
from bot.core.metrics import unknown_unit
from bot.core.values import parse_number

NAME = "generic"
READERS = {"csv": read_csv, "json": read_json, "jsonl": read_jsonl, "md": read_markdown}


class Generic:
    name = NAME

    def detect(self, file: SourceFile) -> float:
        return 0.1 if file.fmt in READERS else 0.0

    def read(self, file: SourceFile) -> ToolRead:
        """Raises `NotATable` when the file holds no table at all."""
        warnings: list[str] = []
        if file.fmt == "json" and file.parsed is not INVALID and _no_escaped_nul(file.text):
            # the document the detectors parsed (`read_json` would parse the same text again)
            blocks = json_blocks(file.parsed, file.rel)
        elif file.fmt == "md":
            blocks, warnings = read_markdown(file.text, file.rel, lines=file.text_lines)
        else:
            blocks, warnings = READERS[file.fmt](file.text, file.rel)
        out = ToolRead(warnings=list(warnings))
        for block in blocks:
            out.claims.extend(interpret(block, out.measurements).claims)
        out.warnings.extend(_unread_columns(blocks))
        return out


ADAPTER = Generic()


def _no_escaped_nul(text: str) -> bool:
    """Whether the JSON text has no ``\\u0000`` escape (which `read_json` reads apart): most have no
    backslash at all, found ~50x faster than the escape (the real archive's 44 JSON files, 36 without
    one: 0.11 ms -> 0.07 ms)."""
    return "\\" not in text or "\\u0000" not in text


def _unread_columns(blocks: list[TableBlock]) -> list[str]:
    """One line per column that names a timed quantity whose unit is unknown (not read)."""
    reasons: dict[str, str] = {}
    for block in blocks:
        for column in block.columns:
            reason = unknown_unit(str(column))
            if reason and str(column) not in reasons and _has_numbers(block, column):
                reasons[str(column)] = reason
    return [f"column {name!r} not read: {reason}" for name, reason in sorted(reasons.items())]


def _has_numbers(block: TableBlock, column: str) -> bool:
    values = [record[column] for record in block.records[:20]]
    return any(parse_number(v) is not None for v in values if not isinstance(v, (list, dict)))
