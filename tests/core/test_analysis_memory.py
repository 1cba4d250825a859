"""The memory-lean steps of the analysis (bot/core/analysis/groups.py, requests.py) give what the
plainer computations they replace give: group numbers as `combine` numbers the columns, order
statistics as pandas computes them, also past one block of rows and with narrow numbers, and the
request frame's categorical columns read, compare and group as the text columns they replace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.core.analysis import analyze
from bot.core.analysis import groups as groups_module
from bot.core.analysis.groups import _numbered, rows_of_kind, with_group_model
from bot.core.analysis.requests import (
    _STEP,
    distinct,
    is_text,
    narrowest,
    order_statistics,
    request_frame,
)
from bot.core.codes import as_texts, categorical, combine
from bot.core.dimensions import config_values
from bot.core.ingest import ingest_tree
from tests.core.test_analysis_shortcuts import _frame, _same


def _bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


def test_narrowest_holds_every_number_below_the_bound() -> None:
    for bound, expected in ((0, np.int8), (128, np.int8), (129, np.int16), (2**15, np.int16),
                            (2**15 + 1, np.int32), (2**31, np.int32), (2**31 + 1, np.int64)):
        assert narrowest(bound) == np.dtype(expected), bound


def _first_seen(keys: list[tuple[int, ...]]) -> tuple[list[int], list[int]]:
    """Each key's number in the order keys first occur, and where each first occurs."""
    numbers: dict[tuple[int, ...], int] = {}
    first: list[int] = []
    for i, key in enumerate(keys):
        if key not in numbers:
            numbers[key] = len(numbers)
            first.append(i)
    return [numbers[key] for key in keys], first


