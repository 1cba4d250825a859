"""Test support for news: seeded archives as labelled snapshots, and edits that inject news."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.core.news import News, Snapshot, build_news
from tests.synth import DEFAULT_CONFIGS, DEFAULT_MODELS, synth_archive

GEMMA, LLAMA, QWEN = (m.name for m in DEFAULT_MODELS)
CTX2K, CTX8K = DEFAULT_CONFIGS


def history(seed: int = 5, runs: int = 6, **kwargs: object) -> list[Snapshot]:
    return [Snapshot(f"nightly/{i:02d}", synth_archive(seed, archive=i, **kwargs))  # type: ignore[arg-type]
            for i in range(runs)]


def newest(seed: int = 5, **kwargs: object) -> Snapshot:
    return Snapshot("nightly/99", synth_archive(seed, archive=99, **kwargs))  # type: ignore[arg-type]


def news_of(current: Snapshot, earlier: list[Snapshot] | None = None) -> News:
    return build_news(current, history() if earlier is None else earlier)


def kinds(news: News) -> list[str]:
    return [item.kind for item in news.items]


def with_frame(snapshot: Snapshot, frame: pd.DataFrame) -> Snapshot:
    return Snapshot(snapshot.label, frame.reset_index(drop=True))


def failing(frame: pd.DataFrame, model: str, fraction: float, *, seed: int = 0) -> pd.DataFrame:
    """``fraction`` of ``model``'s requests failed (zeros with an error), the rest untouched."""
    out = frame.copy()
    ids = sorted(out.loc[out["model"] == model, "request_id"].unique())
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(ids, size=round(fraction * len(ids)), replace=False))
    hit = out["request_id"].isin(chosen)
    out.loc[hit, "failed"] = True
    out.loc[hit, "value"] = 0.0
    out.loc[hit, "error"] = "HTTP 500: out of memory"
    return out
