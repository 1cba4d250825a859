"""Ranking claims checked against the computed ranking and its noise.

- "best configuration": the named settings are found among the model's configurations that record
  them (the sweep they were chosen from); the claim is set against the fastest of those, with the
  figure the raw rows give the named one, its rank, and a Welch test. With fewer than two values on
  either side nothing is demonstrably best, and the check says exactly that.
- "fastest model": each model's best configuration, compared the same way.
- "X is N% faster than Y": the two models' medians over all their successful rows (roll-ups, said
  so), the percentage they give, and whether the difference exceeds the noise.

A claim whose names match no model, or several, is reported as not checked and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.core.analysis.requests import coded, median, row_positions, welch
from bot.core.codes import column_array, combine
from bot.core.config import Config, format_config_value
from bot.core.context import decode
from bot.core.metrics import METRICS
from bot.core.numbers import format_number
from bot.core.types import RankingClaim

if TYPE_CHECKING:
    from bot.core.analysis.results import Analysis

SIGNIFICANCE = 0.05
_ALIASES = {"temp": "temperature", "ctx": "num_ctx", "gpu_layers": "num_gpu"}


@dataclass(frozen=True)
class RankingCheck:
    source: str
    kind: str  # best_config | fastest_model | faster_by
    text: str  # the claim as written
    model: str  # the model it was resolved to ('' when it could not be)
    status: str  # consistent | contradicted | not demonstrable | unverifiable
    verdict: str  # one sentence for the report, the facts and the JSON
    claimed_value: float | None = None
    actual_value: float | None = None  # what the raw rows give the thing the claim names
    best: str = ""  # the computed best (configuration or model)
    best_value: float | None = None
    rank: int | None = None
    of: int | None = None
    n_claimed: int = 0
    n_best: int = 0
    p_value: float | None = None
    unit: str = "tok/s"
    sources: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def check_rankings(claims: Sequence[RankingClaim], analysis: Analysis) -> list[RankingCheck]:
    if not claims:
        return []
    rows = _Successful(analysis.measurements)
    known = rows.models()
    out = []
    for claim in claims:
        if claim.kind == "best_config":
            out.append(_best_config(claim, rows, known))
        elif claim.kind == "fastest_model":
            out.append(_fastest_model(claim, rows, known))
        else:
            out.append(_faster_by(claim, rows, known))
    return out


class _Successful:
    """The successful request and sample rows with a value, as the columns' codes and the values
    (arrays: each claim selects its few rows with a mask on codes, no frame per selection)."""

    def __init__(self, measurements: pd.DataFrame) -> None:
        m = measurements
        if m.empty:
            self.rows = np.empty(0, dtype=np.int64)
        else:
            values = column_array(m, "value", dtype="float64")
            self.rows = row_positions(m)
            self.rows = self.rows[~column_array(m, "failed", dtype=bool)[self.rows] & ~np.isnan(values[self.rows])]
            self.values = values[self.rows]
        # per column: each row's code and the texts they stand for (no categorical made per column)
        self.codes: dict[str, np.ndarray] = {}
        self.texts: dict[str, np.ndarray] = {}
        for name in ("model", "metric", "config", "context", "source"):
            column = coded(m[name]) if len(self.rows) else pd.Categorical([])
            self.codes[name] = column.codes[self.rows] if len(self.rows) else np.empty(0, dtype=np.int8)
            self.texts[name] = np.asarray(column.categories, dtype=object)
        if not len(self.rows):
            self.values = np.empty(0)
        self._code_of: dict[str, dict[str, int]] = {}  # per column: its texts' codes
        # what claims ask for again (summaries name the same few models): `resolve` of a name, `_values`
        self._resolved: dict[str, tuple[str, list[str]]] = {}
        self._values: dict[tuple[str, str, str | None], np.ndarray] = {}
        self._ranked: dict[tuple[str, str, tuple[str, ...]], list[dict[str, Any]]] = {}  # (`_ranked`)

    def models(self) -> list[str]:
        return sorted(self.texts["model"][np.unique(self.codes["model"])].tolist())

    def equals(self, name: str, text: str) -> np.ndarray:
        """Which rows have ``text`` in column ``name``."""
        if name not in self._code_of:
            self._code_of[name] = {text: code for code, text in enumerate(self.texts[name].tolist())}
        code = self._code_of[name].get(text, -1)
        return self.codes[name] == code if code >= 0 else np.zeros(len(self.rows), dtype=bool)

    def text(self, name: str, positions: np.ndarray) -> np.ndarray:
        """The texts of column ``name`` at ``positions`` (of the successful rows), NaN where missing."""
        codes = self.codes[name][positions]
        found = self.texts[name][codes] if len(self.texts[name]) else np.full(len(codes), np.nan, dtype=object)
        found[codes < 0] = np.nan
        return found

    def resolve(self, name: str, known: Sequence[str]) -> tuple[str, list[str]]:
        """`resolve` of ``name`` among ``known`` (the same models for every claim of a call)."""
        if name not in self._resolved:
            self._resolved[name] = resolve(name, known)
        model, options = self._resolved[name]
        return model, list(options)

    def frame(self, wanted: np.ndarray) -> pd.DataFrame:
        """The rows ``wanted`` (a mask) as a frame of model, config and value."""
        return pd.DataFrame({"model": self.text("model", wanted), "config": self.text("config", wanted),
                             "value": self.values[wanted]})


def resolve(name: str, known: Sequence[str]) -> tuple[str, list[str]]:
    """(the model a written name means, every model it could mean)."""
    if not name:
        return "", []
    low = name.lower().strip("*` .,;:!?")
    exact = [m for m in known if m.lower() == low]
    if exact:
        return exact[0], exact
    head, *tags = low.split()
    prefix = [m for m in known if m.lower().startswith(head) and m[len(head):len(head) + 1] in (":", "-", "_", "/", "")]
    if tags:  # 'Llama3.1 q4_0': the family, narrowed by the tags written after it
        prefix = [m for m in prefix if all(tag in m.lower() for tag in tags)]
    return (prefix[0], prefix) if len(prefix) == 1 else ("", prefix)


def _stated(value: float | None, unit: str) -> str:
    return format_number(value, unit, style="statement") if value is not None else "–"


def _unverifiable(claim: RankingClaim, why: str, model: str = "") -> RankingCheck:
    return RankingCheck(source=claim.source, kind=claim.kind, text=claim.text, model=model, status="unverifiable",
                        verdict=f"not checked: {why}", claimed_value=claim.value, sources=(claim.source,))


# --- best configuration -------------------------------------------------------------------------
def _settings(claim: RankingClaim) -> dict[str, str]:
    return {_ALIASES.get(k, k): format_config_value(v) for k, v in claim.config}


def _candidates(rows: _Successful, scope: np.ndarray, settings: dict[str, str]) -> list[dict[str, Any]]:
    """Per configuration that records every named setting: its values of them, median, n, values and
    where its rows' sources are (`_sources`); the fastest first. Only the settings' names are read
    (which configurations record them, and their values there), not the values the claim gives them."""
    number, first = _combined(rows.codes["config"][scope], rows.codes["context"][scope])
    order = np.argsort(number, kind="stable")
    bounds = np.searchsorted(number[order], np.arange(len(first) + 1)).tolist()
    values = rows.values[scope][order]
    source_texts = rows.texts["source"][rows.codes["source"][scope[order]]]
    source_texts.flags.writeable = False  # (its slices are the candidates' `sources_at`: `_ranked` keeps them)
    # each group's texts read at once (a categorical's item, one by one, costs a pandas call each)
    group_configs, group_contexts = (rows.texts[name][rows.codes[name][scope[first]]].tolist()
                                     for name in ("config", "context"))
    keys = sorted(settings)
    wanted = settings.keys()
    # a configuration's groups (by config text, in the order they first occur): its named values, and
    # where each group's rows are (a group's sources are read only for the candidates a verdict names)
    by_config: dict[str, tuple[tuple[tuple[str, str], ...], list[slice]]] = {}
    for group, (config, context) in enumerate(zip(group_configs, group_contexts, strict=True)):
        dims = decode(str(context))
        if not wanted <= dims.keys():
            continue
        part = slice(bounds[group], bounds[group + 1])
        found = by_config.get(config)
        if found is None:
            by_config[config] = (tuple(zip(keys, map(dims.__getitem__, keys), strict=True)), [part])
        else:
            found[1].append(part)
    merged: list[dict[str, Any]] = [
        {"config": config, "named": named,
         "values": values[parts[0]] if len(parts) == 1 else np.concatenate([values[p] for p in parts]),
         "sources_at": [source_texts[p] for p in parts]}
        for config, (named, parts) in by_config.items()]
    for candidate in merged:  # (kept for the next claim naming the same settings: `_ranked`)
        candidate["values"].flags.writeable = False
    medians = _medians([c["values"] for c in merged])
    for candidate, middle in zip(merged, medians.tolist(), strict=True):
        candidate["median"], candidate["n"] = middle, int(candidate["values"].size)
    return [merged[i] for i in _descending(medians).tolist()]


_FEW = 512  # rows `_combined` numbers by a dict (a real archive's model has ~50 rows of a metric)


def _combined(config: np.ndarray, context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`combine` of the two code columns: each row's combination number, combinations numbered in the
    order they first occur, and each one's first row (64-bit). Up to `_FEW` rows by a dict: combine's
    numpy steps cost ~50 µs however few the rows (~10 µs this way for ~50)."""
    if len(config) > _FEW:
        return combine(config, context)
    seen: dict[tuple[int, int], int] = {}
    first: list[int] = []
    number: list[int] = []
    for at, pair in enumerate(zip(config.tolist(), context.tolist(), strict=True)):
        found = seen.get(pair)
        if found is None:
            found = seen[pair] = len(first)
            first.append(at)
        number.append(found)
    return np.asarray(number, dtype=np.int64), np.asarray(first, dtype=np.int64)


