"""Hand-built frames the ingest never makes (it always names a request): rows without a request id,
text columns whose categories are not texts. The analysis counts them by request number and
converts the categories, instead of mixing them up with another request or failing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis import analyze
from bot.core.types import IngestResult, Inventory, empty_claims

_COLUMNS = ("request_id", "source", "row", "model", "config", "metric", "value", "unit", "failed", "error", "kind",
            "definition", "context", "identifiers", "statistic", "n")


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    default: dict[str, Any] = {"value": 1.0, "failed": False, "n": math.nan, "context": "{}", "identifiers": "{}",
                               "source": "f.csv", "model": "m", "config": "", "unit": "ms", "error": "",
                               "kind": "request", "definition": "", "statistic": ""}
    columns: dict[str, Any] = {}
    for name in _COLUMNS:
        values = [row.get(name, i if name == "row" else default.get(name)) for i, row in enumerate(rows)]
        if name == "row":
            columns[name] = np.asarray(values, dtype=np.int64)
        elif name in ("value", "n"):
            columns[name] = np.asarray(values, dtype=float)
        elif name == "failed":
            columns[name] = np.asarray(values, dtype=bool)
        else:
            columns[name] = pd.Categorical(values)
    return pd.DataFrame(columns)


def _groups(m: pd.DataFrame) -> dict[str, dict[str, Any]]:
    analysis = analyze(IngestResult(measurements=m, claims=empty_claims(), inventory=Inventory(files_total=1)))
    return {row["metric"]: row for row in analysis.groups.to_dict("records")}


def test_a_cold_request_without_an_id_leaves_the_others_warm() -> None:
    rows: list[dict[str, Any]] = []
    for rid, load, first in (("a", 100.0, 10.0), ("b", 100.0, 20.0), ("c", 100.0, 30.0), (math.nan, 9000.0, 40.0)):
        rows += [{"request_id": rid, "metric": "load_ms", "value": load},
                 {"request_id": rid, "metric": "ttft_ms", "value": first}]
    ttft = _groups(_frame(rows))["ttft_ms"]
    assert (ttft["warm_n"], ttft["warm_median"]) == (3, 20.0)  # only the 9 s load was cold


def test_failed_rows_without_an_id_are_counted() -> None:
    rows = [{"request_id": "a", "metric": "ttft_ms", "failed": True},
            {"request_id": math.nan, "metric": "throughput_tok_s", "failed": True},
            {"request_id": "a", "metric": "throughput_tok_s", "value": 5.0}]
    assert _groups(_frame(rows))["throughput_tok_s"]["failed"] == 1
    only = [{"request_id": math.nan, "metric": "ttft_ms", "failed": True},
            {"request_id": "a", "metric": "ttft_ms", "value": 5.0}]
    assert _groups(_frame(only))["ttft_ms"]["failed"] == 1


def test_categories_that_are_not_texts_become_texts() -> None:
    m = _frame([{"request_id": "a", "metric": "ttft_ms"}, {"request_id": "b", "metric": "ttft_ms", "kind": "generic"}])
    m["unit"] = pd.Categorical([1, 2])
    assert _groups(m)["ttft_ms"]["unit"] == "1"


def test_a_request_without_an_id_is_not_named_after_another() -> None:
    rows: list[dict[str, Any]] = [{"request_id": "a", "metric": "ttft_ms"},
                                  {"request_id": math.nan, "metric": "ttft_ms"}]
    analysis = analyze(IngestResult(measurements=_frame(rows), claims=empty_claims(),
                                    inventory=Inventory(files_total=1)))
    ids = analysis.requests["request_id"].tolist()
    assert ids[0] == "a" and pd.isna(ids[1])
