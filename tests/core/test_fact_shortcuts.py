"""The fact builders that pick their rows on columns first give exactly the facts the row-by-row
versions they replaced gave (those are kept here as the reference), on random frames with ties,
missing texts and more rows per key than are made facts of."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bot.core.analysis import facts as F


def _reference_aggregate_facts(facts: F._Facts, aggregates: pd.DataFrame) -> None:
    if aggregates.empty:
        return
    counts = {"requests_completed", "requests_failed"}
    by_model_metric: dict[tuple[str, str], list[SimpleNamespace]] = {}
    for record in F.records(aggregates, F._AGGREGATE_FIELDS):
        model, metric = record["model"], record["metric"]
        if metric not in counts and F._present(model) and F._present(metric):
            by_model_metric.setdefault((model, metric), []).append(SimpleNamespace(**record))
    for (model, metric), rows in sorted(by_model_metric.items()):
        for row in rows[:F.MAX_AGGREGATE_FACTS]:
            F._aggregate_fact(facts, row, str(model), str(metric))


def _reference_generic_facts(facts: F._Facts, generic: pd.DataFrame) -> None:
    if generic.empty:
        return
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in F.records(generic, ("metric", "definition", "failed", "source", "config", "value")):
        if row["metric"] == "time_ms" and str(row["definition"]).startswith("mean") and not row["failed"]:
            by_source.setdefault(row["source"], []).append(row)
    for source, rows in sorted(by_source.items()):
        if len({r["config"] for r in rows}) < 2:
            continue
        fastest = min(rows, key=lambda r: r["value"])
        facts.add(f"{F.quoted(source)}: fastest case {fastest['config']} at {F.stated(fastest['value'], 'ms')} mean "
                  f"({fastest['definition']}).", float(fastest["value"]), "ms", [source], importance=30,
                  config=str(fastest["config"]), metric="time_ms", rows=len(rows))


def _reference_configuration_facts(facts: F._Facts, groups: pd.DataFrame) -> None:
    if groups.empty:
        return
    scope = np.flatnonzero(np.isin(groups["metric"].to_numpy(dtype=object), list(F._CONFIG_METRICS))
                           & (groups["n"].to_numpy() > 0))
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in F.records(groups, ("model", "metric", "config", "kind", "median", "min", "max", "n", "sources"),
                         scope):
        by_key.setdefault((str(row["model"]), str(row["metric"])), []).append(row)
    for (model, metric), rows in sorted(by_key.items()):
        if len({r["config"] for r in rows}) < 2:
            continue
        sign = -1.0 if F.METRICS[metric].higher_is_better else 1.0
        ranked = sorted(rows, key=lambda r: (sign * r["median"], r["config"]))[:F.MAX_CONFIG_FACTS]
        for row in ranked:  # (the fact is made of the row's fields as `_configuration_facts` hands them)
            fields = tuple(row[name] for name in ("config", "kind", "median", "min", "max", "n", "sources"))
            F._configuration_fact(facts, fields, model, metric, len(rows))


def _texts(rng: random.Random, choices: list[Any], size: int) -> pd.Series:
    return pd.Series([rng.choice(choices) for _ in range(size)], dtype="str")


def _items(build: Any, frame: pd.DataFrame) -> list[tuple[int, int, dict[str, Any]]]:
    facts = F._Facts()
    build(facts, frame)
    return facts.items


def test_aggregate_facts_as_row_by_row() -> None:
    rng = random.Random(3)
    for size in (0, 1, 5, 60, 1500):
        frame = pd.DataFrame({
            "model": _texts(rng, ["a", "b", "c:1b", None], size),
            "metric": _texts(rng, ["ttft_ms", "throughput_tok_s", "requests_failed", "requests_completed",
                                   "odd_metric", None], size),
            "value": [rng.choice([math.nan, 1.0, 2.5, rng.uniform(0, 1e4)]) for _ in range(size)],
            "config": _texts(rng, ["", "x=1", "x=2", None], size),
            "n": [rng.choice([math.nan, 3.0, 10.0]) for _ in range(size)],
            "unit": _texts(rng, ["ms", "tok/s", ""], size),
            "failed": [rng.random() < 0.2 for _ in range(size)],
            "error": _texts(rng, ["", "boom", None], size),
            "statistic": _texts(rng, ["mean", "", "p99", None], size),
            "definition": _texts(rng, ["as reported", "per request"], size),
            "source": _texts(rng, ["a.json", "b/c.json"], size),
        })
        assert _items(F._aggregate_facts, frame) == _items(_reference_aggregate_facts, frame), size


def test_generic_facts_as_row_by_row() -> None:
    rng = random.Random(5)
    for size in (0, 1, 7, 80, 300):
        frame = pd.DataFrame({
            "metric": _texts(rng, ["time_ms", "time_ms", "memory_mb", None], size),
            "definition": _texts(rng, ["mean of 5 runs", "median of 5", "mean", None], size),
            "failed": [rng.random() < 0.2 for _ in range(size)],
            "source": _texts(rng, ["a.json", "b.json", "c/d.json"], size),
            "config": _texts(rng, ["x=1", "x=2", "x=3", ""], size),
            "value": [rng.choice([1.0, 2.0, rng.uniform(0, 100)]) for _ in range(size)],
        })
        assert _items(F._generic_facts, frame) == _items(_reference_generic_facts, frame), size


def test_configuration_facts_as_row_by_row() -> None:
    rng = random.Random(9)
    metrics = [*F._CONFIG_METRICS, "load_ms"]
    for size in (0, 1, 9, 120, 500):
        frame = pd.DataFrame({
            "model": _texts(rng, ["a", "b", "c"], size),
            "metric": _texts(rng, metrics, size),
            "config": _texts(rng, [f"x={i}" for i in range(20)], size),
            "kind": _texts(rng, ["request", "sample"], size),
            "median": [float(rng.choice([1, 2, 3, rng.randint(0, 500)])) for _ in range(size)],
            "min": [float(rng.randint(0, 5)) for _ in range(size)],
            "max": [float(rng.randint(5, 9)) for _ in range(size)],
            "n": [rng.choice([0, 1, 2, 7]) for _ in range(size)],
            "sources": _texts(rng, ["a.csv", "a.csv; b.csv"], size),
        })
        assert _items(F._configuration_facts, frame) == _items(_reference_configuration_facts, frame), size


def test_texts_at_is_iloc_as_objects() -> None:
    rng = random.Random(11)
    for size in (0, 1, 50):
        texts = [rng.choice(["a#0", "a#1", "b#0", None, "c"]) for _ in range(size)]
        for column in (pd.Series(texts, dtype="category"), pd.Series(texts, dtype="str"),
                       pd.Series(texts, dtype=object)):
            for rows in (np.arange(size), np.asarray(rng.sample(range(size), size // 2), dtype=np.int64)):
                got, expected = F._texts_at(column, rows), column.iloc[rows].to_numpy(dtype=object).tolist()
                assert [type(x) for x in got] == [type(x) for x in expected]
                assert [x if x == x else "nan" for x in got] == [x if x == x else "nan" for x in expected]


def test_facts_are_numbered_by_importance_then_order_added() -> None:
    rng = random.Random(17)
    facts = F._Facts()
    for at in range(300):
        facts.add(f"fact {at}", float(at), "ms", ["a"], importance=rng.choice([30, 50, 50, 74, 96]))
    reference = sorted(facts.items, key=lambda item: (-item[0], item[1]))
    assert [fact.statement for fact in facts.numbered()] == [fields["statement"] for *_, fields in reference]


def _reference_top_two(medians: np.ndarray, models: np.ndarray, configs: np.ndarray) -> list[int]:
    keys = zip(medians.tolist(), models.tolist(), configs.tolist(), strict=True)
    return [i for _, i in sorted(((-median, model, config), i) for i, (median, model, config) in enumerate(keys))][:2]


def test_top_two_is_the_first_two_of_the_whole_sort() -> None:
    rng = random.Random(19)
    for size in (*range(1, 8), 30, 170):
        for _ in range(150):
            pool = [rng.choice([1.0, 2.0, 5.5, rng.uniform(0, 100)]) for _ in range(3)] + [0.0, -0.0]
            medians = np.asarray([rng.choice(pool) for _ in range(size)], dtype=np.float64)
            models = np.asarray([rng.choice(["a", "b", "c:1b"]) for _ in range(size)], dtype=object)
            configs = np.asarray([rng.choice(["", "x=1", "x=2"]) for _ in range(size)], dtype=object)
            if rng.random() < 0.1:  # the whole sort's cases: NaN medians (no total order), texts missing
                medians[rng.randrange(size)] = math.nan
            if rng.random() < 0.1:
                models[rng.randrange(size)] = math.nan
            if rng.random() < 0.1:  # (medians of another type: integers, objects)
                medians = np.nan_to_num(medians).astype(np.int64) if rng.random() < 0.5 else medians.astype(object)
            try:
                expected: Any = _reference_top_two(medians, models, configs)
            except TypeError as error:  # (a NaN model tied with a text: the same error either way)
                expected = type(error)
            try:
                got: Any = F._top_two(medians, models, configs)
            except TypeError as error:
                got = type(error)
            assert got == expected, (medians, models, configs)


def _reference_best_configuration_facts(analysis: Any) -> list[tuple[int, int, dict[str, Any]]]:
    """The headline's facts read off row Series (`best_configuration`'s), as `_best_configuration_fact`
    read them before; its TTFT's p95 by np.percentile."""
    facts = F._Facts()
    best = F.best_configuration(analysis)
    if best is None:
        return facts.items
    top = best.top
    text = (f"Highest median throughput of a single configuration: {F.where(str(top['model']), str(top['config']))} "
            f"at {F.stated(top['median'], 'tok/s')} (n={int(top['n'])})")
    if best.runner_up is not None:
        second = best.runner_up
        text += (f"; runner-up {F.where(str(second['model']), str(second['config']))} at "
                 f"{F.stated(second['median'], 'tok/s')} (n={int(second['n'])}): {best.verdict}")
    facts.add(text + F._caveat(str(top["definition"])) + ".", float(top["median"]), "tok/s", str(top["sources"]),
              importance=94, model=str(top["model"]), config=str(top["config"]), metric="throughput_tok_s",
              rows=int(top["n"]), role="best_throughput")
    model, config = str(top["model"]), str(top["config"])
    groups = analysis.groups
    rows = groups[(groups["model"] == model) & (groups["metric"] == "ttft_ms") & (groups["config"] == config)
                  & (groups["n"] > 0)]
    if rows.empty or rows.iloc[0]["warm_n"] != rows.iloc[0]["warm_n"] or not rows.iloc[0]["warm_n"]:
        return facts.items
    row = rows.iloc[0]
    here = F.where(model, config)
    facts.add(f"{here} (the fastest configuration): warm TTFT p50 {F.stated(row['warm_median'], 'ms')} "
              f"(n={int(row['warm_n'])}, cold starts excluded; {row['definition']}).", float(row["warm_median"]), "ms",
              str(row["sources"]), importance=84, model=model, config=config, metric="ttft_ms",
              rows=int(row["warm_n"]))
    m = analysis.measurements
    warm = m[(m["model"] == model) & (m["metric"] == "ttft_ms") & (m["config"] == config) & ~m["failed"]]
    values = warm["value"].to_numpy(dtype="float64")
    if values.size:
        p95 = float(np.percentile(values, 95))
        facts.add(f"{here} (the fastest configuration): warm TTFT p95 {F.stated(p95, 'ms')} (n={values.size}).",
                  p95, "ms", str(row["sources"]), importance=79, model=model, config=config, metric="ttft_p95_ms",
                  rows=int(values.size))
    return facts.items