def _sources(candidate: dict[str, Any]) -> set[str]:
    """The sources of a candidate's rows (`_candidates`)."""
    return {source for texts in candidate["sources_at"] for source in texts.tolist()}


def _ranked(rows: _Successful, model: str, metric: str, settings: dict[str, str]) -> list[dict[str, Any]]:
    """`_candidates` of ``model``'s ``metric`` rows for the names of ``settings``, kept for the next claim
    naming the same model, metric and settings (a summary and a report name the same best configuration:
    ~0.2 ms a claim on the real archive); read only, as `_values`."""
    key = (model, metric, tuple(sorted(settings)))
    if key not in rows._ranked:
        scope = np.flatnonzero(rows.equals("model", model) & rows.equals("metric", metric))
        rows._ranked[key] = _candidates(rows, scope, settings)
    return rows._ranked[key]


def _medians(groups: list[np.ndarray]) -> np.ndarray:
    """`median` of each (non-empty) array, all from one sort: a claim's model has dozens of configurations,
    and a call each cost more than ranking them. The same arithmetic (the middle value, or the two
    middle ones added and halved); with a zero or NaN among the values `median` itself decides
    (which zero, -0.0 or 0.0, comes out is numpy's)."""
    if not groups:
        return np.empty(0, dtype="float64")
    values = np.concatenate(groups)
    sizes = np.asarray([len(group) for group in groups], dtype=np.int64)
    if (sizes == 1).all() and values.dtype == np.float64 and not (values == 0.0).any():
        # one value each (a sweep of single runs): each is its own median (not a zero: numpy's median of
        # -0.0 is 0.0; not an integer: the medians are floats), without the sort
        return values
    # `median` itself for a zero or NaN, and for an empty group (which it refuses: one sort would
    # hand it its neighbours' middle values); and for other types than float64 (two integers added
    # here, numpy means them in float64)
    if values.dtype != np.float64 or np.isnan(values).any() or (values == 0.0).any() or not sizes.all():
        return np.asarray([median(group) for group in groups], dtype="float64")
    labels = np.repeat(np.arange(len(groups)), sizes)
    ordered = values[np.lexsort((values, labels))]  # by group, then value
    middle = np.cumsum(sizes) - sizes + sizes // 2
    with np.errstate(over="ignore", invalid="ignore"):  # both branches are computed; `median` computes one
        return np.where(sizes % 2 == 1, ordered[middle], (ordered[middle - 1 + sizes % 2] + ordered[middle]) / 2)


