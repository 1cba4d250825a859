"""LLMPerf (ray-project/llmperf ``token_benchmark_ray.py``): per-request ``individual`` JSON and the
run's ``summary`` JSON.

Individual files (a list of request objects) are requests: ``ttft_s`` -> ``ttft_ms``,
``end_to_end_latency_s`` -> ``latency_ms``, ``inter_token_latency_s`` -> ``itl_ms`` (LLMPerf divides
the sum of every gap, TTFT included, by the output tokens), ``request_output_throughput_token_per_s``
-> ``throughput_tok_s``, ``number_output_tokens``/``number_input_tokens`` -> token counts. A request
with an ``error_code`` is a failure even when its timings are non-zero (LLMPerf's own summaries leave
them out); ``error_code``/``error_msg`` give the reason. ``GEN_TEXT`` is kept as an identifier.

The model is named only in the summary: ``individual/X.json`` takes it from ``summary/X.json`` (a
parallel folder) or ``X_individual_responses.json`` from ``X_summary.json``, together with the
summary's settings as context (``framework``, ``api``, ``model_size``, ``num_concurrent_requests``,
requested ``mean_input_tokens``/``mean_output_tokens``, ``version``). Summary statistics
(``results_<metric>_quantiles_pNN``, ``_mean``, ``_min``, ``_max``, ``_stddev``) are claims checked
against the individual rows; ``results_mean_output_throughput_token_per_s`` (output tokens over the
whole test's wall time) and ``results_num_completed_requests_per_min`` cannot be recomputed and are
the tool's aggregates.

In LLMPerf before 2024-04-07 (summary ``version`` "2023-08-31") ``request_output_throughput_token_per_s``
counts streamed chunks, not tokens: the definition says so.
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath
from typing import Any

from bot.core.context import canonical_value, split_fields
from bot.core.ingest.tools.base import RowWriter, SourceFile, ToolRead, claim, number

NAME = "llmperf"
_REQUEST_KEYS = {"ttft_s", "end_to_end_latency_s"}
_METRICS = {
    "ttft_s": ("ttft_ms", 1000.0, "client-side time to the first streamed chunk (LLMPerf)"),
    "end_to_end_latency_s": ("latency_ms", 1000.0, "end-to-end request latency (LLMPerf)"),
    "inter_token_latency_s": ("itl_ms", 1000.0, "sum of every gap, TTFT included, / output tokens (LLMPerf)"),
    "request_output_throughput_token_per_s": ("throughput_tok_s", 1.0, ""),
    "number_output_tokens": ("output_tokens", 1.0, ""),
    "number_input_tokens": ("prompt_tokens", 1.0, ""),
}
_SUMMARY_STAT = re.compile(r"^results_(?P<metric>[a-z_]+?)_(?:quantiles_(?P<q>p\d+)|(?P<s>mean|min|max|stddev))$")
_REQUESTED = ("mean_input_tokens", "stddev_input_tokens", "mean_output_tokens", "stddev_output_tokens",
              "num_concurrent_requests")
CHUNKS_DEF = ("streamed chunks / end-to-end latency: LLMPerf before 2024-04-07 counted SSE chunks, not tokens; "
              "not comparable across providers")
TOKENS_DEF = "output tokens / end-to-end latency (LLMPerf)"


def _is_individual(doc: Any) -> bool:
    return (isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict)
            and "error_code" in doc[0] and set(doc[0]) >= _REQUEST_KEYS)


def _is_summary(doc: Any) -> bool:
    return isinstance(doc, dict) and any(str(k).startswith("results_ttft_s") for k in doc) and (
        "version" in doc or "model" in doc)


class LlmPerf:
    name = NAME

    def detect(self, file: SourceFile) -> float:
        if file.fmt != "json":
            return 0.0
        doc = file.parsed
        return 0.95 if _is_individual(doc) or _is_summary(doc) else 0.0

    def read(self, file: SourceFile) -> ToolRead:
        doc = file.parsed
        if _is_summary(doc):
            return _read_summary(file, doc)
        return _read_individual(file, doc)


ADAPTER = LlmPerf()


def summary_path(rel: str) -> list[str]:
    """Where the summary of an individual-responses file would be."""
    path = PurePosixPath(rel)
    out = []
    if path.parent.name == "individual":
        out.append(str(path.parent.parent / "summary" / path.name))
    if path.stem.endswith("_individual_responses"):
        out.append(str(path.parent / (path.stem[: -len("_individual_responses")] + "_summary.json")))
    return out


def _summary_of(file: SourceFile) -> tuple[dict[str, Any], str]:
    for candidate in summary_path(file.rel):
        doc = file.sibling_json(candidate)
        if _is_summary(doc):
            return doc, candidate
    return {}, ""


def summary_context(summary: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The run's settings from its summary: (dimensions, identifiers). Results are not context."""
    dims: dict[str, str] = {}
    idents: dict[str, str] = {}
    for key, raw in summary.items():
        if str(key).startswith("results_") or key == "model":
            continue
        value = canonical_value(raw)
        if value is None:
            continue
        if key in ("timestamp", "name"):
            idents[f"summary.{key}"] = value
        elif key in _REQUESTED or not isinstance(raw, (dict, list)):
            dims[key] = value
    return dims, idents