def test_best_configuration_facts_as_read_off_row_series() -> None:
    """The headline facts (fields read off the group frame's columns, the top two found among the few
    highest medians, the TTFT p95 by `describe`) as the row-Series reference gives them, on random group
    and measurement frames: ties, zeros, NaN and inf values, missing definitions, one candidate."""
    rng = random.Random(23)
    made = [0, 0, 0, 0]  # runs by the number of facts made: each number is reached
    for size in (1, 2, 3, 12, 60):
        for _ in range(25):
            keys = [(rng.choice(["a", "b:1b"]), rng.choice(["throughput_tok_s", "ttft_ms", "load_ms"]),
                     rng.choice(["", "x=1", "x=2"])) for _ in range(size)]
            keys = list(dict.fromkeys(keys))
            groups = pd.DataFrame({
                "model": pd.Series([k[0] for k in keys], dtype="str"),
                "metric": pd.Series([k[1] for k in keys], dtype="str"),
                "config": pd.Series([k[2] for k in keys], dtype="str"),
                "n": [rng.choice([0, 1, 4]) for _ in keys],
                "median": [rng.choice([0.0, -0.0, 5.0, 12.5, rng.uniform(0, 200)]) for _ in keys],
                "warm_n": [rng.choice([math.nan, 0.0, 3.0]) for _ in keys],
                "warm_median": [rng.uniform(0, 500) for _ in keys],
                "definition": pd.Series([rng.choice([None, "per request", "chunked tokens"]) for _ in keys],
                                        dtype="str"),
                "sources": pd.Series([rng.choice(["a.csv", "a.csv; b.csv"]) for _ in keys], dtype="str"),
            })
            rows = [(rng.choice(["a", "b:1b"]), "ttft_ms", rng.choice(["", "x=1", "x=2"]))
                    for _ in range(rng.choice([0, 2, 40]))]
            measurements = pd.DataFrame({
                "model": pd.Series([r[0] for r in rows], dtype="category"),
                "metric": pd.Series([r[1] for r in rows], dtype="category"),
                "config": pd.Series([r[2] for r in rows], dtype="category"),
                "request_id": pd.Series([f"r{i}" for i in range(len(rows))], dtype="category"),
                "failed": [rng.random() < 0.2 for _ in rows],
                "value": [rng.choice([0.0, 1.5, 20.0, math.inf, math.nan, rng.uniform(0, 900)]) for _ in rows],
            })
            analysis = SimpleNamespace(groups=groups, measurements=measurements, values=None,
                                       requests=pd.DataFrame({"request_id": pd.Series([], dtype="category")}))
            facts = F._Facts()
            with np.errstate(invalid="ignore"):  # (np.percentile of inf values, both ways)
                F._best_configuration_fact(facts, analysis, F._Columns(groups))  # type: ignore[arg-type]
                expected = _reference_best_configuration_facts(analysis)
            made[len(expected)] += 1
            # (as texts: a NaN value is not equal to itself)
            assert repr([(i, fields) for i, _, fields in facts.items]) == repr([(i, f) for i, _, f in expected])
    assert all(made), made