def _descending(values: np.ndarray) -> np.ndarray:
    """The order ``sort_values(ascending=False)`` gives values without NaN (pandas' ``nargsort``: a
    quicksort of the reversed values, reversed; ties come out as there, not in a stable order)."""
    backwards = np.arange(len(values))[::-1]
    return backwards[values[::-1].argsort(kind="quicksort")][::-1]


def _best_config(claim: RankingClaim, rows: _Successful, known: list[str]) -> RankingCheck:
    model, options = rows.resolve(claim.model, known)
    if not model:
        return _unverifiable(claim, _name_problem(claim.model, options))
    settings = _settings(claim)
    ranked = _ranked(rows, model, claim.metric, settings)
    if not ranked:
        return _unverifiable(claim, f"no configuration of {model} records {', '.join(sorted(settings))}", model)
    wanted = tuple(sorted(settings.items()))
    hits = [i for i, candidate in enumerate(ranked) if candidate["named"] == wanted]
    if len(hits) != 1:
        return _unverifiable(claim, f"{Config.from_context(settings).text} is not one configuration of {model}'s "
                                    "raw rows", model)
    return _rank_verdict(claim, model, ranked, int(hits[0]), settings)


def _named(named: tuple[tuple[str, str], ...]) -> str:
    return Config.from_pairs(named).text