def test_group_numbers_are_combines_of_the_columns() -> None:
    rng = np.random.default_rng(5)
    for t in range(300):
        size = int(rng.integers(1, 400))
        # widths from a few (one byte of key) to many (a 32-bit key; numbers past one and two bytes)
        widths = [int(rng.choice([2, 5, 40, 300, 3000])) for _ in range(int(rng.integers(1, 5)))]
        codes = [rng.integers(-1 if t % 3 == 0 else 0, w, size).astype(np.int16) for w in widths]
        positions = np.sort(rng.choice(size, int(rng.integers(1, size + 1)), replace=False)).astype(np.int32)
        if t % 4 == 0:  # runs of one combination, as a request's rows come
            codes = [np.repeat(c[: size // 3 + 1], 3)[:size] for c in codes]
        number, first = _numbered(codes, positions)
        expected_number, expected_first = _first_seen(list(zip(*(c[positions].tolist() for c in codes), strict=True)))
        assert np.array_equal(number, expected_number)
        assert np.array_equal(first, expected_first)
        if t % 3:  # (codes of -1, a missing text, are told apart here; `combine` may fold them)
            assert np.array_equal(number, combine(*(c[positions] for c in codes))[0])
        assert number.dtype == narrowest(len(first))


def test_order_statistics_past_one_block_are_pandas_groupby() -> None:
    rng = np.random.default_rng(6)
    for size, labels_count in ((3 * _STEP + 17, 7), (_STEP + 1, 300), (40_000, 20_000)):
        labels = rng.integers(0, labels_count, size)
        values = np.round(rng.normal(50, 20, size), 3)
        values = values[values != 0]  # (without zeros: the one-sort path)
        labels = labels[: len(values)]
        found = order_statistics(labels, values, labels_count)
        groups = pd.Series(values).groupby(labels, sort=True)
        for mine, reference in ((found.median, groups.median()), (found.min, groups.min()),
                                (found.max, groups.max()), (found.p95, groups.quantile(0.95))):
            assert np.array_equal(_bits(mine), _bits(reference.to_numpy()))
        assert np.array_equal(found.n, groups.count().to_numpy())


def test_order_statistics_of_one_label_at_the_narrow_types_edges() -> None:
    # one label of 128 values made its key int8, which cannot hold the 128 it is multiplied by
    for size in (127, 128, 129, 32_767, 32_768, 32_769):
        values = np.arange(1.0, size + 1.0)
        found = order_statistics(np.zeros(size, dtype=np.int64), values, 1)
        assert found.n.tolist() == [size] and found.max.tolist() == [float(size)]
        assert found.median.tolist() == [float(np.median(values))]


def test_an_archive_of_one_configuration_of_128_requests_is_analysed(tmp_path: Path) -> None:
    # (through the CLI's steps: one group of 128 successful values, and 128 load values of one model)
    rows = "\n".join(f"m:1b,{10 + i / 7:.3f},{0.5 + i / 1000:.3f}" for i in range(128))
    (tmp_path / "results.csv").write_text(f"model,tokens_s,load_s\n{rows}\n")
    analysis = analyze(ingest_tree(tmp_path, workers=1))
    assert int(analysis.groups.loc[analysis.groups["metric"] == "throughput_tok_s", "n"].iloc[0]) == 128


def test_request_frame_texts_read_as_the_measurements_texts() -> None:
    """The request frame's text columns (categoricals sharing the measurement frame's categories, or
    text columns) read back as the texts of each request's first row, and group, compare and collect
    as text columns do: what every consumer of the frame sees."""
    rng = np.random.default_rng(8)
    for _ in range(60):
        measurements = with_group_model(_frame(rng))
        requests = request_frame(measurements)
        if requests.empty:
            continue
        first: dict[str, int] = {}
        for row, (request_id, kind) in enumerate(zip(measurements["request_id"].tolist(),
                                                      measurements["kind"].tolist(), strict=True)):
            if kind in ("request", "sample"):
                first.setdefault(request_id, row)
        rows = list(first.values())
        same_config = [len({c for r, c in zip(measurements["request_id"], measurements["config"], strict=True)
                            if r == request_id}) == 1 for request_id in first]
        for name in ("request_id", "source", "model", "config", "context", "kind", "error"):
            column = requests[name]
            expected = measurements[name].to_numpy(dtype=object)[rows].tolist()
            found = column.to_numpy(dtype=object).tolist()
            if name == "config":  # (a request whose rows differ has their union: not a row's text)
                found = [f for f, same in zip(found, same_config, strict=True) if same]
                expected = [e for e, same in zip(expected, same_config, strict=True) if same]
            assert found == expected, name
            texts = pd.Series(column.to_numpy(dtype=object), dtype="str")  # the same values as a text column
            assert set(column) == set(texts)
            assert sorted(column.unique()) == sorted(texts.unique())
            assert (column == "m1").tolist() == (texts == "m1").tolist()
            assert column.isin(["", "m2"]).tolist() == texts.isin(["", "m2"]).tolist()
            if name == "request_id":  # (its categories may be in any order; nothing sorts by request id)
                continue
            frame = pd.DataFrame({"key": column, "other": requests["failed"]})
            by_text = pd.DataFrame({"key": texts, "other": requests["failed"]})
            assert ([(k, g.index.tolist()) for k, g in frame.groupby(["key", "other"], sort=True)]
                    == [(k, g.index.tolist()) for k, g in by_text.groupby(["key", "other"], sort=True)]), name
        definitions = requests["latency_definition"].to_numpy(dtype=object).tolist()
        assert set(definitions) <= {"", "derived: ttft + eval"}


def test_distinct_is_numpys_unique() -> None:
    rng = np.random.default_rng(9)
    for t in range(300):
        values = rng.integers(-1, int(rng.choice([2, 50, 10**6])), int(rng.integers(0, 300)))
        values = values.astype(np.int8 if t % 3 == 0 and values.max(initial=0) < 128 else np.int64)
        found = distinct(values)
        assert np.array_equal(found, np.unique(values)) and found.dtype == values.dtype


def test_categorical_keeps_sorted_categories_and_sorts_others() -> None:
    # (whether the categories are sorted is asked of pandas: the same answer as comparing the texts)
    for categories in (["a", "b", "c"], ["b", "a", "c"], [], ["x"], ["a", "B", "b", "é"]):
        column = pd.Series(pd.Categorical([*categories[::-1], None], categories=categories))
        found = categorical(column)
        assert found.categories.tolist() == sorted(categories)
        assert found.astype(object).tolist() == column.astype(object).tolist()
        assert (found is column.array) == (categories == sorted(categories))  # sorted: the column's own
    texts = pd.Series(["b", "a", None], dtype="str")  # a text column (a frame read back)
    assert categorical(texts).categories.tolist() == ["a", "b"]


def test_rows_of_kind_are_the_rows_of_that_kind_as_texts() -> None:
    """As its docstring defines it: ``as_texts(frame.loc[frame["kind"] == kind].reset_index(drop=True))``
    (with no row of the kind too), and ``values``: each row's configuration as a mapping."""
    rng = np.random.default_rng(10)
    for _ in range(40):
        measurements = with_group_model(_frame(rng))
        for kind in ("request", "generic", "aggregate"):
            expected = as_texts(measurements.loc[measurements["kind"] == kind].reset_index(drop=True))
            found = rows_of_kind(measurements, kind)
            assert list(found.columns) == list(expected.columns)
            assert list(map(str, found.dtypes)) == list(map(str, expected.dtypes))
            pd.testing.assert_frame_equal(found, expected)
            with_values = rows_of_kind(measurements, kind, with_values=True)
            pd.testing.assert_frame_equal(with_values.drop(columns="values"), expected)
            assert with_values["values"].tolist() == [config_values(c) for c in expected["config"].tolist()]
            assert with_values["values"].dtype == object


def test_one_group_of_127_sources_joins_its_sources(tmp_path: Path) -> None:
    # one request group (the CSV's) in a frame of 127 source texts (126 llama-bench files beside it):
    # a key of (group, source code) fit int8 for one group, but the width it is multiplied by did not
    (tmp_path / "raw.csv").write_text("model,tokens_s\nm:1b,10.5\nm:1b,11.5\n")
    for i in range(126):
        folder = tmp_path / f"lb{i:03d}"
        folder.mkdir()
        record = {"model_filename": "/m/tiny-1b.gguf", "model_type": "llama 1B Q4_0", "n_prompt": 0, "n_gen": 128,
                  "n_depth": 0, "n_batch": 512, "n_threads": 8, "avg_ts": 100.0 + i, "stddev_ts": 0.1,
                  "avg_ns": 1000 + i, "stddev_ns": 10, "test_time": "2025-10-06T22:00:00Z"}
        (folder / "llama-bench.json").write_text(json.dumps([record]))
    analysis = analyze(ingest_tree(tmp_path, workers=1))
    assert analysis.groups["sources"].tolist() == ["raw.csv"]


def test_request_frame_taken_block_by_block_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Metric values read a block of rows at a time (`requests._STEP` rows each, large archives) are
    those of all at once: a request's first non-missing value, also when its rows (and missing
    values) span blocks and rows come out of request order."""
    from bot.core.analysis import requests as requests_module

    rng = np.random.default_rng(16)
    for _ in range(150):
        measurements = with_group_model(_frame(rng))
        whole = request_frame(measurements)
        for step in (1, 2, 5):
            monkeypatch.setattr(requests_module, "_STEP", step)
            pd.testing.assert_frame_equal(request_frame(measurements), whole)
        monkeypatch.undo()


def test_config_groups_taken_block_by_block_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups' statistics worked out a block of groups at a time (`groups._BLOCK` values each, large
    archives) are bit for bit those of all at once, zeros (-0.0, 0.0: pandas' path) among them."""
    rng = np.random.default_rng(15)
    for _ in range(150):
        measurements = with_group_model(_frame(rng))
        values = measurements["value"].to_numpy(copy=True)
        values[rng.random(len(values)) < 0.15] = rng.choice([0.0, -0.0])
        measurements["value"] = values
        whole = groups_module.config_groups(measurements)
        for block in (1, 2, 5):
            monkeypatch.setattr(groups_module, "_BLOCK", block)
            _same(groups_module.config_groups(measurements), whole)
        monkeypatch.undo()


def test_config_groups_of_rows_in_group_order_taken_block_by_block_are_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows that come in the groups' sorted order are summed by pandas another way (reduceat, where
    a mean of -0.0s is -0.0; Kahan gives 0.0): every block takes the whole's way, whichever order
    its own rows come in."""
    rng = np.random.default_rng(16)
    negative_zero_means = 0
    for _ in range(150):
        frame = _frame(rng)
        order = np.lexsort(tuple(frame[name].astype(str).to_numpy() for name in ("kind", "config", "metric", "model")))
        measurements = with_group_model(frame.iloc[order].reset_index(drop=True))
        values = measurements["value"].to_numpy(copy=True)
        values[rng.random(len(values)) < 0.5] = -0.0
        measurements["value"] = values
        whole = groups_module.config_groups(measurements)
        means = whole["mean"].to_numpy(dtype=np.float64)
        negative_zero_means += int(((means == 0.0) & np.signbit(means)).sum())
        for block in (1, 2, 5):
            monkeypatch.setattr(groups_module, "_BLOCK", block)
            _same(groups_module.config_groups(measurements), whole)
        monkeypatch.undo()
    assert negative_zero_means >= 5  # (pandas' reduceat way was taken)


def test_values_selected_one_configuration_at_a_time_are_the_ordered_index_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A configuration's values selected by a pass over the codes (the first `groups._DIRECT` asked
    for) are those the index ordered once gives (past them), in the same order; unknown texts
    select none; a frame with text columns selects the same."""
    rng = np.random.default_rng(17)
    for t in range(200):
        measurements = with_group_model(_frame(rng))
        if t % 5 == 0:
            measurements = as_texts(measurements)
        keys = {(m, x, c) for m in ("m1", "m2", "nope", *measurements["model"].unique().tolist())
                for x in ("throughput_tok_s", "ttft_ms", "load_ms") for c in ("", "a=1", "a=1,b=2", "zz")}
        ordered = groups_module.ValueIndex(measurements)
        monkeypatch.setattr(groups_module, "_DIRECT", 0)
        expected = {key: ordered.get(*key) for key in sorted(keys)}
        monkeypatch.undo()
        selected = groups_module.ValueIndex(measurements)
        for key in sorted(keys):
            found = selected.get(*key)
            assert found.dtype == np.float64 and found.tobytes() == expected[key].tobytes(), key
        assert not selected._prepared or len(keys) > groups_module._DIRECT


def test_groups_of_many_sources_join_them_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group's sources are its distinct sources, sorted and joined, also where there are more
    (group, source) pairs than rows (found by sorting, not by a table) and rows come a block at a
    time."""
    rng = np.random.default_rng(18)
    sorted_pairs = []
    monkeypatch.setattr(groups_module, "distinct", lambda key: sorted_pairs.append(1) or distinct(key))
    for _ in range(60):
        frame = _frame(rng)
        names = [f"s{i:03d}.csv" for i in rng.permutation(len(frame))]
        names[0] = ""  # (no source: left out)
        frame["source"] = pd.Categorical(names)
        measurements = with_group_model(frame)
        whole = groups_module.config_groups(measurements)
        rows = measurements.loc[measurements["kind"].isin(["request", "sample"])]
        expected = {}
        for key, part in rows.groupby(["model", "metric", "config", "kind"], observed=True, sort=False):
            expected[key] = "; ".join(sorted(set(part["source"].astype(str)) - {""})) or None  # (none: NaN)
        found = {(m, x, c, k): s if isinstance(s, str) else None for m, x, c, k, s in zip(*(whole[n].tolist() for n in (
            "model", "metric", "config", "kind", "sources")), strict=True)}
        assert found == expected
        for block in (1, 3):
            monkeypatch.setattr(groups_module, "_BLOCK", block)
            _same(groups_module.config_groups(measurements), whole)
            monkeypatch.setattr(groups_module, "_BLOCK", 1 << 16)
    assert len(sorted_pairs) >= 20  # (the sorting way was taken)


def test_is_text_reads_a_categorical_as_its_texts() -> None:
    """`is_text` on a categorical column (its codes) and on a text column give the same mask,
    a text that is no category and missing values included."""
    texts = ["sample", "request", None, "sample", "aggregate"]
    for column in (pd.Series(pd.Categorical(texts)), pd.Series(texts, dtype="str")):
        for text in ("sample", "request", "generic", ""):
            assert is_text(column, text).tolist() == [t == text for t in texts], (column.dtype, text)


def _rows_through_series(measurements: pd.DataFrame, kind: str) -> pd.DataFrame:
    """`rows_of_kind` as it read the columns before, each through its Series (``items()``)."""
    rows = np.flatnonzero((measurements["kind"] == kind).to_numpy(dtype=bool))
    columns: dict[str, object] = {}
    for name, column in measurements.items():
        values = column.array
        if isinstance(values, pd.Categorical):
            codes = values.codes[rows]
            texts = np.asarray(values.categories, dtype=object)[codes]
            texts[codes < 0] = np.nan
            columns[str(name)] = pd.array(texts, dtype="str")
        elif isinstance(column.dtype, np.dtype):
            columns[str(name)] = column.to_numpy()[rows]
        else:
            columns[str(name)] = values.take(rows)
    return pd.DataFrame(columns)


def test_rows_of_kind_reads_columns_of_any_type_as_their_series_give_them() -> None:
    # the columns are read as the frame stores them (no Series each): datetimes, timedeltas, nullable
    # numbers, texts and objects come out as through the Series; a repeated name as before too
    rng = np.random.default_rng(12)
    for _ in range(10):
        measurements = with_group_model(_frame(rng))
        size = len(measurements)
        extra = measurements.assign(
            at=pd.to_datetime(rng.integers(0, 10**9, size), unit="s"),
            at_utc=pd.to_datetime(rng.integers(0, 10**9, size), unit="s", utc=True),
            spent=pd.to_timedelta(rng.integers(0, 100, size), unit="s"),
            count=pd.array(rng.integers(0, 5, size), dtype="Int64"),
            text=pd.array([f"t{i}" for i in rng.integers(0, 3, size)], dtype="str"),
            raw=pd.Series(["x", 2.0, None] * size, dtype=object)[:size].to_numpy(),
        )
        twice = pd.concat([extra, extra[["value", "source"]]], axis=1)
        for frame in (extra, twice):
            for kind in ("request", "generic"):
                found, expected = rows_of_kind(frame, kind), _rows_through_series(frame, kind)
                assert list(found.columns) == list(expected.columns)
                assert list(map(str, found.dtypes)) == list(map(str, expected.dtypes))
                pd.testing.assert_frame_equal(found, expected)


def test_no_rows_of_a_kind_is_a_frame_of_its_own_each_time() -> None:
    # the empty frame is made once per set of column types (`groups._empty_rows`): each caller's copy
    # is its own, whatever it does to it, and the categories of a categorical column play no part
    measurements = with_group_model(_frame(np.random.default_rng(3)))
    first = rows_of_kind(measurements, "aggregate", with_values=True)
    expected = first.copy(deep=True)
    first["values"] = first["values"].astype(str)
    first["extra"] = np.empty(0)
    first.columns = [f"renamed {name}" for name in first.columns]
    again = rows_of_kind(measurements, "aggregate", with_values=True)
    pd.testing.assert_frame_equal(again, expected)
    other = measurements.assign(model=pd.Categorical(["elsewhere"] * len(measurements)))
    pd.testing.assert_frame_equal(rows_of_kind(other, "aggregate", with_values=True), expected)
    texts = measurements.assign(kind="request")  # (a plain text column: its type is part of the key)
    found = rows_of_kind(texts, "aggregate")
    assert list(found.columns) == list(texts.columns) and len(found) == 0 and str(found["kind"].dtype) == "str"


# column types whose names or texts agree while they differ (byte order, unit, zone, na value, closed
# side, fill value): each one's empty frame is its own (`groups._empty_rows` is keyed by the types)
_ALIKE_TYPES = [np.dtype("<f8"), np.dtype(">f8"), np.dtype("f4"), np.dtype("M8[ns]"), np.dtype("M8[s]"),
                np.dtype("m8[ns]"), np.dtype("U3"), np.dtype("U5"), np.dtype("O"),
                pd.StringDtype("python"), pd.StringDtype("python", na_value=np.nan),
                pd.DatetimeTZDtype("ns", "UTC"), pd.DatetimeTZDtype("ns", "Europe/Paris"),
                pd.DatetimeTZDtype("s", "UTC"),
                pd.Int64Dtype(), pd.Float64Dtype(), pd.PeriodDtype("D"), pd.PeriodDtype("M"),
                pd.IntervalDtype("int64", "right"), pd.IntervalDtype("int64", "left"),
                pd.SparseDtype("float64", np.nan), pd.SparseDtype("float64", 0.0)]


def test_no_rows_of_a_kind_keep_each_column_type_however_alike() -> None:
    groups_module._empty_rows.cache_clear()
    for types in (_ALIKE_TYPES, _ALIKE_TYPES[::-1]):
        for dtype in types:
            column = (pd.Series(np.zeros(1, dtype=dtype)) if isinstance(dtype, np.dtype)
                      else pd.Series([], dtype=dtype).reindex([0]))
            frame = pd.DataFrame({"kind": pd.Categorical(["request"]), "x": column})
            for with_values in (False, True):
                found = rows_of_kind(frame, "aggregate", with_values=with_values)
                made = groups_module._empty_rows.__wrapped__(
                    (("kind", groups_module._CATEGORICAL), ("x", frame["x"].dtype)), with_values)
                assert repr(found["x"].dtype) == repr(made["x"].dtype) == repr(frame["x"].dtype), dtype
                if isinstance(frame["x"].dtype, np.dtype):  # (`repr` shows no byte order)
                    assert found["x"].dtype.byteorder == frame["x"].dtype.byteorder, dtype
                pd.testing.assert_frame_equal(found, made)
