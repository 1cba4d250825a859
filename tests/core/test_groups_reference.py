"""`config_groups` against plain pandas, group by group: its statistics are worked out a pass of rows
(`groups._PASS`) and a block of groups (`groups._BLOCK`) at a time, from each group's number only
(no mask of failed rows, no label per row is kept), so every figure is checked here against a
groupby of the group's own rows, whatever the pass and block sizes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bot.core.analysis import groups as groups_module
from bot.core.analysis.groups import GROUP_KEYS, config_groups, with_group_model
from bot.core.analysis.requests import RequestRows, request_frame
from tests.core.test_analysis_shortcuts import _frame


def _reference(measurements: pd.DataFrame, cold: set[str]) -> dict[tuple[str, ...], dict[str, float]]:
    """Per group (its keys as texts), n, failed, min, max, median, p95, mean, std, warm_n and
    warm_median, from a pandas groupby of its rows."""
    rows = measurements.loc[measurements["kind"].astype(str).isin(["request", "sample"])].copy()
    for name in (*GROUP_KEYS, "request_id"):
        rows[name] = rows[name].astype(str)
    out = {}
    for key, part in rows.groupby(GROUP_KEYS, sort=False):
        good = part.loc[~part["failed"] & part["value"].notna(), "value"]
        warm = part.loc[~part["failed"] & part["value"].notna() & ~part["request_id"].isin(cold), "value"]
        out[key] = {
            "n": len(good), "failed": part.loc[part["failed"], "request_id"].nunique(),
            "min": good.min(), "max": good.max(), "median": good.median(), "p95": good.quantile(0.95),
            "mean": good.mean(), "std": good.std(),
            "warm_n": len(warm) if key[1] == "ttft_ms" and len(warm) else math.nan,
            "warm_median": warm.median() if key[1] == "ttft_ms" and len(warm) else math.nan,
        }
    return out


def _same_number(found: float, expected: float, exact: bool) -> bool:
    if math.isnan(expected):
        return math.isnan(found)
    return found == expected if exact else math.isclose(found, expected, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize(("step", "block"), [(1, 1), (3, 2), (7, 5), (1 << 14, 1 << 16)])
def test_config_groups_are_each_groups_own_figures(monkeypatch: pytest.MonkeyPatch, step: int, block: int) -> None:
    monkeypatch.setattr(groups_module, "_PASS", step)
    monkeypatch.setattr(groups_module, "_BLOCK", block)
    rng = np.random.default_rng(19)
    checked = warm_checked = failed_checked = cold_seen = 0
    for _ in range(120):
        measurements = with_group_model(_frame(rng))
        rows = RequestRows(measurements)
        requests = request_frame(measurements, rows)
        if not len(requests):
            continue
        # (any requests may be given as cold starts: a third of them, so that most TTFT groups lose some)
        cold_starts = rng.random(len(requests)) < 0.3
        cold = set(requests["request_id"].astype(str).to_numpy()[cold_starts].tolist())
        cold_seen += len(cold)
        groups = config_groups(measurements, requests=rows, cold_requests=cold_starts)
        expected = _reference(measurements, cold)
        assert len(groups) == len(expected)
        for record in groups.to_dict("records"):
            want = expected[tuple(str(record[name]) for name in GROUP_KEYS)]
            for name, value in want.items():
                # (sums and interpolation are pandas groupby's: checked bit for bit in test_order_statistics)
                exact = name not in ("mean", "std", "p95")
                assert _same_number(float(record[name]), float(value), exact), (name, record, want)
            checked += 1
            warm_checked += int(not math.isnan(want["warm_n"]))
            failed_checked += int(want["failed"] > 0)
    assert checked > 500 and warm_checked > 50 and failed_checked > 50 and cold_seen > 100
