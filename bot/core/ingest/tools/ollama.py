"""Ollama: ``ollama run --verbose`` statistics saved as text or Markdown, and API responses
(``/api/generate``, ``/api/chat``) saved as JSON or JSON Lines.

``--verbose`` lines (Ollama ``api/types.go`` ``Metrics.Summary``): ``total duration``, ``load duration``,
``prompt eval duration``, ``eval duration`` are Go durations (``2m43.5s``, ``16.0598ms``, ``850µs``);
``prompt eval count``/``eval count`` token counts; ``prompt eval rate``/``eval rate`` tokens/s. A line
is printed only when its value is above zero, so a missing ``load duration`` is unrecorded, not 0.
One stats block is one request; a file may hold several. An ``ollama ps`` table pasted in the file
names the model as Ollama wrote it (``NAME``) and where it ran (``PROCESSOR``); without one the model
comes from the file name (``<model> <hardware>``, the last ``_`` read as ``:``, lower case as Ollama
treats names), and the rest of the name is the ``hardware`` dimension. The prompt (a ``## Prompt``
block) is an identifier.

API JSON: ``total_duration``, ``load_duration``, ``prompt_eval_duration``, ``eval_duration`` in
nanoseconds, ``prompt_eval_count``, ``eval_count``; ``done: false`` or an ``error`` is a failure.

Both: throughput = eval count / eval duration ("eval rate"), prompt throughput = prompt eval rate,
latency = total duration, TTFT = load + prompt eval (server-side, labelled so; no network or queueing),
load = load duration (cold starts show here).
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath
from typing import Any

from bot.core.context import split_fields
from bot.core.ingest.tools.base import RowWriter, SourceFile, ToolRead, number

NAME = "ollama"
TTFT_DEF = "load + prompt eval as reported by Ollama (server-side; excludes network and queueing)"
_STAT_LINE = re.compile(r"^\s*(total duration|load duration|prompt eval count|prompt eval duration|prompt eval rate|"
                        r"eval count|eval duration|eval rate):\s+(.+?)\s*$", re.IGNORECASE)
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|µs|μs|us|ns|m|s)")
_GO_UNIT_MS = {"h": 3_600_000.0, "m": 60_000.0, "s": 1000.0, "ms": 1.0, "µs": 1e-3, "μs": 1e-3, "us": 1e-3,
               "ns": 1e-6}
_PS_LINE = re.compile(r"^(?P<name>\S+)\s+(?P<id>[0-9a-f]{12})\s+(?P<size>\d+(?:\.\d+)?\s?[KMGT]?B)\s+"
                      r"(?P<processor>.+?)\s{2,}(?P<until>.+?)\s*$")
_PROMPT = re.compile(r"^#+\s*prompt\s*$\s*```[^\n]*\n(.*?)\n```", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_INTERACTIVE = re.compile(r"^>>>\s+(.+?)\s*$", re.MULTILINE)  # `ollama run` prompt line
_API_KEYS = {"eval_count", "eval_duration"}
# What `detect` needs in a text's folded bytes, "eval rate:" or "eval count:" (with "eval duration:"),
# less its "e", found from its "v" (a rare byte, which the pattern's scan skips to): one pass rules out
# most reports without the passes of ``in`` (61 us for the real archive's 29 reports, where looking
# for the names took 172)
_NAMES = re.compile(rb"val (?:rate|count):")
_NS = 1e-6


def go_duration_ms(text: str) -> float | None:
    """A Go ``time.Duration`` string in ms ('2m43.501061515s' -> 163501.06…); None when it is not one."""
    clean = text.strip()
    parts = _GO_PART.findall(clean)
    if not parts or "".join(v + u for v, u in parts) != clean:
        return None
    return sum(float(v) * _GO_UNIT_MS[u] for v, u in parts)


def _is_api(obj: Any) -> bool:
    return isinstance(obj, dict) and set(obj) >= _API_KEYS and ("model" in obj or "total_duration" in obj)


class Ollama:
    name = NAME

    def detect(self, file: SourceFile) -> float:
        if file.fmt in ("md", "text"):
            folded = file.folded
            if not _NAMES.search(folded) or (b"eval rate:" not in folded
                                                and (b"eval count:" not in folded or b"eval duration:" not in folded)):
                # no line names the stats the test below needs (a name counts lowered, so the lowered
                # text holds it, and so do its folded bytes: `SourceFile.folded`): the lines are not read
                return 0.0
            stats = {m.group(1).lower() for m in map(_STAT_LINE.match, file.text_lines) if m}
            return 0.9 if "eval rate" in stats or {"eval count", "eval duration"} <= stats else 0.0
        if file.fmt in ("json", "jsonl"):
            objs, _ = file.objects()
            return 0.9 if objs and all(_is_api(o) for o in objs[:20]) else 0.0
        return 0.0

    def read(self, file: SourceFile) -> ToolRead:
        if file.fmt in ("md", "text"):
            return _read_verbose(file)
        return _read_api(file)


ADAPTER = Ollama()


# --- --verbose text ---------------------------------------------------------------------------
def _blocks(text: str) -> list[dict[str, str]]:
    """Each stats block: {line name: raw value}; a repeated line starts a new block."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        match = _STAT_LINE.match(line)
        if not match:
            continue
        name = match.group(1).lower()
        if name in current:
            blocks.append(current)
            current = {}
        current[name] = match.group(2)
    if current:
        blocks.append(current)
    return blocks


