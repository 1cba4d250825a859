"""vLLM benchmarks: ``vllm bench serve`` / ``benchmark_serving.py`` results (one JSON object per run,
several with ``--append-result``), ``vllm bench sweep`` runs (``run=N.json``, ``summary.json``,
``summary.csv``, ``run=N.failure.json``), ``benchmark_latency`` and ``benchmark_throughput``.

Serve results:
- with ``--save-detailed`` the per-request arrays (``ttfts``, ``itls``, ``output_lens``,
  ``input_lens``, ``errors``) are requests; a non-empty ``errors[i]`` is a failed request. The file's
  TTFT/TPOT/ITL/E2EL statistics are then claims, checked against those requests;
- otherwise every statistic is the tool's aggregate (kind ``aggregate``) with its statistic and
  n = ``completed`` (when the file says it). ``completed``/``failed`` become request counts; a run with
  none completed is all failures and its zero statistics are marked failed, never values;
- ``request_throughput`` (req/s), ``output_throughput`` (system output tok/s),
  ``total_token_throughput`` (prompt + output tok/s) and ``max_output_tokens_per_s`` (the peak output
  rate: a rate, never seconds) are system figures of the run; ``duration`` and token totals are not read;
- everything else (``request_rate`` — ``"inf"`` kept as text —, ``max_concurrency``, ``burstiness``,
  ``num_prompts``, ``backend``, sweep overrides such as ``max_num_seqs``, ``--metadata`` keys) is
  context; ``date`` and ``run_number`` are identifiers.

Latency results: ``latencies`` are samples (s -> ms; one = one ``generate`` call over a whole batch);
``avg_latency`` and ``percentiles`` are claims checked against them. Throughput results:
``tokens_per_second`` counts prompt + output tokens (``total_throughput_tok_s``), never generation
throughput; ``requests_per_second`` is a request rate; n = ``num_requests``. These two files name no
model: it is taken from a serving result in the same folder whose file name shares the model token
(``latency_llama8B_tp1`` ↔ ``serving_llama8B_tp1_…``), else left unnamed.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import PurePosixPath
from typing import Any

from bot.core.context import split_fields
from bot.core.ingest.tools.base import RowWriter, SourceFile, ToolRead, claim, fingerprint, number

NAME = "vllm"
TTFT_DEF = "client-side: request sent to first streamed token (vLLM benchmark_serving)"
TPOT_DEF = "(latency − TTFT) / (output tokens − 1) per request, first token excluded (vLLM)"
ITL_DEF = "every gap between streamed chunks of all successful requests, pooled (vLLM)"
E2EL_DEF = "end-to-end request latency (vLLM e2el)"
_STAT_KEY = re.compile(r"^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
_QUANTITY = {"ttft": ("ttft_ms", TTFT_DEF), "tpot": ("tpot_ms", TPOT_DEF), "itl": ("itl_ms", ITL_DEF),
             "e2el": ("latency_ms", E2EL_DEF)}
_SYSTEM = {
    "request_throughput": ("request_throughput_req_s", "rate", "completed requests / run duration"),
    "output_throughput": ("output_throughput_tok_s", "rate", "output tokens of the run / run duration"),
    "total_token_throughput": ("total_throughput_tok_s", "rate",
                               "prompt + output tokens of the run / run duration"),
    "max_output_tokens_per_s": ("output_throughput_tok_s", "max", "peak output tokens per second"),
}
_ARRAYS = ("ttfts", "itls", "output_lens", "input_lens", "errors", "generated_texts", "e2els")
_NOT_CONTEXT = frozenset({*_ARRAYS, "completed", "failed", "duration", "total_input_tokens", "total_output_tokens",
                          "request_goodput", "max_concurrent_requests", "model_id", "model", *(_SYSTEM)})
_SERVE_KEYS = ({"request_rate", "burstiness"}, {"mean_ttft_ms", "num_prompts"}, {"ttfts", "output_lens"},
               {"mean_ttft_ms", "completed"})
_LATENCY_KEYS = {"avg_latency", "latencies", "percentiles"}
_THROUGHPUT_KEYS = {"elapsed_time", "num_requests", "total_num_tokens", "tokens_per_second"}
_FAILURE_KEYS = {"run_number", "error_type", "error"}


def kind_of(obj: Any) -> str:
    if not isinstance(obj, dict):
        return ""
    keys = set(obj)
    if any(sig <= keys for sig in _SERVE_KEYS):
        return "serve"
    if keys >= _LATENCY_KEYS:
        return "latency"
    if keys >= _THROUGHPUT_KEYS:
        return "throughput"
    if keys >= _FAILURE_KEYS and ("serve_overrides" in keys or "bench_overrides" in keys):
        return "failure"
    return ""


class Vllm:
    name = NAME

    def detect(self, file: SourceFile) -> float:
        if file.fmt == "csv":
            first = file.first_line
            if "burstiness" not in first and "mean_ttft_ms" not in first and "ttfts" not in first:
                return 0.0  # each set of `_SERVE_KEYS` has one of these columns: the line is not split
            header = {h.strip() for h in first.split(",")}
            return 0.9 if kind_of(dict.fromkeys(header, 0)) == "serve" else 0.0
        if file.fmt not in ("json", "jsonl"):
            return 0.0
        objs, _ = file.objects()
        return 0.95 if objs and all(kind_of(o) for o in objs[:20]) else 0.0

    def read(self, file: SourceFile) -> ToolRead:
        if file.fmt == "csv":
            return _read_serve(file, _csv_objects(file.text))
        objs, _ = file.objects()
        kinds = {kind_of(o) for o in objs}
        if kinds == {"latency"}:
            return _read_latency(file, objs)
        if kinds == {"throughput"}:
            return _read_throughput(file, objs)
        if kinds == {"failure"}:
            return _read_failures(file, objs)
        return _read_serve(file, [o for o in objs if kind_of(o) == "serve"])


ADAPTER = Vllm()


def _csv_objects(text: str) -> list[dict[str, Any]]:
    """`vllm bench sweep`'s summary.csv (pandas, with its unnamed index column)."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        record: dict[str, Any] = {}
        for key, raw in row.items():
            if key in ("", None) or key.startswith("Unnamed"):
                continue
            value = number(raw)
            record[key] = value if value is not None else (raw if raw not in ("", None) else None)
        if record.get("request_rate") is None and row.get("request_rate") in ("inf", "Infinity"):
            record["request_rate"] = "inf"
        rows.append(record)
    return rows


