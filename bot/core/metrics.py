"""Canonical metrics and the recognition of metric columns in benchmark files.

One name and one unit per metric (DESIGN.md). `classify_column` turns a column or key name as tools
write it (``ttft_s``, ``Tokens per Second``, ``mean_ttft_ms``, ``Generation Time (ms)``,
``avg_ts``) into (metric, unit factor to the canonical unit, statistic) or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


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
        # llama-bench pg tests (ppN+tgN): prompt and generated tokens over the whole test
        Metric("combined_throughput_tok_s", "tok/s", True, "Prompt+generation throughput"),
        # a server's output tokens over the run's wall time (vLLM output_throughput, GenAI-Perf
        # output_token_throughput): a system rate, not one request's generation speed
        Metric("output_throughput_tok_s", "tok/s", True, "Output throughput (system)"),
        # prompt + output tokens per second (vLLM total_token_throughput and benchmark_throughput's
        # tokens_per_second): never generation throughput
        Metric("total_throughput_tok_s", "tok/s", True, "Total token throughput (prompt + output)"),
        # request counts a tool reports for a run it gives no per-request rows for
        Metric("requests_completed", "requests", True, "Completed requests"),
        Metric("requests_failed", "requests", False, "Failed requests"),
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


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=8192)
def normalize_name(name: str) -> str:
    """'Generation Time (ms)' -> 'generation_time_ms'; 'Tokens/s' -> 'tokens_s'."""
    text = str(name).strip().lower().replace("**", "")
    text = text.replace("/", "_").replace("%", "pct")
    text = _NOT_ALNUM.sub("_", text)
    return text.strip("_")


def _split_stat(tokens: list[str]) -> tuple[str, list[str]]:
    """Pull one statistic word out of the tokens (prefix or suffix)."""
    for i in (0, len(tokens) - 1):
        if tokens and tokens[i] in _STAT_WORDS:
            rest = tokens[:i] + tokens[i + 1 :]
            return _STAT_WORDS[tokens[i]], rest
    return "", tokens


@lru_cache(maxsize=8192)
def classify_column(name: str) -> ColumnMeaning | None:
    """What a column means, or None when it carries no metric we know.

    Only names that say both the quantity and (for times) the unit are recognised; a bare
    ``prompt_eval`` or ``latency`` without unit is left alone rather than guessed.
    """
    return _classify_normalized(normalize_name(name))


# The meaning depends on the normalized name alone: spellings of one name ('TTFT (ms)', '**ttft ms**',
# '- TTFT_ms' in a report's prose) are judged once (a first reading meets hundreds of them).
@lru_cache(maxsize=8192)
def _classify_normalized(norm: str) -> ColumnMeaning | None:
    if not norm:
        return None
    # "mean_ttft_ms", "eval_s_mean": one statistic word, as prefix or suffix
    stat, rest = _split_stat(norm.split("_"))
    body = "_".join(rest)
    if body in _THROUGHPUT_BODIES:
        return _throughput_meaning(body, stat)
    if body in _REQUEST_THROUGHPUT_BODIES:
        return ColumnMeaning("request_throughput_req_s", 1.0, stat)
    stat, rest = _without_overall(stat, rest)
    rate = _rate_meaning(rest, stat)
    if rate is not None or _is_rate(rest):
        return rate  # '..._per_s' is a rate: never a time in seconds
    if rest and rest[-1] in _UNIT_FACTORS_TIME and (stat or len(rest) >= 2):
        return _time_meaning(stat, rest)
    if body == "ns":  # llama-bench avg_ns
        return ColumnMeaning("latency_ms", 1e-6, stat, "llama-bench test duration") if stat else None
    return _token_count_meaning(body, stat)


_PER_SECOND = ("s", "sec", "second", "seconds")


def _is_rate(rest: list[str]) -> bool:
    """'<something>_per_s(ec|econd)': a count per second, whatever it counts."""
    return len(rest) >= 3 and rest[-2] == "per" and rest[-1] in _PER_SECOND


def _rate_meaning(rest: list[str], stat: str) -> ColumnMeaning | None:
    """Tokens or requests per second; None for a rate of something else (its unit is unknown)."""
    if not _is_rate(rest):
        return None
    counted = rest[:-2]
    if counted and counted[-1] in {"token", "tokens", "tok"}:
        return ColumnMeaning("throughput_tok_s", 1.0, stat)
    if counted and counted[-1] in {"request", "requests", "req"}:
        return ColumnMeaning("request_throughput_req_s", 1.0, stat)
    return None


_THROUGHPUT_BODIES = frozenset({
    "tokens_s", "tokens_per_second", "tok_s", "tokens_sec", "tps", "ts", "output_throughput",
    "output_tokens_s", "eval_rate", "tokens_per_sec", "throughput_tok_s", "throughput_tokens_s",
    "generation_tokens_s", "tokens_per_second_tok_s", "throughput", "t_s", "tok_sec", "tokens_per_s",
})
_REQUEST_THROUGHPUT_BODIES = frozenset({"request_throughput", "requests_s", "request_throughput_req_s"})
_PROMPT_TOKEN_BODIES = frozenset({"prompt_eval_count", "prompt_tokens", "n_prompt", "input_tokens",
                                  "total_input_tokens"})
_OUTPUT_TOKEN_BODIES = frozenset({"eval_count", "output_tokens", "completion_tokens", "n_gen", "tokens",
                                  "eval_count_tokens", "total_output_tokens", "generated_tokens",
                                  "output_len", "output_lens"})


def _throughput_meaning(body: str, stat: str) -> ColumnMeaning | None:
    """Tokens per second, unless the name leaves it open."""
    if body == "ts" and stat == "":
        return None  # llama-bench's avg_ts / stddev_ts always carry a statistic
    if body == "throughput":
        return None  # unit unknown
    return ColumnMeaning("throughput_tok_s", 1.0, stat)


def _without_overall(stat: str, rest: list[str]) -> tuple[str, list[str]]:
    """'overall_mean_ms': 'overall' qualifies another statistic, which is the one that counts."""
    if stat == "overall" and rest and rest[0] in _STAT_WORDS:
        return _STAT_WORDS[rest[0]], rest[1:]
    return stat, rest


def _time_meaning(stat: str, rest: list[str]) -> ColumnMeaning | None:
    """A time: ``<quantity>_<unit>``, or "p50_ms" / "Mean (ms)", a statistic of an unnamed time."""
    factor = _UNIT_FACTORS_TIME[rest[-1]]
    if len(rest) == 1:
        return ColumnMeaning("time_ms", factor, stat, "")
    stat, quantity = _time_quantity(stat, rest[:-1])
    mapped = _TIME_QUANTITIES.get(quantity)
    if mapped is not None:
        metric, definition = mapped
        return ColumnMeaning(metric, factor, stat, definition)
    if quantity and not quantity.isdigit():
        return ColumnMeaning("time_ms", factor, stat, quantity)
    return None


def _time_quantity(stat: str, words: list[str]) -> tuple[str, str]:
    """(statistic, quantity) from the words before a time unit. A statistic word at their end counts
    when the name gave none ('ttft_mean_ms'); one at their start ('p95_mean_ttft_ms') is dropped from
    the quantity and counts only when the name gave none."""
    quantity = "_".join(words)
    if stat == "" and len(words) > 1 and words[-1] in _STAT_WORDS:
        return _STAT_WORDS[words[-1]], "_".join(words[:-1])
    if quantity.startswith(("mean_", "median_", "avg_", "std_", "min_", "max_")):
        head, _, quantity = quantity.partition("_")
        return stat or _STAT_WORDS[head], quantity
    return stat, quantity


def _token_count_meaning(body: str, stat: str) -> ColumnMeaning | None:
    if stat == "total":
        return None  # a sum over requests (or prompt + output) is not a per-request value
    if body in _PROMPT_TOKEN_BODIES:
        return ColumnMeaning("prompt_tokens", 1.0, stat)
    if body in _OUTPUT_TOKEN_BODIES:
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


# Words that say a column holds a timed quantity or a rate: with no unit we know, it is not read
# (and the inventory says why) rather than guessed.
_QUANTITY_WORDS = frozenset({"latency", "ttft", "tpot", "itl", "e2el", "duration", "throughput", "elapsed"})
_KNOWN_UNIT_WORDS = frozenset({*_UNIT_FACTORS_TIME, *_PER_SECOND, "per", "tok", "tokens", "token", "req",
                               "requests", "ts", "tps", "pct", "percent", "count"})


@lru_cache(maxsize=8192)
def unknown_unit(name: str) -> str | None:
    """Why a column that names a timed quantity or rate is not read: '' when it is read or is no such
    column; else the reason ('no unit stated', "unknown unit 'fortnights'")."""
    if classify_column(name) is not None:
        return None
    norm = normalize_name(name)
    words = norm.split("_")
    if _is_rate(words):
        return f"a rate of {' '.join(words[:-2]) or 'something'} per second, not tokens or requests"
    if not _QUANTITY_WORDS & set(words):
        return None
    tail = words[-1]
    if tail in _QUANTITY_WORDS or tail in _STAT_WORDS or tail == "time":
        return "no unit stated"
    if tail in _KNOWN_UNIT_WORDS:
        return None
    return f"unknown unit '{tail}'"
