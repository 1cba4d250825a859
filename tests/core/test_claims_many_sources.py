"""`_source_statistics` of many sources at once (a real archive's claims ask for ~500): each source gets
its own figures, those of its values alone."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.analysis.claims import _np_statistics, _source_statistics


@pytest.mark.parametrize("sources", [64, 65, 500])
@pytest.mark.parametrize("name", ["mean", "std", "min", "p95"])
def test_many_sources_each_get_their_own_figures(sources: int, name: str) -> None:
    rng = np.random.default_rng(sources)
    # mostly one value each (a real archive's one-file scopes), some none, a few of several sizes
    counts = rng.choice([0, 1, 1, 1, 1, 2, 5, 36], size=sources).tolist()
    values = rng.normal(50.0, 20.0, size=sum(counts))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()
    found = _source_statistics(values, counts, starts, name)
    assert found == [_np_statistics(values[s:s + c].copy(), name) if c else [] for s, c in zip(starts, counts,
                                                                                               strict=True)]


def test_no_source_with_values() -> None:
    assert _source_statistics(np.empty(0), [0] * 100, [0] * 100, "mean") == [[]] * 100