def _rank_verdict(claim: RankingClaim, model: str, ranked: list[dict[str, Any]], hit: int,
                  settings: dict[str, str]) -> RankingCheck:
    unit = METRICS[claim.metric].unit
    mine, best = ranked[hit], ranked[0]
    other = ranked[1] if hit == 0 and len(ranked) > 1 else best
    p, method = welch(mine["values"], other["values"])
    separable = p is not None and p < SIGNIFICANCE and mine["n"] >= 2 and other["n"] >= 2
    parts = [f"{claim.source} names {_named(mine['named'])} the best configuration of {model}"
             + (f" at {_stated(claim.value, unit)}" if claim.value is not None else "")]
    parts.append(f"the raw rows give it {_stated(mine['median'], unit)} (n={mine['n']}, rank {hit + 1} of "
                 f"{len(ranked)} configurations recording {', '.join(sorted(settings))})")
    if hit != 0:
        parts.append(f"the fastest is {_named(best['named'])} at {_stated(best['median'], unit)} (n={best['n']})")
    status, noise = _noise(hit == 0, separable, p, method, int(min(mine["n"], other["n"])), len(ranked))
    parts.append(noise)
    return RankingCheck(source=claim.source, kind=claim.kind, text=claim.text, model=model, status=status,
                        verdict="; ".join(parts) + ".", claimed_value=claim.value,
                        actual_value=float(mine["median"]), best=_named(best["named"]),
                        best_value=float(best["median"]), rank=hit + 1, of=len(ranked), n_claimed=int(mine["n"]),
                        n_best=int(best["n"]), p_value=p, unit=unit,
                        sources=tuple(sorted({claim.source, *_sources(mine), *_sources(best)})))


def _noise(is_best: bool, separable: bool, p: float | None, method: str, n_min: int, count: int) -> tuple[str, str]:
    if n_min < 2:
        each = "one request per configuration" if n_min == 1 else "too few values"
        return "not demonstrable", (f"with {each} no configuration of the {count} is demonstrably best"
                                    if count > 1 else f"with {each} nothing can be separated from noise")
    test = f"{method}, p={p:.2g}" if p is not None else method
    if is_best:
        if separable:
            return "consistent", f"it is the fastest and the gap to the runner-up exceeds the noise ({test})"
        return "not demonstrable", f"it is the fastest but within the noise of the runner-up ({test})"
    if separable:
        return "contradicted", f"the gap to the fastest exceeds the noise ({method}, p={p:.2g})"
    return "not demonstrable", "the gap to the fastest is within the noise" + (f" ({method}, p={p:.2g})" if p else "")


# --- models -------------------------------------------------------------------------------------
def _name_problem(name: str, options: list[str]) -> str:
    if not name:
        return "it names no model"
    if options:
        return f"'{name}' matches {len(options)} models ({', '.join(options[:4])})"
    return f"'{name}' matches no model of the raw rows"


def _best_per_model(rows: _Successful, metric: str) -> pd.DataFrame:
    scope = rows.frame(rows.equals("metric", metric))
    if scope.empty:
        return pd.DataFrame()
    medians = scope.groupby(["model", "config"])["value"].agg(["median", "count"]).reset_index()
    higher = METRICS[metric].higher_is_better
    medians = medians.sort_values("median", ascending=not higher)
    return medians.drop_duplicates("model").reset_index(drop=True)


