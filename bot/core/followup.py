"""Follow-up questions -> a query over a run's stored measurements -> new facts ``Q1…`` (pure pandas).

`parse_question` reads what a question asks for, using the run's own model names and configuration
keys so "q8_0", "1b", "gemma3" or "num_ctx 4096" resolve to what the data holds:

- models by full name or by a part of it ("q8_0", "1b", "8b", "gemma3", "llama3.1"); a part that
  looks like a model name but matches none is reported back with the run's models;
- configuration filters ``num_ctx 4096`` / ``num_ctx=4096`` / ``num_ctx: 4096`` (and "4096
  context"), or a bare key ("how does num_ctx affect …") to split by its levels;
- metric words (throughput, tok/s, TTFT, latency, load, …) and statistics (p50/median, p90, p95,
  p99, mean, min, max, std), "without/excluding cold starts" or "cold starts only", failures, and
  comparisons ("vs", "compare", "worse", "faster", …);
- rankings: "which configuration is fastest for q8_0" (every configuration of the model), "best
  num_ctx for gemma3:270m" (the levels of one key, pooled over the others), "which model is
  fastest" — ranked by the metric asked (throughput when none is named), the leader tested against
  the runner-up for noise (Welch t-test, as the analysis does), and the answer says when there is
  only one configuration to rank, or one request per configuration (nothing is demonstrably best).

`compute` turns that into facts computed from `bot.core.analysis.requests.request_frame` over the same
rules as the report: failed requests never enter a statistic, cold starts are marked the same way.
Every fact names its files as sources and its row count, so the answer is grounded like the report.

Settings are read from each request's whole context (a setting that is the same everywhere can still
be asked about). A question about a model as a whole pools its configurations because the user asked
for it; the answer then says so and names the dimensions it pooled over.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from bot.core.analysis.facts import stated
from bot.core.analysis.requests import request_frame, statistic, welch
from bot.core.config import Config
from bot.core.context import PATH_DIMENSIONS, decode
from bot.core.metrics import METRICS
from bot.core.types import Fact

MAX_GROUPS = 8  # per question: more would drown the answer (and the prompt)
MAX_FACTS = 24
FACT_IMPORTANCE = 100  # computed for this very question: kept first when the prompt is trimmed

# metric words as people write them -> canonical metric (longest phrases are tried first)
_METRIC_WORDS: dict[str, str] = {
    "time to first token": "ttft_ms",
    "time-to-first-token": "ttft_ms",
    "first token": "ttft_ms",
    "ttft": "ttft_ms",
    "tokens per second": "throughput_tok_s",
    "tokens/s": "throughput_tok_s",
    "tokens/sec": "throughput_tok_s",
    "tok/s": "throughput_tok_s",
    "t/s": "throughput_tok_s",
    "tps": "throughput_tok_s",
    "throughput": "throughput_tok_s",
    "generation speed": "throughput_tok_s",
    "end-to-end": "latency_ms",
    "end to end": "latency_ms",
    "response time": "latency_ms",
    "latency": "latency_ms",
    "latencies": "latency_ms",
    "load time": "load_ms",
    "loading": "load_ms",
    "load": "load_ms",
    "prompt eval": "prompt_eval_ms",
    "prompt eval time": "prompt_eval_ms",
    "prompt processing": "prompt_throughput_tok_s",  # llama-bench's pp tests: tokens/s
    "prompt throughput": "prompt_throughput_tok_s",
    "prefill": "prompt_throughput_tok_s",
    "eval time": "eval_ms",
    "generation time": "eval_ms",
    "output tokens": "output_tokens",
    "completion tokens": "output_tokens",
    "prompt tokens": "prompt_tokens",
    "input tokens": "prompt_tokens",
}
_STAT_WORDS: dict[str, str] = {
    "p50": "median",
    "median": "median",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
    "mean": "mean",
    "average": "mean",
    "avg": "mean",
    "min": "min",
    "minimum": "min",
    "max": "max",
    "maximum": "max",
    "std": "std",
    "stdev": "std",
    "stddev": "std",
    "standard deviation": "std",
}
_STAT_LABELS = {"median": "median (p50)", "mean": "mean", "p90": "p90", "p95": "p95", "p99": "p99",
                "min": "minimum", "max": "maximum", "std": "standard deviation"}

_EXCLUDE_COLD = re.compile(
    r"\b(?:without|excluding|excl\.?|exclude|except|ignoring|ignore|minus|no|w/o|sans)\s+"
    r"(?:the\s+|any\s+)?cold[\s-]?starts?\b"
    r"|\bwarm(?:\s+(?:requests?|runs?|only|cache))?\b",
    re.IGNORECASE,
)
_ONLY_COLD = re.compile(r"\bonly\s+(?:the\s+)?cold[\s-]?starts?\b|\bcold[\s-]?starts?\s+only\b",
                        re.IGNORECASE)
_COLD = re.compile(r"\bcold[\s-]?starts?\b", re.IGNORECASE)
_COMPARE = re.compile(
    r"\b(?:vs\.?|versus|compare[sd]?|comparing|comparison|difference|differ|than|worse|better|"
    r"slower|faster|higher|lower|affect|affects|impact|effect)\b",
    re.IGNORECASE,
)
_FAILURES = re.compile(r"\b(?:fail(?:s|ed|ures?)?|errors?|errored)\b", re.IGNORECASE)
# Ranking words: which end is asked for ("best": the better end for the metric, "high"/"low": of the values).
_RANK = re.compile(
    r"\b(?P<best>fastest|quickest|best|top|optimal|ideal|winner)\b|\b(?P<worst>slowest|worst)\b"
    r"|\b(?P<high>highest|largest)\b|\b(?P<low>lowest|smallest)\b|\b(?P<any>rank(?:ing|ed|s)?|order)\b",
    re.IGNORECASE)
_CONFIG_WORDS = re.compile(r"\b(?:config(?:uration)?s?|settings?|setups?|options?|variants?)\b", re.IGNORECASE)
_MODEL_WORD = re.compile(r"\bmodels?\b", re.IGNORECASE)
SIGNIFICANCE = 0.05  # as the analysis: a Welch t-test below this, with n >= 2 a side
RANKED_FACTS = 3  # the leaders whose statistic is listed beside the ranking
_SLACK_MARKUP = re.compile(r"<[^>]*>")  # mentions, channels, links: never model names
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]*[A-Za-z0-9]|[A-Za-z0-9]")
_BOUNDARY = ":/-_."
# What a reference to a model looks like even when the run holds no such model.
_MODELISH = re.compile(
    r"^(?:\d+(?:\.\d+)?[bm]"  # size: 1b, 8b, 270m, 1.5b
    r"|q\d(?:_[a-z0-9]+)*"  # quantisation: q8_0, q4_k_m
    r"|fp16|f16|bf16|fp8|int4|int8"
    r"|(?:llama|gemma|qwen|mistral|mixtral|phi|deepseek|granite|tinyllama|smollm|codellama|"
    r"starcoder|falcon|olmo|command-r)[\w.:\-]*"
    r"|[a-z][\w.\-]*:[\w.\-]+)$",  # name:tag
    re.IGNORECASE,
)
_CONTEXT_ALIASES = ("context window", "context length", "context", "ctx")


@dataclass(frozen=True)
class Query:
    """What a question asks for, resolved against one run's models and configuration keys."""

    models: tuple[str, ...] = ()  # resolved model names (empty: every model of the run)
    config: tuple[tuple[str, str], ...] = ()  # (key, value as the run writes it) filters
    split_by: tuple[str, ...] = ()  # configuration keys to split each model by
    metrics: tuple[str, ...] = ()
    statistics: tuple[str, ...] = ()
    cold: str = "include"  # include | exclude | only
    compare: bool = False
    failures: bool = False
    problems: tuple[str, ...] = ()  # unknown model / value: said back to the user instead
    rank: str = ""  # "configs", "models" or a configuration key whose levels are ranked; "" no ranking
    rank_end: str = "best"  # best | worst | high | low: which end of the ranking is asked for

    @property
    def wants_numbers(self) -> bool:
        """Whether the question names anything to compute (else the report's facts answer it)."""
        return bool(self.models or self.config or self.split_by or self.metrics or self.statistics
                    or self.cold != "include" or self.failures or self.rank)


