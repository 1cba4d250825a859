"""Configurations: which dimensions vary, per model and metric, and the ``config`` key of every row.

A configuration is the set of dimensions whose values *vary* among one model's rows for one metric
(a dimension that one row records and another does not varies too: "unrecorded" is a value). Rows
whose varying dimensions are all equal form one configuration; a statistic is never computed over
rows of two configurations. `assign_configs` writes the key of each row's configuration into the
``config`` column, once, after the whole archive is read.

The key names the *smallest* set of varying dimensions that already tells every configuration apart
(taken greedily: dimensions every row records first, fewer values first, path parts and the
record's place in its file last), so a redundant dimension —
``config_name`` beside ``num_gpu``/``num_ctx``/``temperature``, ``build_number`` beside
``build_commit`` — stays in the row's context but not in its key. Rows that do not record a key
dimension leave it out of their key text. The partition into configurations is the same whatever the
key's choice: only its spelling is shortened.

Models that are not named never share a configuration across files: their rows are grouped per
source file (`group_model`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from bot.core.codes import UNNAMED_MODEL, categorical, column_values, combine, from_codes, group_model, grouped_models
from bot.core.config import Config, escape_key, escape_value
from bot.core.context import LOCATION_DIMENSIONS, decode

__all__ = ["UNNAMED_MODEL", "DimensionTable", "Dimensions", "assign_configs", "config_values", "dimensions_of",
           "group_model", "varying_names"]

@dataclass(frozen=True)
class Dimensions:
    """What tells one model's configurations apart for one metric."""

    model: str  # as grouped (`group_model`)
    metric: str
    varying: tuple[str, ...]  # every dimension whose value differs between rows
    key: tuple[str, ...]  # the dimensions the configuration key names (a subset of ``varying``)
    constant: dict[str, str] = field(default_factory=dict)  # one value in every row
    configurations: int = 1

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "metric": self.metric, "varying": list(self.varying),
                "key": list(self.key), "constant": dict(self.constant),
                "configurations": self.configurations}


DimensionTable = dict[tuple[str, str], Dimensions]


def assign_configs(frame: pd.DataFrame) -> tuple[pd.DataFrame, DimensionTable]:
    """A copy of the measurement frame with ``config`` set from ``context``, and the dimensions found.

    Pure; linear in the rows: the work is done once per distinct (model, metric, context), found on
    the columns' codes (`bot.core.codes`).
    """
    if frame.empty:
        return frame.copy(), {}
    models = grouped_models(column_values(frame, "model"), column_values(frame, "source"))
    metrics = categorical(column_values(frame, "metric"))
    contexts = categorical(column_values(frame, "context"))
    combination, first = combine(models.codes, metrics.codes, contexts.codes)
    model_names, metric_names = models.categories.tolist(), metrics.categories.tolist()
    context_texts = contexts.categories.tolist()
    # The distinct (model, metric, context) combinations by (model, metric), in the order they occur:
    # numbered on the codes, so Python loops once per (model, metric) and once per distinct set of contexts.
    model_of, metric_of, context_of = models.codes[first], metrics.codes[first], contexts.codes[first]
    pair, pair_first = combine(model_of, metric_of)
    order = np.argsort(pair, kind="stable")  # each pair's combinations in the order they occur
    bounds = np.searchsorted(pair[order], np.arange(len(pair_first) + 1)).tolist()
    # (each pair's context codes, pair after pair, as one list: a pair's are a slice of it, and its
    # contexts' key a tuple of them; a few numpy calls per pair, ~1 µs each, cost more on small archives)
    in_order = context_of[order].tolist()
    table: DimensionTable = {}
    texts: dict[str, int] = {}
    configs: list[int] = []  # each combination's configuration number, in ``order``
    made: dict[tuple[int, ...], tuple[Dimensions, list[int]]] = {}  # by the contexts: a model's metrics share them
    pairs = zip(model_of[pair_first].tolist(), metric_of[pair_first].tolist(), strict=True)
    for at, (model_code, metric_code) in enumerate(pairs):
        model, metric = model_names[model_code], metric_names[metric_code]
        codes = tuple(in_order[bounds[at]:bounds[at + 1]])
        known = made.get(codes)
        if known is None:
            dims, keys = _configurations(model, metric, [context_texts[code] for code in codes])
            known = made[codes] = dims, [texts.setdefault(key, len(texts)) for key in keys]
        dims, config_codes = known
        if (dims.model, dims.metric) != (model, metric):  # made for another metric of the model
            dims = Dimensions(model, metric, dims.varying, dims.key, dims.constant, dims.configurations)
        table[(model, metric)] = dims
        configs.extend(config_codes)
    config_of = np.empty(len(first), dtype=np.int64)
    config_of[order] = configs
    out = frame.copy(deep=False)
    out["config"] = from_codes(config_of[combination], list(texts))
    return out, table


def dimensions_of(frame: pd.DataFrame) -> DimensionTable:
    """The dimensions of an already assigned frame (what `assign_configs` found)."""
    return assign_configs(frame)[1] if not frame.empty else {}


