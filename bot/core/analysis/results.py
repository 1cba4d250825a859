"""What an analysis yields: per-model statistics, configuration comparisons and the whole `Analysis`.

Plain data, kept apart from the code that computes it: `bot.core.analysis.facts` reads an
`Analysis`, and `bot.core.analysis` imports the fact builder at the top, without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bot.core.analysis.claims import ClaimCheck
from bot.core.types import Fact


@dataclass
class ModelStats:
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


@dataclass
class ConfigComparison:
    """Best vs worst configuration of one model (or one parameter's levels) by median throughput."""

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


@dataclass
class Analysis:
    requests: pd.DataFrame  # one row per request (see requests.request_frame)
    models: list[ModelStats]
    configs: pd.DataFrame  # model, config, n, median/mean/std throughput, ttft p50
    comparisons: list[ConfigComparison]
    generic: pd.DataFrame  # non-LLM measurements
    aggregates: pd.DataFrame  # tool-reported aggregates (llama-bench avg_ts, vLLM without per-request data)
    claim_checks: list[ClaimCheck]
    claims_unverifiable: int
    facts: list[Fact] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def failed(self) -> int:
        return int(self.requests["failed"].astype(bool).sum()) if not self.requests.empty else 0