def _values(rows: _Successful, model: str, metric: str, config: str | None = None) -> np.ndarray:
    """The values of a model's metric (of one configuration, or all), in row order; read only (kept
    for the next claim naming the same model: a write would change what it reads)."""
    key = (model, metric, config)
    if key not in rows._values:
        mask = rows.equals("model", model) & rows.equals("metric", metric)
        if config is not None:
            mask &= rows.equals("config", config)
        values = rows.values[mask]
        values.flags.writeable = False
        rows._values[key] = values
    return rows._values[key]


def _fastest_model(claim: RankingClaim, rows: _Successful, known: list[str]) -> RankingCheck:
    model, options = rows.resolve(claim.subject, known)
    if not model:
        return _unverifiable(claim, _name_problem(claim.subject, options))
    best = _best_per_model(rows, claim.metric)
    if len(best) < 2 or model not in set(best["model"]):
        return _unverifiable(claim, "fewer than two models have values to rank", model)
    unit = METRICS[claim.metric].unit
    rank = int(best.index[best["model"] == model][0])
    top = best.iloc[0]
    mine = best.iloc[rank]
    other = best.iloc[1] if rank == 0 else top
    a = _values(rows, model, claim.metric, str(mine["config"]))
    b = _values(rows, str(other["model"]), claim.metric, str(other["config"]))
    p, method = welch(a, b)
    separable = p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2
    status, noise = _noise(rank == 0, separable, p, method, int(min(a.size, b.size)), len(best))
    noise = noise.replace("configuration", "model")
    verdict = (f"{claim.source} calls {model} the fastest model; by each model's best configuration it ranks "
               f"{rank + 1} of {len(best)} at {_stated(float(mine['median']), unit)} (n={int(mine['count'])})"
               + ("" if rank == 0 else f"; the fastest is {top['model']} at {_stated(float(top['median']), unit)}")
               + f"; {noise}.")
    return RankingCheck(source=claim.source, kind=claim.kind, text=claim.text, model=model, status=status,
                        verdict=verdict, actual_value=float(mine["median"]), best=str(top["model"]),
                        best_value=float(top["median"]), rank=rank + 1, of=len(best), n_claimed=int(a.size),
                        n_best=int(b.size), p_value=p, unit=unit, sources=(claim.source,))


def _faster_by(claim: RankingClaim, rows: _Successful, known: list[str]) -> RankingCheck:
    subject, s_options = rows.resolve(claim.subject, known)
    other, o_options = rows.resolve(claim.other, known)
    if not subject:
        return _unverifiable(claim, _name_problem(claim.subject, s_options))
    if not other:
        return _unverifiable(claim, _name_problem(claim.other, o_options), subject)
    a, b = _values(rows, subject, claim.metric), _values(rows, other, claim.metric)
    if not a.size or not b.size:
        return _unverifiable(claim, f"no {claim.metric} values for both {subject} and {other}", subject)
    unit = METRICS[claim.metric].unit
    ma, mb = median(a), median(b)
    ratio = (ma / mb - 1.0) * 100.0 if mb else 0.0
    advantage = ratio if METRICS[claim.metric].higher_is_better else -ratio
    p, method = welch(a, b)
    separable = p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2
    claimed = claim.percent or 0.0
    agrees = (advantage > 0) == (claimed > 0) and abs(advantage - claimed) <= max(2.0, 0.1 * abs(claimed))
    status = "consistent" if agrees and separable else ("contradicted" if not agrees else "not demonstrable")
    word = "faster" if advantage >= 0 else "slower"
    verdict = (f"{claim.source} says {subject} is {abs(claimed):g}% {'faster' if claimed >= 0 else 'slower'} than "
               f"{other}; their medians over all successful rows (roll-ups across configurations) are "
               f"{_stated(ma, unit)} (n={a.size}) and {_stated(mb, unit)} (n={b.size}): {abs(advantage):.1f}% {word}, "
               + (f"beyond the noise ({method}, p={p:.2g})" if separable else f"not separable from noise ({method})"))
    if claim.value is not None and claim.other_value:
        verdict += f"; the figures it states ({claim.value:g} vs {claim.other_value:g}) give " \
                   f"{(claim.value / claim.other_value - 1) * 100:.1f}%"
    return RankingCheck(source=claim.source, kind=claim.kind, text=claim.text, model=subject, status=status,
                        verdict=verdict + ".", claimed_value=claim.percent, actual_value=advantage, best=other,
                        best_value=mb, n_claimed=int(a.size), n_best=int(b.size), p_value=p, unit="%",
                        sources=(claim.source,))
