"""Canonical metrics and the recognition of metric columns in benchmark files.

One name and one unit per metric (DESIGN.md). `classify_column` turns a column or key name as tools
write it (``ttft_s``, ``Tokens per Second``, ``mean_ttft_ms``, ``Generation Time (ms)``,
``avg_ts``) into (metric, unit factor to the canonical unit, statistic) or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    higher_is_better: bool
    label: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("throughput_tok_s", "tok/s", True, "Throughput"),
        # llama-bench's pp tests: prompt processing speed, never pooled with generation speed
        Metric("prompt_throughput_tok_s", "tok/s", True, "Prompt processing"),
        Metric("ttft_ms", "ms", False, "TTFT"),
        Metric("latency_ms", "ms", False, "Latency"),
        Metric("load_ms", "ms", False, "Model load"),
        Metric("prompt_eval_ms", "ms", False, "Prompt eval"),
        Metric("eval_ms", "ms", False, "Eval"),
        Metric("prompt_tokens", "tokens", True, "Prompt tokens"),
        Metric("output_tokens", "tokens", True, "Output tokens"),
        Metric("tpot_ms", "ms", False, "Time per output token"),
        Metric("itl_ms", "ms", False, "Inter-token latency"),
        Metric("request_throughput_req_s", "req/s", True, "Request throughput"),
        Metric("time_ms", "ms", False, "Time"),
    )
}

# Statistic words as they appear in column names, mapped to our statistic names.
_STAT_WORDS = {
    "mean": "mean",
    "avg": "mean",
    "average": "mean",
    "median": "median",
    "p50": "median",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
    "std": "std",
    "stdev": "std",
    "stddev": "std",
    "min": "min",
    "max": "max",
    "overall": "overall",
    "total": "total",
}

_UNIT_FACTORS_TIME = {"s": 1000.0, "sec": 1000.0, "secs": 1000.0, "seconds": 1000.0, "ms": 1.0,
                      "us": 0.001, "ns": 1e-6}


@dataclass(frozen=True)
class ColumnMeaning:
    metric: str
    factor: float  # multiply the file's value by this to get the canonical unit
    statistic: str  # '' for a raw per-request value
    definition: str = ""  # e.g. what the file's TTFT means, or the generic quantity's name


def normalize_name(name: str) -> str:
    """'Generation Time (ms)' -> 'generation_time_ms'; 'Tokens/s' -> 'tokens_s'."""
    text = str(name).strip().lower().replace("**", "")
    text = text.replace("/", "_").replace("%", "pct")
    text = re.sub(r"[^a-z0-9]+", "_", text)
    return text.strip("_")


def _split_stat(tokens: list[str]) -> tuple[str, list[str]]:
    """Pull one statistic word out of the tokens (prefix or suffix)."""
    for i in (0, len(tokens) - 1):
        if tokens and tokens[i] in _STAT_WORDS:
            rest = tokens[:i] + tokens[i + 1 :]
            return _STAT_WORDS[tokens[i]], rest
    return "", tokens


def classify_column(name: str) -> ColumnMeaning | None:
    """What a column means, or None when it carries no metric we know.

    Only names that say both the quantity and (for times) the unit are recognised; a bare
    ``prompt_eval`` or ``latency`` without unit is left alone rather than guessed.
    """
    norm = normalize_name(name)
    if not norm:
        return None
    tokens = norm.split("_")
    stat, rest = _split_stat(tokens)
    if stat == "" and len(tokens) > 1 and tokens[-1] in _STAT_WORDS:
        stat, rest = _STAT_WORDS[tokens[-1]], tokens[:-1]
    # "eval_s_mean" -> stat suffix after unit
    if stat == "" and len(rest) > 2 and rest[-1] in _STAT_WORDS:
        stat, rest = _STAT_WORDS[rest[-1]], rest[:-1]
    body = "_".join(rest)

    # --- throughput (tokens per second) ----------------------------------------------------
    if body in {"tokens_s", "tokens_per_second", "tok_s", "tokens_sec", "tps", "ts",
                "output_throughput", "output_tokens_s", "eval_rate", "tokens_per_sec",
                "throughput_tok_s", "throughput_tokens_s", "generation_tokens_s",
                "tokens_per_second_tok_s", "throughput"}:
        if body == "ts" and stat == "":
            return None  # llama-bench's avg_ts / stddev_ts always carry a statistic
        if body == "throughput":
            return None  # unit unknown
        return ColumnMeaning("throughput_tok_s", 1.0, stat)
    if body in {"request_throughput", "requests_s", "request_throughput_req_s"}:
        return ColumnMeaning("request_throughput_req_s", 1.0, stat)

    # "overall_mean_ms": 'overall' qualifies another statistic
    if stat == "overall" and rest and rest[0] in _STAT_WORDS:
        stat, rest = _STAT_WORDS[rest[0]], rest[1:]
    # "p50_ms", "Mean (ms)": a statistic of an unnamed time
    if stat and len(rest) == 1 and rest[0] in _UNIT_FACTORS_TIME:
        return ColumnMeaning("time_ms", _UNIT_FACTORS_TIME[rest[0]], stat, "")

    # --- times: <quantity>_<unit> ----------------------------------------------------------
    unit = rest[-1] if rest else ""
    if unit in _UNIT_FACTORS_TIME and len(rest) >= 2:
        factor = _UNIT_FACTORS_TIME[unit]
        quantity = "_".join(rest[:-1])
        if stat == "" and len(rest) > 2 and rest[-2] in _STAT_WORDS:
            stat, quantity = _STAT_WORDS[rest[-2]], "_".join(rest[:-2])
        if quantity.startswith(("mean_", "median_", "avg_", "std_", "min_", "max_")):
            head, _, quantity = quantity.partition("_")
            stat = stat or _STAT_WORDS[head]
        mapped = _TIME_QUANTITIES.get(quantity)
        if mapped is not None:
            metric, definition = mapped
            return ColumnMeaning(metric, factor, stat, definition)
        if quantity and not quantity.isdigit():
            return ColumnMeaning("time_ms", factor, stat, quantity)
        return None
    if norm == "ns" or body == "ns":  # llama-bench avg_ns
        return ColumnMeaning("latency_ms", 1e-6, stat, "llama-bench test duration") if stat else None

    # --- token counts ---------------------------------------------------------------------
    if stat == "total":
        return None  # a sum over requests (or prompt + output) is not a per-request value
    if body in {"prompt_eval_count", "prompt_tokens", "n_prompt", "input_tokens", "total_input_tokens"}:
        return ColumnMeaning("prompt_tokens", 1.0, stat)
    if body in {"eval_count", "output_tokens", "completion_tokens", "n_gen", "tokens", "eval_count_tokens",
                "total_output_tokens", "generated_tokens", "output_len", "output_lens"}:
        return ColumnMeaning("output_tokens", 1.0, stat)
    return None


# quantity (without unit) -> (metric, definition). The definition travels with the value so a
# report can say what a file meant by e.g. TTFT.
_TIME_QUANTITIES: dict[str, tuple[str, str]] = {
    "ttft": ("ttft_ms", "as recorded by the benchmark file"),
    "time_to_first_token": ("ttft_ms", "as recorded by the benchmark file"),
    "first_token": ("ttft_ms", "as recorded by the benchmark file"),
    "latency": ("latency_ms", "end-to-end request latency"),
    "e2el": ("latency_ms", "end-to-end request latency (vLLM e2el)"),
    "e2e_latency": ("latency_ms", "end-to-end request latency"),
    "request_latency": ("latency_ms", "end-to-end request latency"),
    "generation_time": ("latency_ms", "generation time per request"),
    "total_duration": ("latency_ms", "Ollama total_duration"),
    "total": ("latency_ms", "total request time"),
    "duration": ("latency_ms", "request duration"),
    "load": ("load_ms", ""),
    "load_duration": ("load_ms", ""),
    "prompt_eval": ("prompt_eval_ms", ""),
    "prompt_eval_duration": ("prompt_eval_ms", ""),
    "eval": ("eval_ms", ""),
    "eval_duration": ("eval_ms", ""),
    "tpot": ("tpot_ms", "time per output token"),
    "itl": ("itl_ms", "inter-token latency"),
}