# --- serve ------------------------------------------------------------------------------------
def _record_print(obj: dict[str, Any]) -> str:
    """The same run exported twice (run=N.json, summary.json, summary.csv) has the same print."""
    keys = ("date", "model_id", "request_rate", "num_prompts", "completed", "median_ttft_ms", "mean_ttft_ms")
    return fingerprint([_print_value(obj.get(k)) for k in keys])


def _print_value(raw: Any) -> str:
    value = number(raw)
    return f"{value:.9g}" if value is not None else str(raw)


def _read_serve(file: SourceFile, objs: list[dict[str, Any]]) -> ToolRead:
    out = ToolRead()
    if not objs:
        out.skip = "vLLM result without runs"
        return out
    dims, idents = split_fields(objs, skip=_NOT_CONTEXT | {k for o in objs for k in o if _STAT_KEY.match(k)})
    writer = RowWriter(file.rel, tool=NAME)
    for index, obj in enumerate(objs):
        ctx = writer.context(dims[index], idents[index])
        model = str(obj.get("model_id") or obj.get("model") or "")
        if isinstance(obj.get("ttfts"), list) and obj["ttfts"]:
            _serve_requests(writer, index, obj, model, ctx, out)
        else:
            _serve_aggregates(writer, index, obj, model, ctx)
    out.measurements = writer.rows
    return out


def _run_counts(obj: dict[str, Any]) -> tuple[float | None, float | None]:
    return number(obj.get("completed")), number(obj.get("failed"))


def _serve_aggregates(writer: RowWriter, row: int, obj: dict[str, Any], model: str, ctx: tuple[str, str]) -> None:
    completed, failed = _run_counts(obj)
    n = completed if completed is not None else math.nan
    none_completed = completed == 0
    error = (f"vLLM run: 0 of {int(failed or 0) + 0} requests completed" if none_completed else "")
    print_ = _record_print(obj)
    for key, raw in obj.items():
        value = number(raw)
        if value is None:
            continue
        mapped = _aggregate_meaning(key)
        if mapped is None:
            continue
        metric, statistic, definition = mapped
        writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate",
                   statistic=statistic, n=n, failed=none_completed, error=error,
                   definition=f"{definition} ({key} as reported by vLLM)", print_=f"{print_}.{key}")
    _counts(writer, row, model, ctx, completed, failed, print_)