def test_cold_start_fact_median_is_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cold starts' median TTFT (one sort, `requests.median`) is np.median's to the bit (the
    statement's number written as its bits here), with NaN left out, zeros of both signs, inf, and
    no value at all."""
    monkeypatch.setattr(F, "stated", lambda value, unit: float(value).hex())
    rng = random.Random(31)
    for _ in range(400):
        ttft = [rng.choice([0.0, -0.0, 12.5, math.nan, math.inf, rng.uniform(0, 5000)])
                for _ in range(rng.randint(0, 9))]
        m = SimpleNamespace(model="m:1b", cold_starts=len(ttft) or 1, ttft_ms={"max": 1.0}, sources=("a.csv",), n=9)
        facts = F._Facts()
        F._cold_start_fact(facts, m, {"m:1b": ttft})  # type: ignore[arg-type]
        present = np.asarray(ttft, dtype="float64")
        present = present[~np.isnan(present)]
        with np.errstate(invalid="ignore"):
            expected = float(np.median(present)) if present.size else math.nan
        assert facts.items[0][2]["statement"].endswith(f"their median TTFT is {F.stated(expected, 'ms')}.")


def test_best_configuration_ttft_p95_is_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The headline configuration's warm TTFT p95 (`describe`'s one sort when every value is finite)
    is np.percentile's to the bit (written as its bits here), over many values: ties, zeros of both
    signs, inf, huge and tiny values, one value."""
    monkeypatch.setattr(F, "stated", lambda value, unit: float(value).hex())
    groups = pd.DataFrame({"model": pd.Series(["m"], dtype="str"), "metric": pd.Series(["ttft_ms"], dtype="str"),
                           "config": pd.Series(["x=1"], dtype="str"), "n": [3], "warm_n": [3.0],
                           "warm_median": [1.0], "definition": pd.Series(["per request"], dtype="str"),
                           "sources": pd.Series(["a.csv"], dtype="str")})
    rng = random.Random(37)
    for _ in range(300):
        pool = rng.choice([[0.0, -0.0, 1.0], [0.0, 2.5, 7.0], [math.inf, 3.0, 0.0], [1e308, -1e308, 1e-300]])
        values = [rng.choice([*pool, rng.uniform(0, 900)]) for _ in range(rng.randint(1, 60))]
        size = len(values)
        measurements = pd.DataFrame({
            "model": pd.Series(["m"] * size, dtype="category"),
            "metric": pd.Series(["ttft_ms"] * size, dtype="category"),
            "config": pd.Series(["x=1"] * size, dtype="category"),
            "request_id": pd.Series([f"r{i}" for i in range(size)], dtype="category"),
            "failed": [False] * size,
            "value": values,
        })
        analysis = SimpleNamespace(groups=groups, measurements=measurements, values=None,
                                   requests=pd.DataFrame({"request_id": pd.Series([], dtype="category")}))
        facts = F._Facts()
        with np.errstate(invalid="ignore", over="ignore"):
            F._best_configuration_ttft(facts, analysis, F._Columns(groups), "m", "x=1")  # type: ignore[arg-type]
            expected = float(np.percentile(np.asarray(values, dtype="float64"), 95))
        p95 = [fields for _, _, fields in facts.items if fields["metric"] == "ttft_p95_ms"]
        assert len(p95) == 1
        assert f"warm TTFT p95 {float(expected).hex()} " in p95[0]["statement"], (values, p95[0]["statement"])