def name_from_file(rel: str) -> tuple[str, str]:
    """('deepseek-r1:1.5b', 'Raspberry Pi 4') from 'Deepseek-r1_1.5b Raspberry Pi 4.md'."""
    stem = PurePosixPath(rel).stem
    model_part, _, hardware = stem.partition(" ")
    model = model_part.lower()
    if ":" not in model and "_" not in model:
        return "", hardware.strip()  # no name:tag in the file name: not a model name
    if "_" in model:
        head, _, tag = model.rpartition("_")
        model = f"{head}:{tag}"
    return model, hardware.strip()


def _ps(text: str) -> dict[str, str]:
    for line in text.splitlines():
        match = _PS_LINE.match(line.strip())
        if match and match.group("name") != "NAME":
            return {"name": match.group("name"), "size": match.group("size"),
                    "processor": match.group("processor").strip(), "until": match.group("until")}
    return {}


def _verbose_values(block: dict[str, str]) -> tuple[dict[str, float], list[str]]:
    values: dict[str, float] = {}
    problems: list[str] = []
    for name, raw in block.items():
        key = name.replace(" ", "_")
        if name.endswith("duration"):
            ms = go_duration_ms(raw)
            if ms is None:
                problems.append(f"{name} {raw!r} is not a duration")
                continue
            values[key] = ms
        else:
            match = re.match(r"^([\d.]+)", raw)
            value = number(match.group(1)) if match else None
            if value is None:
                problems.append(f"{name} {raw!r} is not a number")
                continue
            values[key] = value
    return values, problems


def _read_verbose(file: SourceFile) -> ToolRead:
    out = ToolRead()
    ps = _ps(file.text)
    file_model, hardware = name_from_file(file.rel)
    model = ps.get("name") or file_model
    out.model_origin = "" if ps.get("name") or not file_model else f"file name: {file_model}"
    dims = {k: v for k, v in (("hardware", hardware), ("processor", ps.get("processor", "")),
                               ("size", ps.get("size", ""))) if v}
    prompt = _PROMPT.search(file.text) or _INTERACTIVE.search(file.text)
    idents = {"prompt": prompt.group(1).strip()[:120]} if prompt else {}
    writer = RowWriter(file.rel, tool=NAME)
    ctx = writer.context(dims, idents)
    for row, block in enumerate(_blocks(file.text)):
        values, problems = _verbose_values(block)
        out.warnings.extend(problems)
        _emit(writer, row, model, ctx, {
            "latency_ms": values.get("total_duration"), "load_ms": values.get("load_duration"),
            "prompt_eval_ms": values.get("prompt_eval_duration"), "eval_ms": values.get("eval_duration"),
            "prompt_tokens": values.get("prompt_eval_count"), "output_tokens": values.get("eval_count"),
            "prompt_throughput_tok_s": values.get("prompt_eval_rate"), "throughput_tok_s": values.get("eval_rate"),
        }, error="")
    out.measurements = writer.rows
    if not writer.rows:
        out.skip = "ollama --verbose output without statistics"
    return out


def _emit(writer: RowWriter, row: int, model: str, ctx: tuple[str, str], values: dict[str, float | None],
          *, error: str) -> None:
    present = {k: v for k, v in values.items() if v is not None and math.isfinite(v)}
    load, prompt = present.get("load_ms"), present.get("prompt_eval_ms")
    if prompt is not None:
        present["ttft_ms"] = (load or 0.0) + prompt
    if "throughput_tok_s" not in present and present.get("eval_ms") and present.get("output_tokens") is not None:
        present["throughput_tok_s"] = present["output_tokens"] / (present["eval_ms"] / 1000.0)
    if not error and present.get("output_tokens") == 0:
        error = "zero output tokens"
    definitions = {"ttft_ms": TTFT_DEF, "latency_ms": "Ollama total duration",
                   "throughput_tok_s": "Ollama eval rate (eval count / eval duration)",
                   "prompt_throughput_tok_s": "Ollama prompt eval rate"}
    for metric, value in (present or {"throughput_tok_s": math.nan}).items():
        writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="request", failed=bool(error),
                   error=error, definition=definitions.get(metric, ""))


# --- API JSON ---------------------------------------------------------------------------------
_API_NS = {"total_duration": "latency_ms", "load_duration": "load_ms", "prompt_eval_duration": "prompt_eval_ms",
           "eval_duration": "eval_ms"}
_API_SKIP = {*_API_NS, "eval_count", "prompt_eval_count", "model", "response", "context", "message", "done",
             "done_reason", "error", "created_at"}


def _read_api(file: SourceFile) -> ToolRead:
    out = ToolRead()
    objs = [o for o in file.objects()[0] if _is_api(o)]
    dims, idents = split_fields(objs, skip=_API_SKIP)
    writer = RowWriter(file.rel, tool=NAME)
    for row, obj in enumerate(objs):
        created = obj.get("created_at")
        ctx = writer.context(dims[row], {**idents[row], **({"created_at": str(created)} if created else {})})
        values: dict[str, float | None] = {}
        for key, metric in _API_NS.items():
            raw = number(obj.get(key))
            values[metric] = raw * _NS if raw is not None and raw > 0 else None  # 0 = not measured
        values["prompt_tokens"] = number(obj.get("prompt_eval_count"))
        values["output_tokens"] = number(obj.get("eval_count"))
        error = str(obj.get("error") or "").strip()
        if not error and obj.get("done") is False:
            error = "done=false (the response did not finish)"
        _emit(writer, row, str(obj.get("model") or ""), ctx, values, error=error[:300])
    out.measurements = writer.rows
    return out