def _aggregate_meaning(key: str) -> tuple[str, str, str] | None:
    match = _STAT_KEY.match(key)
    if match:
        metric, definition = _QUANTITY[match.group(2)]
        stat = {"mean": "mean", "median": "median", "std": "std"}.get(match.group(1), match.group(1))
        if stat == "std":
            definition += "; population standard deviation"
        return metric, stat, definition
    return _SYSTEM.get(key)


def _counts(writer: RowWriter, row: int, model: str, ctx: tuple[str, str], completed: float | None,
            failed: float | None, print_: str) -> None:
    for metric, value in (("requests_completed", completed), ("requests_failed", failed)):
        if value is None:
            continue
        writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate", statistic="count",
                   n=(completed or 0) + (failed or 0),
                   definition=f"{metric.replace('_', ' ')} as counted by vLLM", print_=f"{print_}.{metric}")


def _serve_requests(writer: RowWriter, row: int, obj: dict[str, Any], model: str, ctx: tuple[str, str],
                    out: ToolRead) -> None:
    """--save-detailed: one request per array entry. The file's TTFT statistics become claims checked
    against them; TPOT/ITL/E2EL statistics stay the tool's aggregates (the saved arrays do not hold
    each request's end time, and vLLM pools ITL over every gap of every request)."""
    ttfts = obj["ttfts"]
    n = len(ttfts)
    arrays = {key: obj[key] for key in _ARRAYS if isinstance(obj.get(key), list) and len(obj[key]) == n}
    errors = arrays.get("errors")
    for i in range(n):
        error = str((errors[i] if errors is not None else "") or "").strip()
        values = _request_values(arrays, i, error)
        for metric, (value, definition) in (values or {"ttft_ms": (math.nan, "")}).items():
            writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="request",
                       failed=bool(error), error=error[:300], definition=definition,
                       request_id=f"{writer.source}#{row}.{i}", extra_ids={"request": str(i)})
    completed, _failed = _run_counts(obj)
    n_ok = completed if completed is not None else math.nan
    print_ = _record_print(obj)
    for key, raw in obj.items():
        found = number(raw)
        mapped = _aggregate_meaning(key)
        if found is None or mapped is None:
            continue
        value = found
        metric, statistic, definition = mapped
        if metric == "ttft_ms":
            out.claims.append(claim(source=writer.source, model=model, metric=metric, statistic=statistic,
                                    value=value, label=f"vLLM {key}"))
            continue
        writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate",
                   statistic=statistic, n=n_ok, definition=f"{definition} ({key} as reported by vLLM)",
                   print_=f"{print_}.{key}")


def _request_values(arrays: dict[str, list[Any]], i: int, error: str) -> dict[str, tuple[float, str]]:
    values: dict[str, tuple[float, str]] = {}
    for key, metric, factor, definition in (("ttfts", "ttft_ms", 1000.0, TTFT_DEF),
                                            ("e2els", "latency_ms", 1000.0, E2EL_DEF),
                                            ("output_lens", "output_tokens", 1.0, ""),
                                            ("input_lens", "prompt_tokens", 1.0, "")):
        value = number(arrays[key][i]) if key in arrays else None
        if value is None or (error and value == 0):
            continue  # a failed request's 0 placeholders are not values
        values[metric] = (value * factor, definition)
    return values


# --- latency / throughput / sweep failures ------------------------------------------------------
def _sibling_model(file: SourceFile) -> tuple[str, str]:
    """(model, origin) from a serving result beside a latency/throughput file sharing its model token."""
    path = PurePosixPath(file.rel)
    token = re.sub(r"^(latency|throughput)[_-]?", "", path.stem)
    if not token:
        return "", ""
    models: set[str] = set()
    for other in file.paths:
        candidate = PurePosixPath(other)
        if candidate.parent != path.parent or candidate == path or token not in candidate.stem:
            continue
        if not candidate.stem.startswith("serving"):
            continue
        doc = file.sibling_json(other)
        if isinstance(doc, dict) and isinstance(doc.get("model_id"), str):
            models.add(doc["model_id"])
    if len(models) == 1:
        model = next(iter(models))
        return model, f"sibling file (serving result with '{token}' in its name): {model}"
    return "", ""


