"""Ranking claims that name the same models again (summaries repeat them) are checked from what the
first one looked up (`_Successful.resolve`, `_values`): the same checks as each checked alone."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis import analyze
from bot.core.analysis.rankings import (
    _descending,
    _medians,
    _ranked,
    _sources,
    _Successful,
    _values,
    check_rankings,
    resolve,
)
from bot.core.codes import combine
from bot.core.context import decode, encode
from bot.core.ingest.rankings import find_rankings
from tests.ingest_support import ingest_files

HEADER = "model,num_ctx,temperature,tokens_s,ttft_s\n"


def _rows(model: str, ctx: int, temp: float, values: list[float]) -> str:
    return "".join(f"{model},{ctx},{temp},{v},0.1\n" for v in values)


ARCHIVE = HEADER + _rows("m:1b", 1024, 0.2, [100.0, 101.0, 99.5, 100.5]) + \
    _rows("m:1b", 4096, 0.2, [80.0, 81.0, 79.5, 80.5]) + _rows("q:7b", 1024, 0.2, [40.0, 41.0, 39.0, 40.5])


def test_repeated_names_give_the_checks_each_gives_alone(tmp_path: Path) -> None:
    report = ("m:1b is 150% faster than q:7b.\n\nm:1b is 20% faster than q:7b.\n\nq:7b is 10% slower than m:1b.\n\n"
              "The fastest model is m:1b.\n\nm is 5% faster than q:7b.\n")
    analysis = analyze(ingest_files(tmp_path, {"runs/results.csv": ARCHIVE, "runs/REPORT.md": report}))
    found = find_rankings(report, "runs/REPORT.md")
    assert len(found) >= 4
    together = check_rankings(found, analysis)
    alone = [check_rankings([claim], analysis)[0] for claim in found]
    assert together == alone
    assert {check.status for check in together} != {"unverifiable"}


def test_a_looked_up_name_and_values_are_the_first_look_up_s(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, {"runs/results.csv": ARCHIVE}))
    rows = _Successful(analysis.measurements)
    known = rows.models()
    for name in ("m:1b", "m", "Q:7B", "nothing", ""):
        first = rows.resolve(name, known)
        assert first == resolve(name, known) == rows.resolve(name, known)
        first[1].append("changed")  # a caller's list is its own
        assert rows.resolve(name, known) == resolve(name, known)
    values = _values(rows, "m:1b", "throughput_tok_s")
    assert values.tolist() == [100.0, 101.0, 99.5, 100.5, 80.0, 81.0, 79.5, 80.5]
    assert _values(rows, "m:1b", "throughput_tok_s") is values
    assert not values.flags.writeable  # (shared by every claim naming the model: read only)
    assert _values(rows, "m:1b", "throughput_tok_s", "num_ctx=4096").tolist() == [80.0, 81.0, 79.5, 80.5]


def _reference_candidates(rows: _Successful, scope: Any, settings: dict[str, str]) -> list[dict[str, Any]]:
    """`rankings._candidates` as it was: a record per (config, context) group, each with its sources."""
    records = []
    number, first = combine(rows.codes["config"][scope], rows.codes["context"][scope])
    order = np.argsort(number, kind="stable")
    bounds = np.searchsorted(number[order], np.arange(len(first) + 1)).tolist()
    values = rows.values[scope][order]
    source_texts = rows.texts["source"][rows.codes["source"][scope[order]]]
    group_configs, group_contexts = (rows.texts[name][rows.codes[name][scope[first]]].tolist()
                                     for name in ("config", "context"))
    keys = sorted(settings)
    for group, (config, context) in enumerate(zip(group_configs, group_contexts, strict=True)):
        dims = decode(str(context))
        if not all(key in dims for key in settings):
            continue
        part = slice(bounds[group], bounds[group + 1])
        records.append({"config": config, "named": tuple((k, dims[k]) for k in keys),
                        "values": values[part], "sources": tuple(dict.fromkeys(source_texts[part].tolist()))})
    by_config: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_config.setdefault(record["config"], []).append(record)
    merged = [{"config": config, "named": parts[0]["named"],
               "values": parts[0]["values"] if len(parts) == 1 else np.concatenate([p["values"] for p in parts]),
               "sources": tuple(sorted({s for p in parts for s in p["sources"]}))}
              for config, parts in by_config.items()]
    medians = _medians([c["values"] for c in merged])
    for candidate, middle in zip(merged, medians.tolist(), strict=True):
        candidate["median"], candidate["n"] = middle, int(candidate["values"].size)
    return [merged[i] for i in _descending(medians).tolist()]


def _frame(rng: random.Random, size: int) -> pd.DataFrame:
    dims = [{"num_ctx": rng.choice(["1024", "4096"]), "temperature": rng.choice(["0.2", "0.3"]),
             **({"num_gpu": rng.choice(["60", "999"])} if rng.random() < 0.6 else {})} for _ in range(size)]
    configs = [",".join(f"{k}={v}" for k, v in sorted(d.items()) if rng.random() < 0.7) for d in dims]
    return pd.DataFrame({
        "kind": pd.Series([rng.choice(["request", "request", "sample", "aggregate"]) for _ in range(size)],
                          dtype="category"),
        "model": pd.Series([rng.choice(["m:1b", "q:7b"]) for _ in range(size)], dtype="category"),
        "metric": pd.Series([rng.choice(["throughput_tok_s", "ttft_ms"]) for _ in range(size)], dtype="category"),
        "config": pd.Series(configs, dtype="category"),
        "context": pd.Series([encode(d) for d in dims], dtype="category"),
        "source": pd.Series([rng.choice(["a.csv", "b/c.csv", "d.json"]) for _ in range(size)], dtype="category"),
        "value": [rng.choice([0.0, 5.0, 7.5, math.nan, rng.uniform(1, 100)]) for _ in range(size)],
        "failed": [rng.random() < 0.1 for _ in range(size)],
    })


def test_candidates_are_the_row_group_records_merged_by_configuration() -> None:
    """`_candidates` (configurations merged as their groups are read, sources read for a verdict only)
    as the reference, and `_ranked` gives the same list to every claim naming the same settings."""
    rng = random.Random(29)
    for size in (0, 1, 6, 40, 300):
        for _ in range(20):
            rows = _Successful(_frame(rng, size))
            for model, metric in (("m:1b", "throughput_tok_s"), ("q:7b", "ttft_ms")):
                names = rng.sample(["num_ctx", "temperature", "num_gpu", "top_k"], rng.randint(0, 3))
                settings = {name: rng.choice(["1", "2"]) for name in names}
                scope = np.flatnonzero(rows.equals("model", model) & rows.equals("metric", metric))
                with np.errstate(invalid="ignore"):
                    expected = _reference_candidates(rows, scope, settings)
                    got = _ranked(rows, model, metric, settings)
                    again = _ranked(rows, model, metric, {name: "other" for name in settings})
                assert again is got
                assert len(got) == len(expected)
                for mine, reference in zip(got, expected, strict=True):
                    assert tuple(sorted(_sources(mine))) == tuple(sorted(set(reference["sources"])))
                    assert {k: v for k, v in mine.items() if k not in {"values", "sources_at", "median"}} == {
                        k: v for k, v in reference.items() if k not in {"values", "sources", "median"}}
                    assert float(mine["median"]).hex() == float(reference["median"]).hex() or (
                        mine["median"] != mine["median"] and reference["median"] != reference["median"])
                    assert mine["values"].tobytes() == reference["values"].tobytes()


def test_candidates_kept_for_one_set_of_names_are_not_another_s() -> None:
    """`_ranked` keeps a model's candidates per set of setting names: claims on one model and metric
    naming other settings (or the same ones in another order) get what each would get alone."""
    rng = random.Random(31)
    name_sets = [[], ["num_ctx"], ["temperature"], ["num_ctx", "temperature"], ["temperature", "num_ctx"],
                 ["num_gpu"], ["num_ctx", "num_gpu"], ["top_k"]]
    for size in (6, 40, 300):
        for _ in range(10):
            rows = _Successful(_frame(rng, size))
            for names in rng.sample(name_sets, len(name_sets)):
                for model, metric in (("m:1b", "throughput_tok_s"), ("q:7b", "ttft_ms")):
                    settings = {name: rng.choice(["1", "2"]) for name in names}
                    scope = np.flatnonzero(rows.equals("model", model) & rows.equals("metric", metric))
                    with np.errstate(invalid="ignore"):
                        expected = _reference_candidates(rows, scope, settings)
                        got = _ranked(rows, model, metric, settings)
                    assert [(c["config"], c["named"], c["n"]) for c in got] == [
                        (c["config"], c["named"], c["n"]) for c in expected], (names, model)
                    assert all(not c["values"].flags.writeable for c in got)  # (kept for the next claim)
                    assert all(not texts.flags.writeable for c in got for texts in c["sources_at"])


def test_best_configuration_claims_naming_other_settings_of_one_model_are_checked_alone(tmp_path: Path) -> None:
    report = ("# m:1b\n\nBest config: num_ctx=1024, temperature=0.2 (100 tok/s)\n\n"
              "Best config: num_ctx=4096 (80 tok/s)\n\n"
              "Best config: temperature=0.2 (100 tok/s)\n\n"
              "Best config: temperature=0.2, num_ctx=4096 (80 tok/s)\n")
    _checked_together_as_alone(tmp_path, report, at_least=3)


def test_repeated_best_configuration_claims_give_the_checks_each_gives_alone(tmp_path: Path) -> None:
    report = ("# m:1b\n\nBest config: num_ctx=1024, temperature=0.2 (100 tok/s)\n\n"
              "## Best configuration\nnum_ctx: 4096, temperature: 0.2 at 80.3 tok/s\n\n"
              "Best config: num_ctx=1024, temperature=0.2 (100 tok/s)\n")
    together = _checked_together_as_alone(tmp_path, report, at_least=2)
    assert {check.status for check in together} != {"unverifiable"}


def _checked_together_as_alone(tmp_path: Path, report: str, at_least: int) -> list[Any]:
    """The report's ranking claims (``at_least`` of them best-configuration claims), checked together,
    are each what it gives checked alone; the checks made together are returned."""
    analysis = analyze(ingest_files(tmp_path, {"runs/results.csv": ARCHIVE, "runs/REPORT.md": report}))
    found = find_rankings(report, "runs/REPORT.md")
    assert sum(claim.kind == "best_config" for claim in found) >= at_least
    together = check_rankings(found, analysis)
    assert together == [check_rankings([claim], analysis)[0] for claim in found]
    return together
