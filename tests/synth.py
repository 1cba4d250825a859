"""Seeded generator of realistic synthetic per-request LLM benchmark measurements.

`synth_archive` returns a tidy frame with exactly the columns of `bot.core.types.MEASUREMENT_COLUMNS`,
as ingest would produce for one benchmark archive: per model and configuration, ``n_requests``
requests, each giving one ``throughput_tok_s`` row and one ``ttft_ms`` row.

Noise model (chosen to look like a real nightly run on one machine):
- per-request throughput is lognormal around the model's median with 2-4 % spread (per model);
- TTFT is lognormal with ~8 % spread; the first request of a (model, config) is usually a cold
  start (model load: 8-25x TTFT) and any later request is one with a small probability;
- every archive gets its own small systematic offset (a run on a slightly warmer/cooler machine):
  0.7 % for throughput, 2 % for TTFT, i.e. archives of the same build do not share a mean;
- a few requests fail; failed rows carry value 0.0 and ``failed=True`` (they must never count).

The same ``(seed, archive)`` always yields the same frame; different ``archive`` indices give
independent runs, so ``archive=0`` / ``archive=1`` form a baseline/current pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.core.types import MEASUREMENT_COLUMNS


@dataclass(frozen=True)
class SynthModel:
    name: str
    throughput_tok_s: float  # median
    throughput_cv: float  # per-request spread (log-sd)
    ttft_ms: float  # median, warm


DEFAULT_MODELS: tuple[SynthModel, ...] = (
    SynthModel("gemma3:4b", 62.0, 0.02, 180.0),
    SynthModel("llama3.1:8b", 41.0, 0.03, 260.0),
    SynthModel("qwen2.5:14b", 24.0, 0.04, 420.0),
)
DEFAULT_CONFIGS: tuple[str, ...] = (
    "num_ctx=2048,num_gpu=999,temperature=0.2",
    "num_ctx=8192,num_gpu=999,temperature=0.2",
)
TTFT_CV = 0.08
RUN_OFFSET_THROUGHPUT = 0.007
RUN_OFFSET_TTFT = 0.02
FIRST_REQUEST_COLD_P = 0.7
LATER_COLD_P = 0.02


def synth_archive(
    seed: int,
    *,
    archive: int = 0,
    models: Sequence[SynthModel] = DEFAULT_MODELS,
    configs: Sequence[str] = DEFAULT_CONFIGS,
    n_requests: int = 30,
    failure_rate: float = 0.03,
    throughput_factor: Mapping[str, float] | None = None,
    ttft_factor: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One archive's tidy measurements.

    ``throughput_factor`` / ``ttft_factor`` map a model name to a multiplier of its true median
    (0.8 = a 20 % throughput regression, 1.5 = 50 % slower TTFT), to inject known changes.
    """
    rng = np.random.default_rng([seed, archive])
    throughput_factor = dict(throughput_factor or {})
    ttft_factor = dict(ttft_factor or {})
    tp_offset = float(np.exp(rng.normal(0.0, RUN_OFFSET_THROUGHPUT)))
    ttft_offset = float(np.exp(rng.normal(0.0, RUN_OFFSET_TTFT)))
    records: list[dict[str, object]] = []
    for model in models:
        source = f"results/{model.name.replace(':', '_')}.jsonl"
        tp_median = model.throughput_tok_s * throughput_factor.get(model.name, 1.0) * tp_offset
        ttft_median = model.ttft_ms * ttft_factor.get(model.name, 1.0) * ttft_offset
        row = 0  # record index inside this model's results file
        for config in configs:
            # A larger context costs a little throughput and TTFT, as it does on real hardware.
            ctx_cost = 1.0 + 0.04 * configs.index(config)
            throughput = tp_median / ctx_cost * np.exp(rng.normal(0.0, model.throughput_cv, n_requests))
            ttft = ttft_median * ctx_cost * np.exp(rng.normal(0.0, TTFT_CV, n_requests))
            cold = rng.random(n_requests) < LATER_COLD_P
            cold[0] = rng.random() < FIRST_REQUEST_COLD_P
            ttft = np.where(cold, ttft * rng.uniform(8.0, 25.0, n_requests), ttft)
            failed = rng.random(n_requests) < failure_rate
            for i in range(n_requests):
                request_id = f"{source}#{row}"
                for metric, value, unit, definition in (
                    ("throughput_tok_s", throughput[i], "tok/s", ""),
                    ("ttft_ms", ttft[i], "ms", "request to first streamed token"),
                ):
                    records.append(
                        {
                            "request_id": request_id,
                            "source": source,
                            "row": row,
                            "model": model.name,
                            "config": config,
                            "metric": metric,
                            "value": 0.0 if failed[i] else float(value),
                            "unit": unit,
                            "failed": bool(failed[i]),
                            "error": "timeout after 120 s" if failed[i] else "",
                            "kind": "request",
                            "definition": definition,
                        }
                    )
                row += 1
    frame = pd.DataFrame.from_records(records, columns=list(MEASUREMENT_COLUMNS))
    return frame.astype({"row": "int64", "value": "float64", "failed": "bool"})


def synth_history(
    seed: int, *, digests: int, first_archive: int = 100, **kwargs: object
) -> list[pd.DataFrame]:
    """``digests`` earlier archives (independent runs of the same build) for history tests."""
    return [
        synth_archive(seed, archive=first_archive + i, **kwargs)  # type: ignore[arg-type]
        for i in range(digests)
    ]