@dataclass
class Computation:
    query: Query
    facts: list[Fact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be computed, in plain words


# --- parsing ---------------------------------------------------------------------------------


def parse_question(question: str, *, models: Sequence[str], configs: Sequence[str]) -> Query:
    """Read ``question`` against the run's ``models`` and configuration strings (pure)."""
    text = _SLACK_MARKUP.sub(" ", question or "")
    lowered = text.lower()
    levels = config_levels(configs)

    metrics = _find_words(lowered, _METRIC_WORDS)
    stats = _find_words(lowered, _STAT_WORDS)
    cold = "only" if _ONLY_COLD.search(text) else "exclude" if _EXCLUDE_COLD.search(text) else "include"

    config, split_by, config_spans, problems = _find_config(text, levels)
    masked = _blank(text, config_spans)
    reserved = {w for phrase in (*_METRIC_WORDS, *_STAT_WORDS) for w in re.split(r"[\s/]+", phrase)}
    reserved |= {k.lower() for k in levels}
    chosen, unknown = _find_models(masked, models, reserved=reserved)
    for name in unknown:
        problems.append(f"I don't see a model named `{name}`; models in this run: "
                        f"{', '.join(models) if models else '(none)'}.")
    rank, rank_end = _ranking(text, chosen, split_by)
    return Query(
        models=tuple(chosen), config=tuple(config), split_by=tuple(split_by), metrics=tuple(metrics),
        statistics=tuple(stats), cold=cold, compare=bool(_COMPARE.search(text)) and not rank,
        failures=bool(_FAILURES.search(text)) and not rank, problems=tuple(problems), rank=rank,
        rank_end=rank_end,
    )


def _ranking(text: str, models: Sequence[str], split_by: Sequence[str]) -> tuple[str, str]:
    """(what is ranked, which end is asked for) of a ranking question, or ("", "best")."""
    match = _RANK.search(text)
    if match is None:
        return "", "best"
    end = next((name for name in ("best", "worst", "high", "low") if match.group(name)), "best")
    if split_by:
        return split_by[0], end  # "best num_ctx for gemma3:270m": the levels of that key
    if _CONFIG_WORDS.search(text) or (len(models) == 1 and not _MODEL_WORD.search(text)):
        return "configs", end  # "which configuration is fastest for q8_0"
    return "models", end


def config_levels(configs: Sequence[str]) -> dict[str, list[str]]:
    """``num_ctx=1024,temperature=0.2`` strings -> {key: [values as written, sorted]}."""
    levels: dict[str, set[str]] = {}
    for config in configs:
        for key, value in Config.parse(str(config)).trimmed().items:
            if value is not None and key:
                levels.setdefault(key, set()).add(value)
    return {k: sorted(v, key=_sort_key) for k, v in sorted(levels.items())}


def _sort_key(value: str) -> tuple[int, float, str]:
    number = _number(value)
    return (0, number, "") if number is not None else (1, 0.0, value)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _find_words(lowered: str, words: dict[str, str]) -> list[str]:
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for phrase in sorted(words, key=len, reverse=True):
        pattern = r"(?<![\w/])" + re.escape(phrase) + r"(?![\w/])"
        for match in re.finditer(pattern, lowered):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue  # part of a longer phrase already read ("first token" in "time to …")
            taken.append((match.start(), match.end()))
            found.append((match.start(), words[phrase]))
    out: list[str] = []
    for _pos, name in sorted(found):
        if name not in out:
            out.append(name)
    return out


def _find_config(text: str, levels: dict[str, list[str]]
                 ) -> tuple[list[tuple[str, str]], list[str], list[tuple[int, int]], list[str]]:
    filters: list[tuple[str, str]] = []
    split_by: list[str] = []
    spans: list[tuple[int, int]] = []
    problems: list[str] = []
    for key, values in levels.items():
        spellings = [re.escape(key).replace(r"_", r"[_ ]?")]
        if key == "num_ctx":
            spellings += [re.escape(a) for a in _CONTEXT_ALIASES]
        key_re = r"(?<![\w])(?:" + "|".join(spellings) + r")(?![\w])"
        number = r"(-?\d+(?:\.\d+)?)(?![\w.])"
        after = re.compile(key_re + r"\s*(?:=|:|of|at|is)?\s*" + number, re.IGNORECASE)
        before = re.compile(r"(?<![\w.])" + number + r"\s*(?:" + "|".join(spellings) + r")(?![\w])",
                            re.IGNORECASE) if key == "num_ctx" else None
        matches = [(m.start(), m.end(), m.group(1)) for m in after.finditer(text)]
        if before is not None:
            matches += [(m.start(), m.end(), m.group(1)) for m in before.finditer(text)]
        matches += _word_levels(text, key_re, values)
        for start, end, raw in matches:
            spans.append((start, end))
            value = _match_level(raw, values)
            if value is None:
                problems.append(f"I don't see {key}={raw} in this run; its values are "
                                f"{', '.join(values)}.")
            elif (key, value) not in filters:
                filters.append((key, value))
        if not matches:
            bare = re.compile(key_re, re.IGNORECASE)
            for m in bare.finditer(text):
                spans.append((m.start(), m.end()))
                if key not in split_by and (key == "num_ctx" or re.search(r"_", key) or len(key) > 3):
                    split_by.append(key)
    return filters, split_by, spans, problems


def _word_levels(text: str, key_re: str, values: Sequence[str]) -> list[tuple[int, int, str]]:
    """``backends ROCm`` / ``build=llama.cpp-hip``: a setting whose values are words, not numbers."""
    words = sorted((v for v in values if v and _number(v) is None), key=len, reverse=True)
    if not words:
        return []
    pattern = re.compile(key_re + r"\s*(?:=|:|of|at|is)?\s*(" + "|".join(re.escape(w) for w in words)
                         + r")(?![\w.\-])", re.IGNORECASE)
    return [(m.start(), m.end(), m.group(1)) for m in pattern.finditer(text)]


def _match_level(raw: str, values: Sequence[str]) -> str | None:
    wanted = _number(raw)
    for value in values:
        if value == raw or (wanted is not None and _number(value) == wanted):
            return value
    for value in values:
        if value.lower() == raw.lower():
            return value
    return None


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _find_models(text: str, models: Sequence[str], *, reserved: set[str]) -> tuple[list[str], list[str]]:
    """Models the question names, and references that look like model names but match none.

    Adjacent references narrow each other ("gemma3 1b" is gemma3:1b); separate ones add up
    ("1b vs q8_0" is every 1b model and the q8_0 one).
    """
    references: list[set[str]] = []
    unknown: list[str] = []
    last_end = -1
    for match in _TOKEN.finditer(text):
        token = match.group(0).strip(".-/:")
        low = token.lower()
        if not low or low in reserved or low.isdigit():
            continue
        hits = {m for m in models if _refers_to(low, m.lower())}
        if hits and (len(low) >= 4 or any(c.isdigit() for c in low) or ":" in low):
            adjacent = last_end >= 0 and not text[last_end:match.start()].strip()
            if adjacent and references and references[-1] & hits:
                references[-1] &= hits
            else:
                references.append(hits)
            last_end = match.end()
        elif not hits and _MODELISH.match(token) and token not in unknown:
            unknown.append(token)
    chosen = set().union(*references) if references else set()
    return [m for m in models if m in chosen], unknown


def _refers_to(token: str, model: str) -> bool:
    if token == model:
        return True
    start = 0
    while (at := model.find(token, start)) != -1:
        end = at + len(token)
        left_ok = at == 0 or model[at - 1] in _BOUNDARY
        right_ok = end == len(model) or model[end] in _BOUNDARY
        # a family name without its version ("gemma" for "gemma3:1b")
        family = at == 0 and token.isalpha() and len(token) >= 4 and model[end:end + 1].isdigit()
        if left_ok and (right_ok or family):
            return True
        start = at + 1
    return False


# --- computing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    model: str
    config: tuple[tuple[str, str], ...]  # filters + split level, in key order
    rows: pd.DataFrame  # every request of the group, failed ones included
    focus: bool = False  # the level the question names (compared against the others)

    @property
    def label(self) -> str:
        where = self.config_text
        return f"{self.model} ({where})" if where else self.model

    @property
    def config_text(self) -> str:
        return Config.from_pairs(self.config).key


def compute(question: str, measurements: pd.DataFrame, *, first_id: int = 1) -> Computation:
    """Parse ``question`` against the run's data and compute what it asks as facts ``Q<n>``.

    Never raises for an odd question: what cannot be computed becomes a note.
    """
    requests = request_frame(measurements)
    models = sorted(requests["model"].unique()) if not requests.empty else []
    configs = _settings(requests)
    query = parse_question(question, models=models, configs=configs)
    result = Computation(query=query, notes=list(query.problems))
    if query.problems or not query.wants_numbers:
        return result
    if requests.empty:
        result.notes.append("This run has no per-request LLM measurements to compute from.")
        return result
    if query.rank:
        return _rank(requests, query, measurements, first_id, result)
    groups = _groups(requests, query)
    if not groups:
        result.notes.append(f"No requests in this run match {_describe_filters(query)}.")
        return result
    if len(groups) > MAX_GROUPS:
        result.notes.append(f"Showing the first {MAX_GROUPS} of {len(groups)} groups; ask about fewer "
                            "models or configurations for the rest.")
        groups = groups[:MAX_GROUPS]
    # A bare "how many failed for llama?" asks for counts, not for every statistic.
    metrics = list(query.metrics) or ([] if query.failures else ["throughput_tok_s", "ttft_ms"])
    stats = list(query.statistics) or ["median"]
    builder = _FactBuilder(first_id, measurements)
    for metric in metrics:
        for stat in stats:
            values: list[tuple[_Group, Fact]] = []
            for group in groups:
                fact = builder.statistic(group, metric, stat, cold=query.cold)
                if fact is None:
                    result.notes.append(f"No {_label(metric)} values for {group.label}{_cold_words(query.cold)}.")
                else:
                    values.append((group, fact))
            if query.compare:
                builder.differences(values, metric, stat, cold=query.cold)
    if query.failures:
        for group in groups:
            builder.failures(group)
    if query.cold != "include" or _COLD.search(question or ""):
        for group in groups:
            builder.cold_starts(group)
    result.facts = builder.facts[:MAX_FACTS]
    return result


def _rank(requests: pd.DataFrame, query: Query, measurements: pd.DataFrame, first_id: int,
          result: Computation) -> Computation:
    """A ranking question: rank the configurations, a key's levels or the models by one statistic."""
    metric = query.metrics[0] if query.metrics else "throughput_tok_s"
    stat = query.statistics[0] if query.statistics else "median"
    groups = _ranked_groups(requests, query)
    if not groups:
        result.notes.append(f"No requests in this run match {_describe_filters(query)}.")
        return result
    builder = _FactBuilder(first_id, measurements)
    scopes: dict[str, list[_Group]] = {}
    for group in groups:
        scopes.setdefault("" if query.rank == "models" else group.model, []).append(group)
    for model, candidates in scopes.items():
        builder.ranking(model, candidates, metric, stat, query, result.notes)
    result.facts = builder.facts[:MAX_FACTS]
    return result


def _ranked_groups(requests: pd.DataFrame, query: Query) -> list[_Group]:
    if query.rank == "models":
        return _groups(requests, replace(query, split_by=()))
    if query.rank != "configs":
        return _groups(requests, replace(query, split_by=(query.rank,)))
    rows = requests.loc[requests["model"].isin(query.models)] if query.models else requests
    for key, value in query.config:
        rows = rows.loc[rows["context"].map(lambda c, k=key: _param(c, k)) == value]
    out = []
    for (model, config), part in rows.groupby(["model", "config"], sort=True):
        pairs = tuple((k, v) for k, v in Config.parse(str(config)).trimmed().items if v is not None)
        out.append(_Group(str(model), pairs, part))
    return out


def _groups(requests: pd.DataFrame, query: Query) -> list[_Group]:
    rows = requests
    if query.models:
        rows = rows.loc[rows["model"].isin(query.models)]
    for key, value in query.config:
        rows = rows.loc[rows["context"].map(lambda c, k=key: _param(c, k)) == value]
    split = list(query.split_by)
    # "why is TTFT worse for 1b at num_ctx 4096?": compare the named level with the others
    focus_keys = [key for key, _ in query.config] if query.compare and not split else []
    if focus_keys:
        rows = requests.loc[requests["model"].isin(query.models)] if query.models else requests
        for key, value in query.config[1:]:
            rows = rows.loc[rows["context"].map(lambda c, k=key: _param(c, k)) == value]
        split = [focus_keys[0]]
    fixed = tuple((k, v) for k, v in query.config if k not in split)
    out: list[_Group] = []
    for model, by_model in rows.groupby("model", sort=True):
        if not split:
            out.append(_Group(str(model), fixed, by_model))
            continue
        keys = by_model["context"].map(lambda c: tuple(_param(c, k) for k in split))
        for level, part in by_model.groupby(keys, sort=False):
            if any(v == "" for v in level):
                continue
            config = tuple(sorted(fixed + tuple(zip(split, level, strict=True))))
            focus = bool(focus_keys) and (focus_keys[0], level[0]) in query.config
            out.append(_Group(str(model), config, part, focus=focus))
    # the named level first, then the others in numeric order of their values
    return sorted(out, key=lambda g: (g.model, not g.focus, [_sort_key(v) for _, v in g.config]))


def _param(context: str, key: str) -> str:
    """A setting of a request, from its whole context ('' when it does not record it)."""
    return decode(str(context)).get(key, "")


def _settings(requests: pd.DataFrame) -> list[str]:
    """Every distinct context as a configuration text (path parts left out: not settings to ask about)."""
    if requests.empty:
        return []
    texts = set()
    for context in set(requests["context"]):
        dims = {k: v for k, v in decode(str(context)).items() if k not in PATH_DIMENSIONS}
        texts.add(Config.from_context(dims).text)
    return sorted(texts)


def pooled_words(rows: pd.DataFrame) -> str:
    """', pooled over 6 configurations that differ in n_depth, file' when the rows span several."""
    if "config" not in rows or rows["config"].nunique() < 2:
        return ""
    contexts = [decode(str(c)) for c in set(rows["context"])]
    names = sorted({k for c in contexts for k in c})
    differing = [k for k in names if len({c.get(k) for c in contexts}) > 1]
    return (f", pooled over {rows['config'].nunique()} configurations that differ in "
            f"{', '.join(differing) or 'configuration'} (as asked)")


def _used(group: _Group, metric: str, cold: str) -> pd.DataFrame | None:
    """The group's successful requests (cold starts as asked) that have ``metric``; None without it."""
    ok = group.rows.loc[~group.rows["failed"].astype(bool)]
    if cold == "exclude":
        ok = ok.loc[~ok["cold_start"].astype(bool)]
    elif cold == "only":
        ok = ok.loc[ok["cold_start"].astype(bool)]
    if metric not in ok.columns:
        return None
    return ok.loc[ok[metric].notna()]


def _noise(a: pd.DataFrame | None, b: pd.DataFrame | None, metric: str) -> tuple[bool, str]:
    """(significant, verdict in words) of a Welch t-test of ``metric`` between two groups' requests."""
    if a is None or b is None:
        return False, "not separable from noise (no values)"
    p, method = welch(a[metric], b[metric])
    if p is None:
        return False, f"not separable from noise ({method})"
    significant = p < SIGNIFICANCE and len(a) >= 2 and len(b) >= 2
    return significant, f"{'exceeds' if significant else 'within'} the noise ({method}, p={p:.2g})"




def _describe_filters(query: Query) -> str:
    parts = [", ".join(query.models)] if query.models else []
    parts += [Config.from_pairs([pair]).key for pair in query.config]
    return " with ".join(parts) or "the question"


def _label(metric: str) -> str:
    """'TTFT' stays; 'Latency' reads 'latency' mid-sentence."""
    label = METRICS[metric].label if metric in METRICS else metric
    return label if label.isupper() else label.lower()


def _cold_words(cold: str) -> str:
    return {"exclude": " without cold starts", "only": " (cold starts only)"}.get(cold, "")


class _FactBuilder:
    def __init__(self, first_id: int, measurements: pd.DataFrame) -> None:
        self.facts: list[Fact] = []
        self._next = first_id
        self._measurements = measurements

    def _add(self, statement: str, value: float, unit: str, sources: Sequence[str], *, model: str = "",
             config: str = "", metric: str = "", rows: int | None = None) -> Fact:
        fact = Fact(id=f"Q{self._next}", statement=statement, value=float(value), unit=unit,
                    sources=tuple(sorted(set(sources))), importance=FACT_IMPORTANCE, model=model,
                    config=config, metric=metric, rows=rows)
        self._next += 1
        self.facts.append(fact)
        return fact

    def statistic(self, group: _Group, metric: str, stat: str, *, cold: str) -> Fact | None:
        used = _used(group, metric, cold)
        if used is None:
            return None
        value = statistic(used[metric], stat)
        if value is None:
            return None
        label, unit = _label(metric), METRICS[metric].unit if metric in METRICS else ""
        who = {"include": "successful requests, cold starts included",
               "exclude": "successful requests, cold starts excluded",
               "only": "successful cold-start requests only"}[cold]
        if "kind" in used and len(used) and (used["kind"] == "sample").all():
            who = "benchmark samples (repetitions of the tool's test)"
        statement = (f"{_STAT_LABELS.get(stat, stat)} {label} of {group.label} over {len(used)} {who}"
                     f"{pooled_words(used)}")
        notes = self._definitions(metric, used)
        if notes:
            statement += f" ({notes})"
        return self._add(statement + ".", value, unit, used["source"], model=group.model,
                         config=group.config_text, metric=metric, rows=len(used))

    def _definitions(self, metric: str, used: pd.DataFrame) -> str:
        parts: list[str] = []
        if metric == "latency_ms" and "latency_definition" in used and (used["latency_definition"] != "").any():
            parts.append("latency derived as TTFT + eval where the files record no latency")
        m = self._measurements
        ids = set(used["request_id"])
        defs = m.loc[(m["metric"] == metric) & m["request_id"].isin(ids), "definition"]
        stated = sorted({str(d) for d in defs if str(d).strip()})
        if stated:
            parts.append(f"{_label(metric)} as the files define it: "
                         + "; ".join(d[:120] for d in stated[:2]))
        return "; ".join(parts)

    def differences(self, values: list[tuple[_Group, Fact]], metric: str, stat: str, *, cold: str = "include") -> None:
        if len(values) < 2:
            return
        focus = [gv for gv in values if gv[0].focus]
        pairs = ([(focus[0], other) for other in values if other is not focus[0]] if focus
                 else [(values[0], other) for other in values[1:]])
        for (ga, fa), (gb, fb) in pairs:
            if fb.value == 0:
                continue
            change = 100.0 * (fa.value - fb.value) / abs(fb.value)
            word = "higher" if change >= 0 else "lower"
            self._add(f"{_STAT_LABELS.get(stat, stat)} {_label(metric)} of {ga.label} is {abs(change):.1f}% {word} "
                      f"than {gb.label} ({stated(fa.value, fa.unit)} vs {stated(fb.value, fb.unit)}); "
                      f"{_noise(_used(ga, metric, cold), _used(gb, metric, cold), metric)[1]}.",
                      change, "%", (*fa.sources, *fb.sources),
                      model=ga.model if ga.model == gb.model else "", metric=metric)

    def ranking(self, model: str, groups: list[_Group], metric: str, stat: str, query: Query,
                notes: list[str]) -> None:
        """Rank ``groups`` by ``stat`` of ``metric``: the leader against the runner-up, with the noise test."""
        what = ("models" if query.rank == "models" else "configurations" if query.rank == "configs"
                else f"{query.rank} levels")
        scored = []
        for group in groups:
            used = _used(group, metric, query.cold)
            value = statistic(used[metric], stat) if used is not None else None
            if used is not None and value is not None:
                scored.append((value, group, used))
        where = f" of {model}" if model else ""
        if len(scored) < 2:
            only = scored[0][1].label if scored else "none with values"
            notes.append(f"Only one {what[:-1]}{where} has {_label(metric)} values in this run ({only}): "
                         "there is nothing to rank it against.")
            for _value, group, _used_rows in scored:
                self.statistic(group, metric, stat, cold=query.cold)
            return
        higher_better = METRICS[metric].higher_is_better if metric in METRICS else True
        high_first = {"best": higher_better, "worst": not higher_better, "high": True, "low": False}[query.rank_end]
        scored.sort(key=lambda item: item[0], reverse=high_first)
        (v1, g1, u1), (v2, g2, u2) = scored[0], scored[1]
        significant, verdict = _noise(u1, u2, metric)
        end = {"best": "Best", "worst": "Worst", "high": "Highest", "low": "Lowest"}[query.rank_end]
        unit = METRICS[metric].unit if metric in METRICS else ""
        gap = abs(v1 - v2)
        pct = f" ({100 * gap / abs(v2):.1f}%)" if v2 else ""
        name = (lambda g: g.model) if query.rank == "models" else (lambda g: g.config_text or "(no configuration)")
        fact = self._add(
            f"{end} of {len(scored)} {what}{where} by {_STAT_LABELS.get(stat, stat)} {_label(metric)}: {name(g1)} at "
            f"{stated(v1, unit)} (n={len(u1)}); runner-up {name(g2)} at {stated(v2, unit)} (n={len(u2)}); gap "
            f"{stated(gap, unit)}{pct}, {verdict}.", v1, unit, (*u1["source"], *u2["source"]),
            model=model or g1.model, config=g1.config_text, metric=metric, rows=len(u1) + len(u2))
        for _value, group, _used_rows in scored[:RANKED_FACTS]:  # the leaders' own figures
            self.statistic(group, metric, stat, cold=query.cold)
        if all(len(used) == 1 for _v, _g, used in scored):
            notes.append(f"Every one of the {len(scored)} {what}{where} has a single successful request, so none "
                         f"is demonstrably {end.lower()}: one request per side cannot be told apart from noise "
                         f"[{fact.id}].")
        elif not significant:
            notes.append(f"No {what[:-1]}{where} is demonstrably {end.lower()}: the leader's margin over the "
                         f"runner-up is within the noise [{fact.id}].")

    def failures(self, group: _Group) -> None:
        failed = group.rows["failed"].astype(bool)
        total, n_failed = len(group.rows), int(failed.sum())
        self._add(f"{n_failed} of {total} requests of {group.label} failed and are excluded from "
                  "every statistic.", n_failed, "requests", group.rows["source"], model=group.model,
                  config=group.config_text, metric="failed_requests", rows=total)

    def cold_starts(self, group: _Group) -> None:
        ok = group.rows.loc[~group.rows["failed"].astype(bool)]
        cold = int(ok["cold_start"].astype(bool).sum())
        self._add(f"{cold} of {len(ok)} successful requests of {group.label} were cold starts (the "
                  "model had to be loaded).", cold, "requests", group.rows["source"], model=group.model,
                  config=group.config_text, metric="cold_starts", rows=len(ok))
