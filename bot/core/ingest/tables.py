"""Interpretation of one table (from CSV, JSON records or Markdown) into measurements or claims.

This is the generic adapter's reading (benchmark tools with their own semantics have their own
adapters in `bot.core.ingest.tools`). A table is read in one of three ways, decided from its columns:
- per-request LLM results (a raw throughput or TTFT column, or latency with token counts)
  -> measurement rows of kind 'request', with failures marked;
- summaries (LLM metrics that carry a statistic: mean_tokens_s, median_ttft_ms, …) and anything
  from Markdown -> *claims*, never mixed into the raw rows;
- anything else with recognised time columns -> 'generic' measurements (non-LLM benchmarks).

Every row keeps its context (`bot.core.context`): the non-metric columns of its record judged by the
general rule, an ``options`` JSON column read as its settings, what the file says around the table
(``TableBlock.config``: the scalars of enclosing JSON objects), the table's place in the file
(``section``: a JSON path or Markdown heading) and the path parts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from bot.core.config import Config
from bot.core.context import canonical_value, classify_field, encode, split_fields, with_path
from bot.core.ingest.rows import Rows
from bot.core.metrics import METRICS, ColumnMeaning, classify_column, normalize_name
from bot.core.values import is_missing, parse_bool, parse_number, shown_precision

LLM_METRICS = {"throughput_tok_s", "prompt_throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "prompt_eval_ms",
               "eval_ms", "prompt_tokens", "output_tokens", "tpot_ms", "itl_ms"}
TIME_METRICS = {name for name, m in METRICS.items() if m.unit == "ms"}

CONFIG_COLUMNS = {
    "num_gpu", "num_ctx", "temperature", "top_p", "top_k", "repeat_penalty", "num_thread",
    "num_batch", "num_predict", "seed", "mirostat", "n_gpu_layers", "n_batch", "n_ubatch",
    "n_threads", "type_k", "type_v", "flash_attn", "batch_size", "concurrency", "max_concurrency",
    "request_rate", "quant", "quantization", "backend", "n_prompt", "n_gen", "min_p", "num_keep",
}
CONFIG_ALIASES = {"temp": "temperature", "ctx": "num_ctx", "gpu_layers": "num_gpu"}
MODEL_COLUMNS = ("model", "model_name", "model_id", "model_filename", "llm", "model_tag")
ERROR_COLUMNS = ("error", "errors", "error_message", "err", "failure_reason", "exception")
SUCCESS_COLUMNS = ("success", "succeeded", "ok", "passed")


@dataclass
class TableBlock:
    """A table found in a file (its columns and one dict per row, `bot.core.ingest.records`), with what
    the file says around it. Callers must not mutate the records: the readings of a block share them."""

    columns: list[str]
    records: list[dict[str, Any]]
    source: str
    label: str = ""  # where in the file: JSON path or Markdown heading
    model: str = ""  # model named around the table (parent JSON key, sibling file, file name)
    # what the file says around the table: scalars of the enclosing JSON objects (file-level metadata)
    config: dict[str, Any] = field(default_factory=dict)
    markdown: bool = False
    ttft_definition: str = ""  # what TTFT means in this table, when the tool is known
    row_offset: int = 0  # first record's index inside the file


@dataclass
class TableRows:
    measurements: Rows = field(default_factory=Rows)
    claims: list[dict[str, Any]] = field(default_factory=list)
    kind: str = ""  # 'request' | 'aggregate' | 'generic' | 'claims' | ''


def model_from_filename(value: str) -> str:
    """'model_filename' of llama-bench is a path: keep the file's stem."""
    name = PurePosixPath(str(value).replace("\\", "/")).name
    for suffix in (".gguf", ".bin", ".safetensors"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


Record = dict[str, Any]


def _records(block: TableBlock) -> list[Record]:
    return block.records


def _columns(columns: list[str]) -> dict[str, str]:
    """normalized name -> original name (first one wins)."""
    out: dict[str, str] = {}
    for col in columns:
        out.setdefault(normalize_name(col), col)
    return out


def interpret(block: TableBlock) -> TableRows:
    if not block.records or not block.columns:
        return TableRows()
    cols = _columns(block.columns)
    meanings: dict[str, ColumnMeaning] = {}
    for norm, original in cols.items():
        if norm in CONFIG_COLUMNS or norm in CONFIG_ALIASES or norm in MODEL_COLUMNS:
            continue
        meaning = classify_column(original)
        if meaning is not None:
            meanings[original] = meaning
    if not meanings:
        return TableRows()

    raw_llm = {m.metric for m in meanings.values() if m.statistic == "" and m.metric in LLM_METRICS}
    stat_llm = {m.metric for m in meanings.values() if m.statistic and m.metric in LLM_METRICS}
    is_request = bool({"throughput_tok_s", "ttft_ms"} & raw_llm) or (
        "latency_ms" in raw_llm and "output_tokens" in raw_llm
    )

    if block.markdown:
        return TableRows(claims=_claims(block, cols, meanings, default_stat="value"), kind="claims")
    if is_request:
        return _requests(block, cols, meanings, _contexts(block, cols, meanings))
    if stat_llm:
        return TableRows(claims=_claims(block, cols, meanings, default_stat="value"), kind="claims")
    return _generic(block, cols, meanings, _contexts(block, cols, meanings))


Context = tuple[str, str]  # (context JSON, identifiers JSON) of one record
_NOT_CONTEXT = {*MODEL_COLUMNS, *ERROR_COLUMNS, *SUCCESS_COLUMNS, "status", "options", "samples_ts", "samples_ns"}


def _contexts(block: TableBlock, cols: dict[str, str], meanings: dict[str, ColumnMeaning]) -> list[Context]:
    """Each record's context: its own non-metric columns, its options, the block's surroundings, the path."""
    records = _records(block)
    skip = set(meanings) | {original for norm, original in cols.items() if norm in _NOT_CONTEXT}
    dims, idents = split_fields(records, skip=skip)
    around_dims, around_ids = _surroundings(block)
    options_col = cols.get("options")
    out: list[Context] = []
    cache: dict[tuple[tuple[tuple[str, str], ...], ...], Context] = {}
    for index, record in enumerate(records):
        d = {**around_dims, **dims[index]}
        if options_col is not None:
            d.update({k: v for k, v in ((k, canonical_value(v)) for k, v in _options(record[options_col]).items())
                      if v is not None})
        d, i = with_path(block.source, d, {**around_ids, **idents[index]})
        items = (tuple(sorted(d.items())), tuple(sorted(i.items())))  # records of a table repeat contexts
        if items not in cache:
            cache[items] = (encode(d), encode(i))
        out.append(cache[items])
    return out


def _surroundings(block: TableBlock) -> tuple[dict[str, str], dict[str, str]]:
    """The block's file-level context: enclosing JSON scalars (judged one by one) and its section."""
    dims: dict[str, str] = {}
    idents: dict[str, str] = {}
    for name, raw in block.config.items():
        if normalize_name(name) in _NOT_CONTEXT or classify_column(name) is not None:
            continue
        kind = classify_field(name, [raw])
        value = canonical_value(raw)
        if value is None or kind not in ("dimension", "identifier"):
            continue
        (dims if kind == "dimension" else idents)[name] = value
    if block.label:
        dims["section"] = block.label
    return dims, idents


def _row_model(block: TableBlock, cols: dict[str, str], record: Record) -> str:
    for name in MODEL_COLUMNS:
        if name in cols and not is_missing(record[cols[name]]):
            value = str(record[cols[name]]).strip()
            return model_from_filename(value) if name == "model_filename" else value
    return block.model


_SETTING_NAMES = {"tag", "options", "config_name", "config"}  # the columns `_row_config` reads besides CONFIG_COLUMNS


def _row_config(block: TableBlock, cols: dict[str, str], record: Record, has_model_col: bool) -> Config:
    """The configuration a *claim* names (summary tables and Markdown): the settings columns it has.

    Measurements carry their whole context instead; a claim's configuration is matched against it."""
    items: dict[str, Any] = {}
    for norm, original in cols.items():
        name = CONFIG_ALIASES.get(norm, norm)
        if name in CONFIG_COLUMNS and not is_missing(record[original]):
            items[name] = record[original]
    if "tag" in cols and not has_model_col and not is_missing(record[cols["tag"]]):
        items["tag"] = record[cols["tag"]]
    if "options" in cols:
        items.update(_options(record[cols["options"]]))
    if not items and "config_name" in cols and not is_missing(record[cols["config_name"]]):
        items["config"] = record[cols["config_name"]]
    if not items and "config" in cols and not is_missing(record[cols["config"]]):
        items["config"] = record[cols["config"]]
    return Config.from_items(items)


def _options(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        data = raw
    elif isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
    else:
        return {}
    if not isinstance(data, dict):
        return {}
    return {CONFIG_ALIASES.get(str(k), str(k)): v for k, v in data.items()
            if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def _row_failure(cols: dict[str, str], record: Record, values: dict[str, float]) -> str:
    for name in ERROR_COLUMNS:
        if name in cols:
            raw = record[cols[name]]
            if isinstance(raw, (list, tuple)):
                raw = "; ".join(str(x) for x in raw if not is_missing(x))
            if not is_missing(raw) and str(raw).strip().lower() not in {"false", "0", "[]"}:
                return str(raw).strip()[:300]
    for name in SUCCESS_COLUMNS:
        if name in cols:
            ok = parse_bool(record[cols[name]])
            if ok is False:
                return "success=false"
    if "status" in cols:
        status = str(record[cols["status"]]).strip().lower()
        if status in {"error", "failed", "failure", "timeout"}:
            return f"status={status}"
    if values.get("output_tokens") == 0:
        return "zero output tokens"
    if values.get("throughput_tok_s") == 0:
        return "zero throughput"
    if values and all(v == 0 for v in values.values()):
        return "all values zero"
    return ""


def _measurement(out: Rows, block: TableBlock, row: int, model: str, ctx: Context, metric: str, value: float,
                 *, failed: bool, error: str, kind: str, definition: str, request_id: str,
                 statistic: str = "") -> None:
    if metric not in METRICS:  # a bug: the file is skipped, and the inventory says so
        raise KeyError(f"unknown metric {metric!r}")
    out.append(request_id=request_id, source=block.source, row=row, model=model, metric=metric, value=value,
               failed=failed, error=error, kind=kind, definition=definition, context=ctx[0], identifiers=ctx[1],
               statistic=statistic, n=math.nan, fingerprint="")


def _requests(block: TableBlock, cols: dict[str, str], meanings: dict[str, ColumnMeaning],
              contexts: list[Context]) -> TableRows:
    out = TableRows(kind="request")
    # Per-request statistics (e.g. a 'mean_' column in a raw table) are ignored: only raw values.
    raw = {col: m for col, m in meanings.items() if m.statistic == ""}
    for position, record in enumerate(_records(block)):
        row = block.row_offset + position
        values: dict[str, float] = {}
        definitions: dict[str, str] = {}
        for col, meaning in raw.items():
            if meaning.metric in values:
                continue  # first column of a metric wins (e.g. two latency spellings)
            value = parse_number(record[col], factor=meaning.factor,
                                 is_time=meaning.metric in TIME_METRICS)
            if value is None:
                continue
            values[meaning.metric] = value
            definitions[meaning.metric] = meaning.definition
        if not values:
            error = _row_failure(cols, record, values)
            if not error:
                continue
        error = _row_failure(cols, record, values)
        model = _row_model(block, cols, record)
        if "ttft_ms" in values:
            definitions["ttft_ms"] = block.ttft_definition or _ttft_definition(values)
        if not values:
            values = {"throughput_tok_s": math.nan}
        request_id = f"{block.source}#{row}"
        for metric, value in values.items():
            _measurement(out.measurements, block, row, model, contexts[position], metric, value, failed=bool(error),
                         error=error, kind="request", definition=definitions.get(metric, ""), request_id=request_id)
    return out


TTFT_OLLAMA = "load + prompt eval as reported by Ollama (server-side; excludes network and queueing)"
TTFT_FILE = "as recorded by the benchmark file (definition not stated)"


def _ttft_definition(values: dict[str, float]) -> str:
    """Ollama-style files write ttft_s = load_s + prompt_eval_s: server durations, not the wall
    clock a user sees. Say so when the numbers show it; otherwise the file's TTFT is unexplained."""
    ttft, load, prompt = values.get("ttft_ms"), values.get("load_ms"), values.get("prompt_eval_ms")
    if (ttft is not None and load is not None and prompt is not None and ttft > 0
            and abs(ttft - (load + prompt)) <= max(0.01 * ttft, 0.01)):
        return TTFT_OLLAMA
    return TTFT_FILE


def _claims(block: TableBlock, cols: dict[str, str], meanings: dict[str, ColumnMeaning],
            *, default_stat: str) -> list[dict[str, Any]]:
    claims: list[dict[str, Any]] = []
    has_model_col = any(name in cols for name in MODEL_COLUMNS)
    settings = [original for norm, original in cols.items()
                if CONFIG_ALIASES.get(norm, norm) in CONFIG_COLUMNS or norm in _SETTING_NAMES]
    configs: dict[tuple[Any, ...], Config] = {}  # a table repeats its settings row after row
    for record in _records(block):
        model = _row_model(block, cols, record)
        key = tuple(record[column] for column in settings)
        try:
            config = configs[key]
        except KeyError:
            config = configs[key] = _row_config(block, cols, record, has_model_col)
        except TypeError:  # an unhashable setting (an options object)
            config = _row_config(block, cols, record, has_model_col)
        for col, meaning in meanings.items():
            value = parse_number(record[col], factor=meaning.factor, is_time=meaning.metric in TIME_METRICS)
            if value is None:
                continue
            claims.append({
                "source": block.source,
                "model": model,
                "config": config.key,
                "metric": meaning.metric,
                "statistic": meaning.statistic or default_stat,
                "value": value,
                "unit": METRICS[meaning.metric].unit,
                "context": (block.label + " | " + meaning.definition).strip(" |")
                if meaning.metric == "time_ms" else block.label,
                "precision": shown_precision(record[col], factor=meaning.factor)
                if isinstance(record[col], str) else 0.0,
            })
    return claims


def _generic(block: TableBlock, cols: dict[str, str], meanings: dict[str, ColumnMeaning],
             contexts: list[Context]) -> TableRows:
    out = TableRows(kind="generic")
    for position, record in enumerate(_records(block)):
        row = block.row_offset + position
        model = _row_model(block, cols, record)
        error = _row_failure(cols, record, {})
        for col, meaning in meanings.items():
            value = parse_number(record[col], factor=meaning.factor, is_time=meaning.metric in TIME_METRICS)
            if value is None:
                continue
            definition = " ".join(x for x in (meaning.statistic, meaning.definition.replace("_", " ")) if x)
            # A timing of exactly zero is a run that did not happen (tools store failures as 0).
            zero = value == 0 and meaning.metric in TIME_METRICS and meaning.statistic != "std"
            row_error = error or ("zero time (failed run)" if zero else "")
            _measurement(out.measurements, block, row, model, contexts[position], meaning.metric, value,
                         failed=bool(row_error), error=row_error, kind="generic", definition=definition or "value",
                         request_id=f"{block.source}#{row}", statistic=meaning.statistic)
    return out
