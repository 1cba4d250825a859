"""The analysis' shortcuts give what the longer way gives: the request rows and codes handed from one
step to the next (`RequestRows`, `RequestCodes`), cold starts passed by request number, and numpy's
mean and standard deviation without its dispatch. Random small measurement frames, compared column
by column to the bit."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.configs import config_table
from bot.core.analysis.groups import config_groups, with_group_model
from bot.core.analysis.models import _configurations_with_values, model_stats
from bot.core.analysis.requests import RequestRows, describe, request_frame
from bot.core.dimensions import dimensions_of


def _categorical(rng: np.random.Generator, values: list[str]) -> pd.Categorical:
    categories = sorted(set(values))
    if rng.random() < 0.3:  # categories in any order (a frame read back, or renamed)
        categories = [categories[i] for i in rng.permutation(len(categories))]
    return pd.Categorical(values, categories=categories)


def _frame(rng: np.random.Generator) -> pd.DataFrame:
    """A measurement frame: requests of a few rows each, in runs or mixed, with failures, loads that
    make cold starts, unnamed models, configurations that differ within a request, and a few kinds."""
    size = int(rng.integers(1, 50))
    requests = int(rng.integers(1, size + 1))
    request = np.sort(rng.integers(0, requests, size)) if rng.random() < 0.6 else rng.integers(0, requests, size)
    source = [f"f{i % 3}.csv" for i in rng.integers(0, 3, requests)[request]]
    model = [["", "m1", "m2"][i] for i in rng.integers(0, 3, requests)[request]]
    configs = ["", "a=1", "a=2", "a=1,b=2", "b=3"]
    config = [configs[i] for i in rng.integers(0, len(configs), requests)[request]]
    if rng.random() < 0.3:
        config = [configs[int(rng.integers(0, len(configs)))] if rng.random() < 0.2 else c for c in config]
    metrics = ["throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "eval_ms", "prompt_throughput_tok_s"]
    metric = [metrics[i] for i in rng.integers(0, len(metrics), size)]
    value = rng.choice([0.5, 2.0, 7.25, 100.0, 600.0], size) + np.round(rng.standard_normal(size), 2)
    value[(np.array(metric) == "load_ms") & (rng.random(size) < 0.3)] = 5000.0  # a cold start's load
    value[rng.random(size) < 0.1] = np.nan
    failed = (rng.random(requests) < 0.2)[request]
    kind = [["request", "sample", "generic"][i] for i in rng.integers(0, 3, requests)[request]]
    return pd.DataFrame({
        "request_id": _categorical(rng, [f"{s}#{r}" for s, r in zip(source, request.tolist(), strict=True)]),
        "source": _categorical(rng, source), "row": np.arange(size), "model": _categorical(rng, model),
        "config": _categorical(rng, config), "metric": _categorical(rng, metric), "value": value,
        "unit": _categorical(rng, ["ms" if m.endswith("ms") else "tok/s" for m in metric]), "failed": failed,
        "error": _categorical(rng, np.where(failed, "timed out", "").tolist()), "kind": _categorical(rng, kind),
        "definition": _categorical(rng, [["", "d1"][i] for i in rng.integers(0, 2, size)]),
        "context": _categorical(rng, ["{}"] * size), "identifiers": _categorical(rng, ["{}"] * size),
        "statistic": _categorical(rng, [""] * size), "n": np.full(size, np.nan),
    })


def _same(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        assert list(a.columns) == list(b.columns) and list(map(str, a.dtypes)) == list(map(str, b.dtypes))
        for name in a.columns:
            x, y = a[name].to_numpy(), b[name].to_numpy()
            if x.dtype.kind == "f":
                assert x.tobytes() == y.tobytes(), name
            else:
                assert [repr(v) for v in x.tolist()] == [repr(v) for v in y.tolist()], name
    else:
        assert repr(a) == repr(b)


def test_steps_given_the_request_rows_and_codes_give_what_they_give_alone() -> None:
    rng = np.random.default_rng(15)
    cold_seen = 0
    for _ in range(250):
        measurements = with_group_model(_frame(rng))
        rows = RequestRows(measurements)
        requests = request_frame(measurements, rows)
        _same(requests, request_frame(measurements))
        cold = requests["request_id"].to_numpy(dtype=object)[requests["cold_start"].to_numpy(dtype=bool)]
        cold_seen += len(cold) > 0
        groups = config_groups(measurements, set(cold.tolist()))  # cold starts by their ids
        _same(groups, config_groups(measurements, requests=rows,
                                    cold_requests=requests["cold_start"].to_numpy(dtype=bool)))
        dimensions = dimensions_of(measurements)
        _same(model_stats(requests, measurements, groups, dimensions, rows.codes),
              model_stats(requests, measurements, groups, dimensions))
        _same(config_table(requests, rows.codes), config_table(requests))
    assert cold_seen >= 5  # the cold-start path was taken


def test_configurations_with_values_counts_the_texts_as_before() -> None:
    """As counted before: the distinct (model, metric, configuration) texts of groups with values."""
    rng = np.random.default_rng(4)
    for _ in range(500):
        n = int(rng.integers(0, 25))
        groups = pd.DataFrame({"model": _texts(rng, n, ["a", "b", "nan", np.nan]), "metric": _texts(rng, n, ["x", "y"]),
                               "config": _texts(rng, n, ["", "k=1", np.nan]), "n": rng.integers(0, 3, n)})
        kept = groups[groups["n"] > 0]
        distinct = {(str(a), str(b), str(c)) for a, b, c in zip(kept["model"], kept["metric"], kept["config"],
                                                                strict=True)}
        expected = dict(Counter((a, b) for a, b, _ in distinct))
        assert _configurations_with_values(groups) == expected
        for metrics in (["x"], ["y", "nan", "z"], [], ["x", "y"]):  # of some metrics only: the same counts
            assert _configurations_with_values(groups, metrics) == {
                pair: count for pair, count in expected.items() if pair[1] in metrics}


def _texts(rng: np.random.Generator, n: int, vocabulary: list[Any]) -> pd.api.extensions.ExtensionArray:
    return pd.array([vocabulary[i] for i in rng.integers(0, len(vocabulary), n)], dtype="str")


def test_describe_mean_and_std_are_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(6)
    for t in range(5_000):
        n = int(rng.integers(1, 40))
        v = rng.standard_normal(n) * 10.0 ** int(rng.integers(-100, 100)) + rng.choice([0.0, 1e8, -5.0])
        if t % 3 == 0:
            v = np.round(v, int(rng.integers(0, 3)))
        found, finite = describe(v), v[np.isfinite(v)]
        assert np.float64(found["mean"]).tobytes() == np.float64(finite.mean()).tobytes()
        if finite.size > 1:
            assert np.float64(found["std"]).tobytes() == np.float64(finite.std(ddof=1)).tobytes()
