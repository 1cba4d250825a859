"""`assign_configs` and its `_configurations` against the way they were written before (round 10):
each dimension's values gathered one context's item at a time, its key texts joined per context
from a mapping of contexts, its numbers assigned through numpy per (model, metric), and the greedy key
choice counting every set of names, one name too. Random contexts rich in gaps, empty values, path
parts, escapes and odd Unicode; the same dimensions, keys and configuration column to the text."""

from __future__ import annotations

import random
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from bot.core.codes import categorical, combine, from_codes, grouped_models
from bot.core.config import escape_key, escape_value
from bot.core.context import LOCATION_DIMENSIONS, decode, encode
from bot.core.dimensions import Dimensions, DimensionTable, _configurations, _key_dimensions, _Partition, assign_configs

_MOST_DROPPED_BEFORE = 64  # (`dimensions._MOST_DROPPED` as it was)


def _key_dimensions_before(varying: list[str], values: Mapping[str, list[str | None]],
                           distinct: Mapping[str, set[str | None]]) -> list[str]:
    if len(varying) < 2:
        return list(varying)
    part = _Partition(varying, values)
    full = part.count(varying)
    counted: dict[tuple[str, ...], int] = {}

    def count_of(names: list[str]) -> int:
        if tuple(names) not in counted:
            counted[tuple(names)] = part.count(names)
        return counted[tuple(names)]

    order = sorted(varying, key=lambda name: (None in distinct[name], name in LOCATION_DIMENSIONS, "" in distinct[name],
                                              len(distinct[name]), name))
    key: list[str] = []
    labels = [0] * part.size
    count = 1
    for name in order:
        found = len(set(zip(labels, values[name], strict=True)))
        if found > count:
            key.append(name)
            count = found
            if count == full:
                break
            cells: dict[tuple[int, str | None], int] = {}
            labels = [cells.setdefault(pair, len(cells)) for pair in zip(labels, values[name], strict=True)]

    def own(names: list[str]) -> int:
        return count_of([n for n in names if n not in LOCATION_DIMENSIONS])

    if len(key) > _MOST_DROPPED_BEFORE:
        return sorted(key)
    for name in reversed(list(key)):
        rest = [n for n in key if n != name]
        if rest and count_of(rest) == count and part.all_named(rest) and own(rest) >= own(key):
            key = rest
    return sorted(key)


def _configurations_before(model: str, metric: str, contexts: list[str]) -> tuple[Dimensions, dict[str, str]]:
    decoded = [decode(c) for c in contexts]
    size = len(decoded)
    values: dict[str, list[str | None]] = {}
    for at, found in enumerate(decoded):
        for name, value in found.items():
            column = values.get(name)
            if column is None:
                column = values[name] = [None] * size
            column[at] = value
    names = sorted(values)
    distinct = {name: set(values[name]) for name in names}
    varying = [name for name in names if len(distinct[name]) > 1]
    constant = {name: str(values[name][0]) for name in names if len(distinct[name]) == 1}
    key = _key_dimensions_before(varying, values, distinct)
    shown = [(values[name], {value: prefix + escape_value(value) for value in distinct[name] if value is not None})
             for name, prefix in ((name, escape_key(name) + "=") for name in key)]
    texts = {context: ",".join([parts[cell] for column, parts in shown if (cell := column[at]) is not None])
             for at, context in enumerate(contexts)}
    dims = Dimensions(model=model, metric=metric, varying=tuple(varying), key=tuple(key), constant=constant,
                      configurations=len(set(texts.values())))
    return dims, texts


def _assign_before(frame: pd.DataFrame) -> tuple[pd.DataFrame, DimensionTable]:
    models = grouped_models(frame["model"], frame["source"])
    metrics = categorical(frame["metric"])
    contexts = categorical(frame["context"])
    combination, first = combine(models.codes, metrics.codes, contexts.codes)
    model_names, metric_names = models.categories.tolist(), metrics.categories.tolist()
    context_texts = contexts.categories.tolist()
    model_of, metric_of, context_of = models.codes[first], metrics.codes[first], contexts.codes[first]
    pair, pair_first = combine(model_of, metric_of)
    order = np.argsort(pair, kind="stable")
    bounds = np.searchsorted(pair[order], np.arange(len(pair_first) + 1)).tolist()
    table: DimensionTable = {}
    texts: dict[str, int] = {}
    config_of = np.zeros(len(first), dtype=np.int64)
    made: dict[bytes, tuple[Dimensions, np.ndarray]] = {}
    pairs = zip(model_of[pair_first].tolist(), metric_of[pair_first].tolist(), strict=True)
    for at, (model_code, metric_code) in enumerate(pairs):
        model, metric = model_names[model_code], metric_names[metric_code]
        numbers = order[bounds[at]:bounds[at + 1]]
        codes = context_of[numbers]
        contexts_key = codes.tobytes()
        if contexts_key not in made:
            found = [context_texts[code] for code in codes.tolist()]
            dims, keys = _configurations_before(model, metric, found)
            made[contexts_key] = dims, np.array([texts.setdefault(keys[context], len(texts)) for context in found],
                                                dtype=np.int64)
        dims, config_codes = made[contexts_key]
        if (dims.model, dims.metric) != (model, metric):
            dims = Dimensions(model, metric, dims.varying, dims.key, dims.constant, dims.configurations)
        table[(model, metric)] = dims
        config_of[numbers] = config_codes
    out = frame.copy(deep=False)
    out["config"] = from_codes(config_of[combination], list(texts))
    return out, table