def _single(file: SourceFile, objs: list[dict[str, Any]]) -> tuple[RowWriter, ToolRead, str, tuple[str, str]]:
    out = ToolRead()
    writer = RowWriter(file.rel, tool=NAME)
    model = str(objs[0].get("model_id") or objs[0].get("model") or "")
    if not model:
        model, out.model_origin = _sibling_model(file)
    dims, idents = split_fields(objs[:1], skip=_LATENCY_KEYS | _THROUGHPUT_KEYS | {"std_latency", "requests_per_second",
                                                                                   "model", "model_id"})
    return writer, out, model, writer.context(dims[0], idents[0])


def _read_latency(file: SourceFile, objs: list[dict[str, Any]]) -> ToolRead:
    writer, out, model, ctx = _single(file, objs)
    obj = objs[0]
    latencies = [v for v in (number(x) for x in obj.get("latencies") or []) if v is not None]
    definition = "vLLM benchmark_latency: one iteration = one generate call over a whole batch (s -> ms)"
    for i, value in enumerate(latencies):
        writer.add(row=0, model=model, metric="latency_ms", value=value * 1000.0, ctx=ctx, kind="sample",
                   definition=definition, request_id=f"{file.rel}#0.{i}", extra_ids={"iteration": str(i)})
    avg = number(obj.get("avg_latency"))
    if avg is not None:
        out.claims.append(claim(source=file.rel, model=model, metric="latency_ms", statistic="mean",
                                value=avg * 1000.0, label="vLLM avg_latency"))
    percentiles = obj.get("percentiles")
    for key, raw in (percentiles.items() if isinstance(percentiles, dict) else ()):
        point = number(raw)
        if point is None:
            continue
        value = point
        stat = "median" if str(key) in ("50", "50.0") else f"p{key}"
        out.claims.append(claim(source=file.rel, model=model, metric="latency_ms", statistic=stat,
                                value=value * 1000.0, label=f"vLLM percentiles[{key}]"))
    out.measurements = writer.rows
    if not latencies:
        out.skip = "vLLM latency result without latencies"
    return out


def _read_throughput(file: SourceFile, objs: list[dict[str, Any]]) -> ToolRead:
    writer, out, model, ctx = _single(file, objs)
    obj = objs[0]
    n = number(obj.get("num_requests"))
    for key, metric, definition in (
            ("tokens_per_second", "total_throughput_tok_s",
             "prompt + output tokens of all requests / elapsed time (vLLM benchmark_throughput tokens_per_second; "
             "not generation throughput)"),
            ("requests_per_second", "request_throughput_req_s",
             "requests / elapsed time (vLLM benchmark_throughput)")):
        value = number(obj.get(key))
        if value is not None:
            writer.add(row=0, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate", statistic="overall",
                       n=n if n is not None else math.nan, definition=definition)
    out.measurements = writer.rows
    return out


def _read_failures(file: SourceFile, objs: list[dict[str, Any]]) -> ToolRead:
    """`run=N.failure.json`: a sweep run that did not complete, with the overrides it was run with."""
    out = ToolRead()
    writer = RowWriter(file.rel, tool=NAME)
    for index, obj in enumerate(objs):
        overrides: dict[str, Any] = {}
        for key in ("serve_overrides", "bench_overrides"):
            if isinstance(obj.get(key), dict):
                overrides.update(obj[key])
        dims, idents = split_fields([overrides])
        ctx = writer.context(dims[0], {**idents[0], "run_number": str(obj.get("run_number"))})
        error = f"{obj.get('error_type') or 'error'}: {obj.get('error') or ''}".strip()
        writer.add(row=index, model="", metric="requests_failed", value=math.nan, ctx=ctx, kind="aggregate",
                   statistic="count", failed=True, error=error[:300],
                   definition="vLLM sweep run that did not complete (run=N.failure.json)")
    out.measurements = writer.rows
    return out
