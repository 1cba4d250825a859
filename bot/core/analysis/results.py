"""What an analysis yields: per-model statistics, configuration comparisons and the whole `Analysis`.

Plain data, kept apart from the code that computes it: `bot.core.analysis.facts` reads an
`Analysis`, and `bot.core.analysis` imports the fact builder at the top, without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.claims import ClaimCheck
from bot.core.analysis.groups import ValueIndex
from bot.core.analysis.rankings import RankingCheck
from bot.core.analysis.requests import is_text, text_column
from bot.core.codes import column_array
from bot.core.types import Fact


@dataclass(frozen=True)
class RollUp:
    """What a model-level figure pools: its configurations and the dimensions they differ in."""

    configurations: int
    varying: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def pooled(self) -> bool:
        return self.configurations > 1

    def words(self) -> str:
        """'over 6 configurations that differ in file, n_depth' ('' when there is one)."""
        if not self.pooled:
            return ""
        return f"over {self.configurations} configurations that differ in {', '.join(self.key or self.varying)}"

    def to_json(self) -> dict[str, Any]:
        return {"configurations": self.configurations, "varying": list(self.varying), "key": list(self.key),
                "pooled": self.pooled}


@dataclass
class ModelStats:
    """A model's figures over all its requests and samples: a roll-up over its configurations
    (``rollups`` says, per metric, how many and what tells them apart)."""

    model: str
    requests: int
    n: int  # successful requests: the ones statistics are computed from
    failed: int
    cold_starts: int
    throughput_tok_s: dict[str, Any]
    ttft_ms: dict[str, Any]
    ttft_warm_ms: dict[str, Any]
    latency_ms: dict[str, Any]
    latency_definition: str
    ttft_definitions: tuple[str, ...]  # what TTFT means in the files it came from (several = not comparable)
    failure_reasons: dict[str, int]
    sources: tuple[str, ...]
    samples: int = 0  # how many of ``requests`` are benchmark samples (repetitions), not requests
    rollups: dict[str, RollUp] = field(default_factory=dict)  # metric -> what its model-level figure spans

    def rollup(self, metric: str) -> RollUp:
        return self.rollups.get(metric, RollUp(1, (), ()))


@dataclass
class ConfigComparison:
    """Best vs worst configuration of one model by median throughput (``metric``)."""

    model: str
    parameter: str  # '' for whole configurations
    best: str
    worst: str
    best_median: float
    worst_median: float
    n_best: int
    n_worst: int
    p_value: float | None
    method: str
    significant: bool
    sources: tuple[str, ...]
    metric: str = "throughput_tok_s"
    configurations: int = 2


@dataclass
class Analysis:
    # one row per request (see requests.request_frame). request_id, source, model, config, error,
    # kind, context and latency_definition are categoricals sharing the measurement frame's
    # categories (test a kind with `requests.is_text`): they read,
    # compare and group as text, but assigning a new text raises, value_counts lists unused
    # categories, and request_id's category order is not text order (sort by its texts).
    requests: pd.DataFrame
    models: list[ModelStats]
    configs: pd.DataFrame  # model, config, n, median/mean/std throughput, ttft p50
    comparisons: list[ConfigComparison]
    generic: pd.DataFrame  # non-LLM measurements
    aggregates: pd.DataFrame  # tool-reported aggregates (llama-bench avg_ts, vLLM without per-request data)
    claim_checks: list[ClaimCheck]
    claims_unverifiable: int
    # per (model, metric, config, kind) statistics of requests and samples (groups.config_groups)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    # (model, metric) -> bot.core.dimensions.Dimensions
    dimensions: dict[tuple[str, str], Any] = field(default_factory=dict)
    measurements: pd.DataFrame = field(default_factory=pd.DataFrame)  # long frame, models as grouped
    # (model, metric, config) -> successful values (groups.ValueIndex), for noise tests
    values: ValueIndex | None = None
    rankings: list[RankingCheck] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    def _is_kind(self, kind: str) -> np.ndarray:
        """Which requests are of ``kind`` (the counts below read masks, not frames of the rows)."""
        if self.requests.empty or "kind" not in self.requests:
            return np.ones(len(self.requests), dtype=bool)
        return is_text(text_column(self.requests, "kind"), kind)

    def _tool_count(self, metric: str) -> int:
        m = self.aggregates
        if m.empty:
            return 0
        wanted = ((m["metric"] == metric) & (m["statistic"] == "count")).to_numpy(dtype=bool)
        values = column_array(m, "value", dtype="float64")[wanted]
        return int(np.where(np.isnan(values), 0.0, values).sum())

    @property
    def tool_completed(self) -> int:
        """Requests a tool counted as completed in runs it saved no per-request rows for."""
        return self._tool_count("requests_completed")

    @property
    def tool_failed(self) -> int:
        """Requests a tool counted as failed in runs it saved no per-request rows for."""
        return self._tool_count("requests_failed")

    @property
    def total(self) -> int:
        """LLM requests: per-request rows plus the requests tools counted without saving rows."""
        return int(self._is_kind("request").sum()) + self.tool_completed + self.tool_failed

    @property
    def failed(self) -> int:
        requests = self._is_kind("request")
        own = int((requests & column_array(self.requests, "failed", dtype=bool)).sum()) if requests.any() else 0
        return own + self.tool_failed

    @property
    def samples(self) -> int:
        """Benchmark samples (repetitions of a tool's test, e.g. llama-bench), not requests."""
        return int(self._is_kind("sample").sum())