_NAMES = ["num_ctx", "temperature", "backend", "a,b", "x=y", "back\\slash", "é", "\u2028", "", *LOCATION_DIMENSIONS]
_VALUES = ["1", "2", "", "a,b", "c\\d", "x=1", "é", "\x1c", "\u2028", "\ud800", "long " * 5]


def _contexts(rng: random.Random) -> list[str]:
    names = rng.sample(_NAMES, rng.randint(0, len(_NAMES)))
    gaps, spread = rng.random() * 0.6, rng.randint(1, len(_VALUES))
    found = {encode({name: rng.choice(_VALUES[:spread]) for name in names if rng.random() >= gaps})
             for _ in range(rng.randint(1, 30))}
    return sorted(found)  # (distinct contexts, as `assign_configs` hands them over)


@pytest.mark.parametrize("seed", range(400))
def test_configurations_are_those_made_before(seed: int) -> None:
    contexts = _contexts(random.Random(seed))
    dims, texts = _configurations("m", "ttft_ms", contexts)
    expected, expected_texts = _configurations_before("m", "ttft_ms", contexts)
    assert dims == expected
    assert texts == [expected_texts[context] for context in contexts]


@pytest.mark.parametrize("seed", range(100))
def test_assigned_configs_are_those_assigned_before(seed: int) -> None:
    rng = random.Random(seed)
    contexts = [_contexts(rng) for _ in range(3)]
    size = rng.randint(1, 80)
    texts = {
        "model": [rng.choice(["", "m1", "m2"]) for _ in range(size)],
        "source": [rng.choice(["a.csv", "b.json"]) for _ in range(size)],
        "metric": [rng.choice(["ttft_ms", "throughput_tok_s"]) for _ in range(size)],
        "context": [rng.choice(rng.choice(contexts)) for _ in range(size)],
        "config": [""] * size,
    }
    # categoricals (an ingested frame), plain texts and objects (a frame read back: numpy columns, which
    # `column_values` hands over as their arrays)
    for dtype in ("category", "str", "object"):
        frame = pd.DataFrame({name: pd.Series(column, dtype=dtype) for name, column in texts.items()})
        found, table = assign_configs(frame)
        expected, expected_table = _assign_before(frame)
        assert table == expected_table and list(table) == list(expected_table)
        assert found["config"].tolist() == expected["config"].tolist()
        assert found["config"].cat.categories.tolist() == expected["config"].cat.categories.tolist()


@pytest.mark.parametrize("seed", range(300))
def test_key_dimensions_are_those_chosen_before(seed: int) -> None:
    # random columns with gaps (None) and empty values, path parts among the names
    rng = random.Random(seed)
    size = rng.randint(2, 25)
    names = rng.sample(_NAMES, rng.randint(2, 8))
    gaps, spread = rng.random() * 0.5, rng.randint(2, 6)
    values = {n: [None if rng.random() < gaps else rng.choice(["", "a", "b", "c", "d", "e"][:spread])
                  for _ in range(size)] for n in names}
    distinct = {n: set(column) for n, column in values.items()}
    varying = sorted(n for n in names if len(distinct[n]) > 1)
    assert _key_dimensions(varying, values, distinct) == _key_dimensions_before(varying, values, distinct)


def test_a_key_past_the_drop_limit_is_the_one_chosen_before() -> None:
    # 65 key dimensions (over the 64 the drop pass tries), the first of them ("a") made redundant by the
    # last ("c"): kept as before, not dropped (a reference without the limit drops it)
    size = 66
    values: dict[str, list[str | None]] = {"a": ["1" if i < 2 else "0" for i in range(size)],
                                           "c": ["x", "y"] + ["z"] * (size - 2)}
    for j in range(2, size):
        values[f"b{j:02d}"] = ["1" if i == j else "0" for i in range(size)]
    distinct = {n: set(column) for n, column in values.items()}
    varying = sorted(values)
    found = _key_dimensions(varying, values, distinct)
    assert found == _key_dimensions_before(varying, values, distinct)
    assert len(found) == 65 and "a" in found
    contexts = [encode({n: column[i] for n, column in values.items()}) for i in range(size)]
    dims, texts = _configurations("m", "ttft_ms", contexts)
    expected, expected_texts = _configurations_before("m", "ttft_ms", contexts)
    assert dims == expected and len(dims.key) == 65
    assert texts == [expected_texts[context] for context in contexts]
