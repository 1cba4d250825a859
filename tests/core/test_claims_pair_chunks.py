"""`claims._pair_statistics` takes the pairs' values a chunk of ~2^15 rows at a time: each pair's
count and statistic are its own values' (`_np_statistics`), whichever chunk it falls in, for pairs
of 0 and 1 rows, around the chunk size and past it, of two metrics side by side (the claims review
of round 8 found no test crossing a chunk's end: dropping its `+ 1` made such a pair's chunk empty)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from bot.core.analysis.claims import _np_statistics, _pair_statistics

_SIZES = [0, 1, (1 << 15) - 1, 1 << 15, (1 << 15) + 1, 40_000, 3, 0, 1 << 15]


@pytest.mark.parametrize("name", ["mean", "median", "p95", "std", "max"])
def test_each_pairs_figures_are_its_own_values_across_chunk_ends(name: str) -> None:
    rng = np.random.default_rng(15)
    total = sum(_SIZES)
    columns = {"ttft_ms": rng.normal(100.0, 10.0, total), "tokens_s": rng.normal(50.0, 5.0, total)}
    columns["ttft_ms"][::97] = np.nan  # (not finite: not counted)
    columns["tokens_s"][::89] = np.inf
    rows = rng.permutation(total)
    pairs: list[Any] = []
    at = 0
    for i, size in enumerate(_SIZES):
        metric = ("ttft_ms", "tokens_s", "tokens_s")[i % 3]  # (a chunk of one metric, and of both)
        pairs.append((SimpleNamespace(rows=rows[at:at + size]), metric))  # (a scope's rows: all it reads)
        at += size
    _assert_each_pairs_figures_are_its_own(pairs, name, columns)


@pytest.mark.parametrize("name", ["mean", "std", "min"])
def test_many_small_pairs_of_interleaved_metrics_keep_their_order(name: str) -> None:
    """A chunk of several metrics is reduced a metric at a time and its figures put back in the pairs'
    order: each pair's figures are still its own (sizes repeated, so blocks of one size are reduced
    together, and metrics in random order)."""
    rng = np.random.default_rng(16)
    metrics = ["ttft_ms", "tokens_s", "load_ms"]
    columns = {metric: rng.normal(100.0, 10.0, 5000) for metric in metrics}
    columns["load_ms"][::7] = np.nan
    for _ in range(20):
        pairs: list[Any] = [(SimpleNamespace(rows=rng.integers(0, 5000, int(rng.integers(0, 4)))),
                             metrics[int(rng.integers(0, 3))]) for _ in range(int(rng.integers(1, 200)))]
        _assert_each_pairs_figures_are_its_own(pairs, name, columns)


def _assert_each_pairs_figures_are_its_own(pairs: list[Any], name: str, columns: dict[str, np.ndarray]) -> None:
    """`_pair_statistics` gives each pair the count and statistic of its own finite values."""
    figures = _pair_statistics(pairs, name, columns.__getitem__)
    assert len(figures) == len(pairs)
    for (scope, metric), (count, statistics) in zip(pairs, figures, strict=True):
        values = columns[metric][scope.rows]
        values = values[np.isfinite(values)]
        assert count == len(values)
        assert statistics == _np_statistics(values, name), (len(scope.rows), metric)