def _configurations(model: str, metric: str, contexts: list[str]) -> tuple[Dimensions, list[str]]:
    """The dimensions of one (model, metric) and the config key of each of its distinct contexts (in
    their order)."""
    decoded = [decode(c) for c in contexts]
    # Each dimension's value per context (None where a context does not record it), a column at a
    # time over the names any context records (a pass over every context's items, a value at a
    # time, was ~20% slower on the real archive's contexts)
    names = sorted(set().union(*decoded))
    values: dict[str, list[str | None]] = {name: [found.get(name) for found in decoded] for name in names}
    distinct = {name: set(values[name]) for name in names}
    varying = [name for name in names if len(distinct[name]) > 1]
    constant = {name: str(values[name][0]) for name in names if len(distinct[name]) == 1}
    key = _key_dimensions(varying, values, distinct)
    # Each key dimension's "name=value" text once per distinct value, not once per context, as a
    # column (None where a context does not record it, which its key leaves out); each context's key
    # joins its row of them.
    shown: list[list[str | None]] = []
    for name in key:
        prefix = escape_key(name) + "="  # (never empty: no part of a key is)
        parts: dict[str | None, str] = {value: prefix + escape_value(value) for value in distinct[name]
                                        if value is not None}
        shown.append(list(map(parts.get, values[name])))
    texts = [",".join(filter(None, row)) for row in zip(*shown, strict=True)] if shown else [""] * len(contexts)
    dims = Dimensions(model=model, metric=metric, varying=tuple(varying), key=tuple(key), constant=constant,
                      configurations=len(set(texts)))
    return dims, texts


def config_text(dimensions: Mapping[str, str], key: list[str]) -> str:
    """``Config.from_context`` of the key's dimensions a row records, as text (``key`` sorted)."""
    return _key_text(dimensions, [(name, escape_key(name) + "=") for name in key])


def _key_text(dimensions: Mapping[str, str], prefixes: list[tuple[str, str]]) -> str:
    """`config_text` with each key dimension's ``name=`` already escaped."""
    return ",".join([prefix + escape_value(dimensions[name]) for name, prefix in prefixes if name in dimensions])


class _Partition:
    """Which contexts a set of dimensions tells apart: contexts with equal values in all of them are
    one cell. Cells are counted as distinct tuples of values (one pass in C per count)."""

    def __init__(self, varying: list[str], values: Mapping[str, list[str | None]]) -> None:
        self.values = values
        self.size = len(values[varying[0]]) if varying else 0

    def count(self, names: list[str]) -> int:
        if not self.size:
            return 0
        if not names:
            return 1
        return len(set(zip(*(self.values[n] for n in names), strict=True)))

    def all_named(self, names: list[str]) -> bool:
        """Every cell has a value in one of ``names`` (no context records none of them): no cell is
        the tuple of None in all of them (one pass in C, not a test per value)."""
        if not names:
            return not self.size
        return (None,) * len(names) not in set(zip(*(self.values[n] for n in names), strict=True))


# A key of more dimensions than this keeps them all (none is tried for dropping): the drop pass
# counts every context once per dimension tried, so a table of N records each naming its own field
# (N dimensions, N contexts) took N³ steps (1,000 records: 17 s; 4,000: minutes).
_MOST_DROPPED = 64


def _key_dimensions(varying: list[str], values: Mapping[str, list[str | None]],
                    distinct: Mapping[str, set[str | None]]) -> list[str]:
    """Greedy: keep a dimension when it splits the configurations found so far, until every
    configuration stands apart. Dimensions every row records come first (so no configuration is left
    without a value to be named by), then record fields before path parts, fewest values first.
    ``distinct``: each dimension's set of values."""
    if len(varying) < 2:  # what the greedy choice below gives for one dimension: itself (it varies)
        return list(varying)
    part = _Partition(varying, values)
    full = part.count(varying)
    counted: dict[tuple[str, ...], int] = {}

    def count_of(names: list[str]) -> int:  # `part.count`, once per set of names
        if len(names) == 1:  # (one name's cells are its distinct values, known)
            return len(distinct[names[0]])
        if tuple(names) not in counted:
            counted[tuple(names)] = part.count(names)
        return counted[tuple(names)]

    order = sorted(varying, key=lambda name: (None in distinct[name], name in LOCATION_DIMENSIONS, "" in distinct[name],
                                              len(distinct[name]), name))
    key: list[str] = []
    labels = [0] * part.size  # each context's cell among the dimensions kept so far
    count = 1
    for name in order:
        # (with no dimension kept yet, every context is in one cell: the cells are the name's values)
        found = len(distinct[name]) if not key else len(set(zip(labels, values[name], strict=True)))
        if found > count:
            key.append(name)
            count = found
            if count == full:
                break  # (the cells are not numbered again: nothing reads them any more)
            cells: dict[tuple[int, str | None], int] = {}
            labels = [cells.setdefault(pair, len(cells)) for pair in zip(labels, values[name], strict=True)]
    # Then drop what the others already tell apart (an early pick can become redundant), as long
    # as every configuration keeps a value to be named by and the record's own fields still tell
    # apart as much as before (a path part never stands in for a setting).
    def own(names: list[str]) -> int:
        return count_of([n for n in names if n not in LOCATION_DIMENSIONS])

    if len(key) > _MOST_DROPPED:  # each try counts every context over the rest: key² × contexts
        return sorted(key)
    for name in reversed(list(key)):
        rest = [n for n in key if n != name]
        if rest and count_of(rest) == count and part.all_named(rest) and own(rest) >= own(key):
            key = rest
    return sorted(key)


def config_values(config: str) -> dict[str, str]:
    """A config key back as {dimension: value} (the structured form the JSON carries); a new dict on
    every call (callers may change theirs)."""
    return dict(_config_items(config)) if config else {}


@lru_cache(maxsize=4096)
def _config_items(config: str) -> tuple[tuple[str, str], ...]:
    """`config_values` as pairs, kept: every analysis reads each group's and table row's configuration
    again, and reading one was ~3 µs of Python for a few hundred of them."""
    return tuple(Config.parse(config).as_dict().items())


def varying_names(table: DimensionTable, model: str, metrics: Iterable[str]) -> tuple[str, ...]:
    """The dimensions that vary for a model over any of ``metrics``, sorted."""
    names: set[str] = set()
    for metric in metrics:
        dims = table.get((model, metric))
        if dims is not None:
            names.update(dims.varying)
    return tuple(sorted(names))