def _read_individual(file: SourceFile, rows: list[dict[str, Any]]) -> ToolRead:
    out = ToolRead()
    summary, summary_rel = _summary_of(file)
    model = str(summary.get("model") or "")
    if model:
        out.model_origin = f"sibling file {summary_rel}: {model}"
    else:
        out.warnings.append("no LLMPerf summary found beside it: the model is not known")
    s_dims, s_ids = summary_context(summary)
    throughput_def = CHUNKS_DEF if str(summary.get("version", "")).startswith("2023") else TOKENS_DEF
    dims, idents = split_fields(rows, skip={*_METRICS, "error_code", "error_msg", "number_total_tokens"})
    writer = RowWriter(file.rel, tool=NAME)
    for index, request in enumerate(rows):
        if not isinstance(request, dict):
            continue
        ctx = writer.context({**s_dims, **dims[index]}, {**s_ids, **idents[index]})
        error = _error(request)
        wrote = False
        for key, (metric, factor, definition) in _METRICS.items():
            value = number(request.get(key))
            if value is None:
                continue
            if metric == "throughput_tok_s":
                definition = throughput_def
            writer.add(row=index, model=model, metric=metric, value=value * factor, ctx=ctx, kind="request",
                       failed=bool(error), error=error, definition=definition)
            wrote = True
        if not wrote:
            writer.add(row=index, model=model, metric="ttft_ms", value=math.nan, ctx=ctx, kind="request",
                       failed=True, error=error or "no values recorded")
    out.measurements = writer.rows
    return out


def _error(request: dict[str, Any]) -> str:
    code = request.get("error_code")
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return ""
    message = str(request.get("error_msg") or "").strip()
    code_text = canonical_value(code) or str(code)
    return f"error_code {code_text}: {message}"[:300] if message else f"error_code {code_text}"


def _read_summary(file: SourceFile, summary: dict[str, Any]) -> ToolRead:
    """The summary's statistics are claims; the two it computes over the whole test are aggregates."""
    out = ToolRead()
    model = str(summary.get("model") or "")
    version = str(summary.get("version") or "")
    for key, raw in summary.items():
        match = _SUMMARY_STAT.match(str(key))
        value = number(raw)
        if match is None or value is None or match.group("metric") not in _METRICS:
            continue
        metric, factor, _definition = _METRICS[match.group("metric")]
        stat = match.group("q") or {"stddev": "std"}.get(match.group("s"), match.group("s"))
        stat = "median" if stat == "p50" else stat
        out.claims.append(claim(source=file.rel, model=model, metric=metric, statistic=stat, value=value * factor,
                                label=f"LLMPerf summary {version} ({key})".replace(" ()", "")))
    dims, idents = summary_context(summary)
    writer = RowWriter(file.rel, tool=NAME)
    ctx = writer.context(dims, idents)
    completed = number(summary.get("results_num_completed_requests"))
    n = completed if completed is not None else math.nan
    overall = number(summary.get("results_mean_output_throughput_token_per_s"))
    if overall is not None:
        writer.add(row=0, model=model, metric="output_throughput_tok_s", value=overall, ctx=ctx, kind="aggregate",
                   statistic="overall", n=n,
                   definition="output tokens of the successful requests / wall time of the whole test (LLMPerf "
                              "results_mean_output_throughput_token_per_s)")
    per_min = number(summary.get("results_num_completed_requests_per_min"))
    if per_min is not None:
        writer.add(row=0, model=model, metric="request_throughput_req_s", value=per_min / 60.0, ctx=ctx,
                   kind="aggregate", statistic="overall", n=n,
                   definition="completed requests per minute / 60 (LLMPerf results_num_completed_requests_per_min)")
    out.measurements = writer.rows
    return out
