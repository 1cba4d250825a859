"""Check the archive's own claims (summary files, Markdown) against its raw rows."""

from __future__ import annotations

import re
import sys
import weakref
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.requests import RequestCodes, array_statistic, median, percentile_of
from bot.core.codes import column_array, column_list, narrowed
from bot.core.config import Config, escape_key, escape_value
from bot.core.context import decode
from bot.core.dimensions import group_model
from bot.core.types import CLAIM_COLUMNS

CHECKABLE = {"mean", "median", "min", "max", "std"}  # and every pNN


@lru_cache(maxsize=1024)
def checkable(statistic: str) -> bool:
    return statistic in CHECKABLE or bool(re.fullmatch(r"p\d+(?:\.\d+)?", statistic))


# slots: ~48 B less per check (10,000 files: ~35,000 checks). Not frozen: a frozen dataclass's __init__
# sets each field through ``object.__setattr__`` (~4 µs a check against ~0.4 µs here; a real archive makes
# ~700 checks per analysis, ~2.5 ms). Never change a check once made; ``unsafe_hash`` keeps the hash
# (and ``eq`` the equality) a frozen one has.
@dataclass(slots=True, unsafe_hash=True)
class ClaimCheck:
    source: str
    model: str
    config: str
    metric: str
    statistic: str
    claimed: float
    actual: float
    unit: str
    status: str  # 'match' | 'mismatch'
    raw_sources: tuple[str, ...]
    n: int
    explanation: str = ""


def resolve_claim_model(claim_model: str, context: str, config: str, known: list[str]) -> tuple[str, str]:
    """(model, config) of a claim; '' model when it cannot be pinned to one of the known models."""
    if claim_model in known:
        return claim_model, config
    parsed = Config.parse(config)
    if len(parsed.items) == 1 and parsed.keys() == ("tag",):
        tag = parsed.get("tag")
        matches = [m for m in known if m.endswith((":" + tag, "-" + tag, "_" + tag))]
        if len(matches) == 1:
            return matches[0], ""
    lowered = (claim_model + " " + context).lower()
    hits = [m for m in sorted(known, key=len, reverse=True) if m and m.lower() in lowered]
    if hits:
        return hits[0], config
    return "", config


def check_claims(claims: pd.DataFrame, requests: pd.DataFrame, generic: pd.DataFrame,
                 aliases: dict[str, list[str]] | None = None,
                 codes: RequestCodes | None = None) -> tuple[list[ClaimCheck], int]:
    """Checks of every claim that can be pinned to raw rows, and the count of those that cannot.

    A claim is checked against the raw files *nearest* to it (same folder first, then the closest
    ancestor folder that holds any): a summary describes its own run, and a wrong number must not
    pass because another run happens to have that mean. ``aliases`` maps a kept file to the paths
    of its duplicates, which count as its locations too.

    Each of those files alone (in sorted order), then all of them together, gives the candidate
    values: the first within the claim's tolerance is a match, else the closest (the first of equals)
    is the mismatch. Claims about one model, configuration, metric and statistic whose nearest files
    are the same share their candidates, so those are computed once (`_Index.candidates`) and the
    claims weighed against them together (`_weigh`): a summary whose own raw files were left out
    (a job limit) falls back to hundreds of files, and a large archive has thousands of such claims.
    The usual claim of a real archive names a model and configuration found in one file only: its
    candidates are that file's statistics, whatever folder it is in (`_weigh_one_file`).

    ``codes``: the request frame's `RequestCodes`, when known (else its models and sources are factorized).
    """
    index = _Index(requests, aliases or {}, codes)
    known = index.known_models()
    generic_index = _GenericIndex(generic)
    # The claims are read column by column; a claim's named tuple is made only where one is needed (a
    # time measurement's check, a mismatch's explanation), not for each of tens of thousands.
    columns: dict[str, list[Any]] = {name: column_list(claims, name) if name in claims else [None] * len(claims)
                                    for name in CLAIM_COLUMNS}
    # (the column's own dtype: a nullable Float64 column converts to float64 but holds pd.NA, which `if v` rejects)
    if "value" in claims and claims["value"].dtype == np.float64:  # (floats only: 1 and 1.0 are one key)
        # a claimed number is kept by its check: one float per distinct value (10,000 files: ~35,000 claims,
        # a third repeating another's). Zero stays as it is: 0.0 and -0.0 are one key but print differently.
        shared: dict[float, float] = {}
        columns["value"] = [shared.setdefault(v, v) if v else v for v in columns["value"]]
        del shared
    if "precision" in claims and claims["precision"].dtype == np.float64:
        # read for its margin only (`_margin`), kept until the last claim is weighed: one float per distinct
        # precision (equal ones, 0.0 and -0.0 too, give the same margin), one NaN for all (~1 MB at 10,000 files)
        shared, nan = {}, float("nan")
        columns["precision"] = [shared.setdefault(p, p) if p == p else nan for p in columns["precision"]]
        del shared
    found: list[ClaimCheck | None] = [None] * len(claims)  # None: cannot be checked (yet)
    one_file, waiting = _by_candidates(columns, known, index, generic_index, found)
    for name in ("model", "config", "context"):  # read only to pin the claims: let go before the checks are made
        del columns[name]
    _weigh_one_file(one_file, columns, index, found)
    _weigh_waiting(waiting, columns, index, found)
    del index, generic_index, columns  # (let go before the list of checks is made: at 10,000 files the highest point)
    checks = [check for check in found if check is not None]
    return checks, len(found) - len(checks)


def _by_candidates(columns: dict[str, list[Any]], known: list[str], index: _Index, generic_index: _GenericIndex,
                   found: list[ClaimCheck | None]) -> tuple[list[tuple[int, _Scope, str, str]], _Waiting]:
    """The claims to weigh: those whose model and configuration are found in one file, each with that
    scope, its model and configuration; the others by (model, configuration). Time measurements are
    checked here, into ``found``."""
    models = set(known)
    one_file: list[tuple[int, _Scope, str, str]] = []
    waiting: _Waiting = {}
    resolved: dict[tuple[str, str, str], tuple[str, str]] = {}
    unnamed: dict[str, str] = {}  # a source's own grouped model, when it has rows (else '')
    # each claim's (model, configuration) when it is pinned to one (shared tuples: no object per claim)
    pinned: list[tuple[str, str] | None] = [None] * len(found)
    own = (columns["source"], columns["model"], columns["config"], columns["metric"], columns["statistic"],
           columns["context"])
    values, precisions, checked = columns["value"], columns["precision"], index.metrics
    for at, (source, named, config, metric, statistic, context) in enumerate(zip(*own, strict=True)):
        if not checkable(statistic):
            continue
        if metric == "time_ms":
            found[at] = _check_generic(source, config, statistic, values[at], precisions[at], generic_index)
            continue
        if metric not in checked:
            continue
        if not named:
            # a claim about the rows of its own file, which names no model (grouped per source)
            if source not in unnamed:
                grouped = group_model("", source)
                unnamed[source] = grouped if grouped in models else ""
            named = unnamed[source]
        mention = (named or "", context or "", config or "")
        pin = resolved.get(mention)
        if pin is None:  # summaries repeat the same few models and configurations
            pin = resolved[mention] = resolve_claim_model(*mention, known)
        if pin[0] or pin[1]:  # a claim without a model can still be checked when its configuration pins one run
            pinned[at] = pin
    index.make_scopes([key for key in dict.fromkeys(pinned) if key is not None])
    scopes: dict[tuple[str, str], _Scope] = {}  # (`index.scope`, looked up once per pair)
    sources = columns["source"]
    for at, key in enumerate(pinned):
        if key is None:
            continue
        model, config = key
        scope = scopes.get(key)
        if scope is None:
            scope = scopes[key] = index.scope(model, config)
        if len(scope.sources) == 1:  # every folder it is near to gives the one file's statistics
            # (and every folder has a nearest one: the archive root, '', is at or above every file)
            one_file.append((at, scope, model, config))
        elif scope.nearest(_folder(sources[at])) is not None:  # (None: the scope has no rows)
            waiting.setdefault(key, []).append(at)  # grouped by nearest folder when weighed (`_weigh_waiting`)
    return one_file, waiting


def _weigh_one_file(one_file: list[tuple[int, _Scope, str, str]], columns: dict[str, list[Any]], index: _Index,
                    found: list[ClaimCheck | None]) -> None:
    """Each claim whose candidates are one file's statistics (`_Index.candidates` of a one-file scope)
    weighed against them (`_weigh_one`), the checks written into ``found``.

    In a real archive nearly every claim is one of these, each about its own model and configuration:
    one small numpy call per claim would cost more than the statistics themselves, so the statistics
    of every (scope, metric) asked for are worked out together, per statistic (`_pair_statistics`)."""
    numbered: dict[str, dict[tuple[int, str], int]] = {}  # statistic -> (scope, metric) -> pair
    pairs: dict[str, list[tuple[_Scope, str]]] = {}
    pair_of: list[int] = []
    # the columns as locals: this loop and the next run once per claim (hundreds in a real archive)
    metrics, statistics, values, precisions = (columns[name] for name in ("metric", "statistic", "value", "precision"))
    for at, scope, _, _ in one_file:
        metric, name = metrics[at], statistics[at]
        known = numbered.setdefault(name, {})
        pair = known.setdefault((id(scope), metric), len(known))
        if pair == len(pairs.setdefault(name, [])):  # new: its number is the next one
            pairs[name].append((scope, metric))
        pair_of.append(pair)
    figures = {name: _pair_statistics(found_pairs, name, index.column) for name, found_pairs in pairs.items()}
    sources_column, units = columns["source"], columns["unit"]
    for (at, scope, model, config), pair in zip(one_file, pair_of, strict=True):
        metric, statistic = metrics[at], statistics[at]
        count, actuals = figures[statistic][pair]
        if not actuals:
            continue
        value = values[at]
        if len(actuals) == 1:  # `_weigh_one` of one value (the usual case), without the call
            actual = actuals[0]
            pick, match = 0, abs(actual - value) <= max(_margin(precisions[at]), 1e-3 * abs(actual), 1e-9)
        else:
            pick, match = _weigh_one(actuals, value, _margin(precisions[at]))
        sources = scope.own
        explanation = "" if match else _explain(metric, statistic, value, precisions[at], index, model, config, sources)
        found[at] = ClaimCheck(sources_column[at], model, config, metric, statistic, value,
                               _one(actuals[pick], value), units[at], "match" if match else "mismatch",
                               sources, count, explanation)


def _weigh_waiting(waiting: _Waiting, columns: dict[str, list[Any]], index: _Index,
                   found: list[ClaimCheck | None]) -> None:
    """Each scope's claims, by the candidates they are weighed against (nearest folder, metric,
    statistic), weighed against them, the checks written into ``found``.

    A scope's claims are grouped and weighed together, then the scope is let go
    (`_Index.forget_scope`) with the values and statistics it keeps: at 10,000 files (~35,000 claims,
    16 scopes) a scope's are a few MB, and holding every scope and every claim's group until the last
    check was the analysis' highest memory."""
    sources, metrics, statistics = columns["source"], columns["metric"], columns["statistic"]
    while waiting:
        (model, config), claims = waiting.popitem()
        scope = index.scope(model, config)
        groups: dict[tuple[str, str], dict[str, list[int]]] = {}  # (metric, statistic) -> nearest folder -> claims
        for at in claims:  # (each claim's nearest folder is known: `_by_candidates` asked for it)
            folder = scope.nearest(_folder(sources[at]))
            assert folder is not None
            groups.setdefault((metrics[at], statistics[at]), {}).setdefault(folder, []).append(at)
        del claims
        # by metric, then statistic: the scope's figures of a statistic (one list per file) are let go
        # once its claims are weighed, and a metric's values after its last statistic
        ordered = sorted(groups)
        for at, (metric, statistic) in enumerate(ordered):
            for folder, pending in groups.pop((metric, statistic)).items():
                _weigh_group((model, config, folder, metric, statistic), pending, columns, index, found)
            scope.forget(metric, statistic, values=at + 1 == len(ordered) or ordered[at + 1][0] != metric)
        del scope
        index.forget_scope(model, config)


def _weigh_group(key: _Key, pending: list[int], columns: dict[str, list[Any]], index: _Index,
                 found: list[ClaimCheck | None]) -> None:
    """The claims ``pending`` weighed against the candidates of ``key``, the checks written into ``found``."""
    candidates = index.candidates(key)
    if candidates.actuals:
        model, config = key[0], key[1]
        claimed = [columns["value"][at] for at in pending]
        margins = [_margin(columns["precision"][at]) for at in pending]
        weighed = _weigh(candidates, claimed, margins)
        for at, value, (pick, match) in zip(pending, claimed, weighed, strict=True):
            sources, n = candidates.groups[candidates.owners[pick]]
            explanation = "" if match else _explain(key[3], key[4], value, columns["precision"][at], index, model,
                                                    config, sources)
            found[at] = ClaimCheck(columns["source"][at], model, config, key[3], key[4], value,
                                   _one(candidates.actuals[pick], value), columns["unit"][at],
                                   "match" if match else "mismatch", sources, n, explanation)


def _one(actual: float, claimed: float) -> float:
    """``claimed`` itself when ``actual`` is the same float, else ``actual``: a check keeps one object for
    both (~30% of checks at 10,000 files). Not zero: 0.0 and -0.0 are equal but print differently."""
    return claimed if actual == claimed and actual and type(actual) is float and type(claimed) is float else actual


@lru_cache(maxsize=65536)
def _folder(path: str) -> str:
    """``str(PurePosixPath(path).parent)``; read off the text when the path is plain (`_plain`), as an
    archive's are: making a path object costs ~5 µs, and a fresh process reads every file's path once.
    Interned: the cache keeps one per path (10,000 files: ~9,000), and the files of a folder share it.
    (Interned strings are freed on 3.11, our image's Python; on CPython 3.12.0-3.12.5 they are never
    freed, so a long-running bot there would keep every folder name it has seen.)"""
    if not _plain(path):
        return sys.intern(str(PurePosixPath(path).parent))
    folder = path.rpartition("/")[0]
    return sys.intern(folder or ".")


@lru_cache(maxsize=65536)
def _stem(path: str) -> str:
    """The path without its extension: ``str(PurePosixPath(path).with_suffix(""))``, read off the text
    when the path is plain (as `_folder`)."""
    if not _plain(path):
        return str(PurePosixPath(path).with_suffix(""))
    folder, slash, name = path.rpartition("/")
    dot = name.rfind(".")
    return folder + slash + name[:dot] if 0 < dot < len(name) - 1 else path  # PurePath.suffix's rule


def _plain(path: str) -> bool:
    """A relative path that `PurePosixPath` reads as written: no empty, '.' or trailing part."""
    return bool(path) and not path.startswith("/") and "//" not in path and not path.endswith("/") and all(
        part != "." for part in path.split("/"))


def _margin(precision: float | None) -> float:
    """The rounding a claim shows (a little over, for the float error of the rounding itself)."""
    return float(precision or 0.0) * 1.0001


def _tolerance(precision: float | None, actual: float) -> float:
    """Rounding the claim shows, or 0.1% — raw files themselves are often rounded (77.73 tok/s), so a
    summary computed from unrounded values may differ from ours in the last digits (as `_weigh_one`)."""
    return max(_margin(precision), 1e-3 * abs(actual), 1e-9)


_Key = tuple[str, str, str, str, str]  # model, configuration, nearest folder, metric, statistic
# the claims waiting for their candidates, by (model, configuration)
_Waiting = dict[tuple[str, str], list[int]]


class _Candidates:
    """The values claims about one model, configuration, metric and statistic near one folder are weighed
    against, in the order they are tried: each nearest file alone (sorted), then all of them together;
    ``owners`` says which of ``groups`` (sources, number of values) each value is of."""

    def __init__(self, actuals: list[float], owners: list[int], groups: list[tuple[tuple[str, ...], int]]) -> None:
        self.actuals = actuals
        self.owners = owners
        self.groups = groups


def _weigh(candidates: _Candidates, claimed: list[float], margins: list[float]) -> list[tuple[int, bool]]:
    """For each claim (value, margin): the candidate it matches first or, when it matches none, the
    closest (the first of equals), and whether it matched. Few values are weighed one by one
    (`_weigh_one`); many (summaries far from their raw files) as arrays, with the same answers."""
    if len(claimed) * len(candidates.actuals) <= 128:  # below this numpy's cost per call is more than the loop's
        return [_weigh_one(candidates.actuals, value, margin) for value, margin in zip(claimed, margins, strict=True)]
    picks, matched = _weigh_many(np.array(candidates.actuals, dtype="float64"), np.array(claimed, dtype="float64"),
                                 np.array(margins, dtype="float64"))
    return list(zip(picks.tolist(), matched.tolist(), strict=True))


def _weigh_one(actuals: list[float], claimed: float, margin: float) -> tuple[int, bool]:
    """The first value within tolerance of ``claimed``, else the closest (the first of equals)."""
    best: int | None = None
    for at, actual in enumerate(actuals):
        if abs(actual - claimed) <= max(margin, 1e-3 * abs(actual), 1e-9):
            return at, True
        if best is None or abs(actual - claimed) < abs(actuals[best] - claimed):
            best = at
    assert best is not None, "a claim is weighed against at least one value"
    return best, False


def _weigh_many(actuals: np.ndarray, claimed: np.ndarray, margins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_weigh_one` for many claims (value, margin) at once, with the same float operations: a NaN
    difference never matches and is never closer (``<``), unless it is the first, which the loop
    keeps as its start."""
    picks, matched = np.empty(len(claimed), dtype=np.int64), np.empty(len(claimed), dtype=bool)
    row = actuals[None, :]
    rows = max(1, (1 << 15) // actuals.size)  # claims weighed at once: ~1 MB of temporaries
    for start in range(0, len(claimed), rows):
        part = slice(start, start + rows)
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in the loop, without a warning
            distance = np.abs(row - claimed[part, None])
        within = distance <= np.maximum(np.maximum(margins[part, None], 1e-3 * np.abs(row)), 1e-9)
        unknown = np.isnan(distance)
        closest = np.where(unknown, np.inf, distance).argmin(axis=1)
        closest[unknown[:, 0]] = 0
        matched[part] = within.any(axis=1)
        picks[part] = np.where(matched[part], within.argmax(axis=1), closest)
    return picks, matched


_MAX_CELLS = 256  # a model's (setting, source) cells walked in Python at most (`_Index.cells`)
_BATCH_CELLS = 1 << 22  # scopes made at once (`_Index.make_scopes`) when pairs x rows is at most this
_BLOCK_CELLS = 1 << 18  # pairs x rows of one mask of `_Index.make_scopes` at most (a real archive: one)

_METRIC_COLUMNS = ("throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "prompt_eval_ms", "eval_ms",
                   "prompt_tokens", "output_tokens", "tpot_ms", "itl_ms")


class _Index:
    """The request frame arranged for finding a claim's raw rows fast (rows are positions in the frame).

    A claim names settings, and the rows whose context holds them are found from an index of each
    setting's parts (not by testing every row); what a claim is weighed against is made once for all
    the claims that share it (`candidates`)."""

    def __init__(self, requests: pd.DataFrame, aliases: dict[str, list[str]],
                 codes: RequestCodes | None = None) -> None:
        self.frame = requests
        self.aliases = aliases
        self.metrics = {c for c in _METRIC_COLUMNS if c in requests.columns}
        empty = requests.empty
        self.failed = np.empty(0, dtype=bool) if empty else column_array(requests, "failed", dtype=bool)
        if codes is not None and not empty:
            # the frame's own codes (`request_frame` read its model and source texts from them): the same
            # numbering of the same texts up to order, which nothing here depends on (scopes sort their
            # sources by name), without factorizing two text columns again (~0.2 ms on a real archive).
            # Their texts may include some no request has (another kind's rows): left out of `model_code`,
            # as factorizing leaves them out (`known_models`).
            self.model_codes, models = codes.model
            self.source_codes, self.source_names = codes.source
            present = np.bincount(self.model_codes, minlength=len(models)).tolist()
            self.model_code = {model: code for code, model in enumerate(models) if present[code]}
        else:
            self.model_codes, models = _codes(requests, "model")
            self.model_code = {model: code for code, model in enumerate(models)}
            self.source_codes, self.source_names = _codes(requests, "source")
        self.setting_codes, self.settings = _setting_codes(requests)
        # each part's settings (codes, ascending; a list: appending costs less than adding to a set, and
        # a setting's parts are distinct, so no code is listed twice)
        self.postings: defaultdict[_Part, list[int]] = defaultdict(list)
        for code, parts in enumerate(self.settings):
            for part in parts:
                self.postings[part].append(code)
        self._columns: dict[str, np.ndarray] = {}
        self._model_rows: dict[str, np.ndarray] = {}
        self._covering: dict[str, np.ndarray] = {}
        self._covering_codes: dict[str, set[int]] = {}
        self._cells: dict[str, dict[int, list[tuple[int, np.ndarray]]] | None] = {}
        self._scopes: dict[tuple[str, str], _Scope] = {}
        self._by_source: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None  # (`request_rows`)
        self._cold: np.ndarray | None = None
        # the folder tables of the scopes alive, by their sources (`_Folders`): weak, so a table goes with
        # the last scope that uses it (`forget_scope`)
        self._folders: weakref.WeakValueDictionary[tuple[str, ...], _Folders] = weakref.WeakValueDictionary()

    def known_models(self) -> list[str]:
        """The named models of the requests, sorted."""
        return sorted(model for model in self.model_code if model)

    def column(self, metric: str) -> np.ndarray:
        if metric not in self._columns:
            values = column_array(self.frame, metric)
            # (a float column's missing values are NaN already: `to_numpy`'s ``na_value`` has nothing to replace)
            self._columns[metric] = (values if values.dtype == np.float64
                                     else self.frame[metric].to_numpy(dtype="float64", na_value=np.nan))
        return self._columns[metric]

    def covering_codes(self, config: str) -> set[int]:
        """The codes of the settings that hold every part of ``config`` (non-empty)."""
        if config not in self._covering_codes:
            # from the part held by the fewest settings (the same set: an intersection's order does not matter)
            found = sorted((self.postings.get(part, ()) for part in _config_parts(config)), key=len)
            self._covering_codes[config] = set(found[0]).intersection(*found[1:]) if found else set()
        return self._covering_codes[config]

    def covering(self, config: str) -> np.ndarray:
        """By setting code, whether the setting holds every part of ``config`` (non-empty); one more,
        last, for rows without a context (code -1), which hold none."""
        if config not in self._covering:
            mask = np.zeros(len(self.settings) + 1, dtype=bool)
            mask[sorted(self.covering_codes(config))] = True
            self._covering[config] = mask
        return self._covering[config]

    def model_rows(self, model: str) -> np.ndarray:
        """The successful rows of ``model`` (any model when '')."""
        if model not in self._model_rows:
            ok = ~self.failed
            if model:
                ok &= self.model_codes == self.model_code.get(model, -2)
            self._model_rows[model] = np.flatnonzero(ok)
        return self._model_rows[model]

    def scope(self, model: str, config: str) -> _Scope:
        """The successful rows of ``model`` (any model when '') whose context holds ``config``."""
        key = (model, config)
        if key not in self._scopes:
            cells = self.cells(model)
            if cells is None:
                rows = self.model_rows(model)
                if config:
                    rows = rows[self.covering(config)[self.setting_codes[rows]]]
                self._scopes[key] = _Scope(rows, self.source_codes[rows], self.source_names, self.aliases,
                                            shared=self._folders)
            else:
                self._scopes[key] = self._scope_of_cells(cells, config)
        return self._scopes[key]

    def forget_scope(self, model: str, config: str) -> None:
        """Let the scope of (``model``, ``config``) go, once no claim is left to weigh against it."""
        self._scopes.pop((model, config), None)

    def make_scopes(self, keys: list[tuple[str, str]]) -> None:
        """Make the scopes (`scope`) of ``keys`` (distinct (model, configuration) pairs), all at once when
        the pairs times the successful rows are few enough for one mask (a real archive: a few hundred of
        each). Each is then the same as `scope` makes it, one numpy pass for all rather than a few numpy
        and Python calls each: a real archive's claims name ~170 pairs, and making their scopes one by
        one was a third of checking them."""
        keys = [key for key in keys if key not in self._scopes]
        ok = np.flatnonzero(~self.failed)
        if not keys or len(keys) * len(ok) > _BATCH_CELLS:
            return  # each made when asked for
        # 32-bit positions (the scopes keep them), and each row's codes read once for all blocks
        ok = narrowed(ok, len(self.failed))
        settings, models = self.setting_codes[ok], self.model_codes[ok]
        # by blocks of pairs of at most `_BLOCK_CELLS` cells: the mask and `np.nonzero`'s 64-bit positions
        # of one block at a time (10,000 files, 16 pairs of ~130,000 rows: ~8 MB at once in one block)
        step = max(1, _BLOCK_CELLS // max(len(ok), 1))
        for start in range(0, len(keys), step):
            self._make_block(keys[start:start + step], ok, settings, models)

    def _make_block(self, keys: list[tuple[str, str]], ok: np.ndarray, settings: np.ndarray,
                    models: np.ndarray) -> None:
        """`make_scopes` of ``keys``, one mask: ``ok`` the successful rows, ``settings`` and ``models``
        their setting and model codes."""
        configs: dict[str, int] = {}
        for _, config in keys:
            configs.setdefault(config, len(configs))
        covers = np.zeros((len(configs), len(self.settings) + 1), dtype=bool)  # last: rows without a context
        # every configuration's covering settings set at once (one numpy call, not one a configuration)
        places: list[int] = []
        for config, at in configs.items():
            if config:
                places += [at * covers.shape[1] + code for code in self.covering_codes(config)]  # (any order)
            else:
                covers[at] = True  # no configuration: every row of the model
        covers.ravel()[places] = True
        wanted = np.array([self.model_code.get(model, -2) if model else -1 for model, _ in keys])
        mask = covers[[configs[config] for _, config in keys]][:, settings]
        mask &= (wanted[:, None] == -1) | (models[None, :] == wanted[:, None])
        pair, column = np.nonzero(mask)  # each pair's rows in frame order
        del mask  # (each temporary let go as soon as it is used)
        rows = ok[column]
        del column
        sources = self.source_codes[rows]
        bounds = np.searchsorted(pair, np.arange(len(keys) + 1)).tolist()
        starts = np.asarray(bounds[:-1])
        first = sources[np.minimum(starts, max(len(sources) - 1, 0))] if len(sources) else starts
        mixed = np.bincount(pair[sources != first[pair]], minlength=len(keys)).tolist()  # rows of another source
        del pair
        # (lists: this loop runs once per pair, and a numpy scalar costs more per look than a list's item)
        ones = [code if low < high and not other and code >= 0 else None for code, other, low, high
                in zip(first.tolist(), mixed, bounds, bounds[1:], strict=False)]
        for at, key in enumerate(keys):
            part = rows[bounds[at]:bounds[at + 1]]
            if ones[at] is not None:  # one file
                self._scopes[key] = _Scope(part, None, self.source_names, self.aliases, single=ones[at])
            else:  # (its rows' source codes: a view of `sources`, which are `self.source_codes[part]`)
                self._scopes[key] = _Scope(part, sources[bounds[at]:bounds[at + 1]], self.source_names, self.aliases,
                                            shared=self._folders)

    def cells(self, model: str) -> dict[int, list[tuple[int, np.ndarray]]] | None:
        """The successful rows of ``model`` by setting code, then source (code, rows in frame order); None
        when the model has more of those than a walk in Python over them beats numpy over its rows.

        In a real archive each of a few hundred claims names its own model and configuration: finding its
        rows among a model's few dozen (setting, source) cells costs less than numpy calls over rows."""
        if model not in self._cells:
            rows = self.model_rows(model)
            if len(rows) > _MAX_CELLS * 16:  # a large model: numpy over its rows, not a sort to count cells
                self._cells[model] = None
                return None
            width = len(self.source_names) + 1
            # (64-bit: the codes are 32 bits or fewer, and settings times sources may be more)
            combined = ((self.setting_codes[rows].astype(np.int64) + 1) * width
                        + (self.source_codes[rows].astype(np.int64) + 1))
            order = np.argsort(combined, kind="stable")  # each cell's rows stay in frame order
            found, starts = np.unique(combined[order], return_index=True)
            if len(found) > _MAX_CELLS:
                self._cells[model] = None
            else:
                cells: dict[int, list[tuple[int, np.ndarray]]] = {}
                ordered, bounds = rows[order], [*starts.tolist(), len(rows)]
                for at, code in enumerate(found.tolist()):  # slices: np.split costs more per part
                    part = ordered[bounds[at]:bounds[at + 1]]
                    cells.setdefault(code // width - 1, []).append((code % width - 1, part))
                self._cells[model] = cells
        return self._cells[model]

    def _scope_of_cells(self, cells: dict[int, list[tuple[int, np.ndarray]]], config: str) -> _Scope:
        """`scope` from a model's `cells`: the same rows, in the same order."""
        if config:
            codes = self.covering_codes(config)
            chosen = [cell for setting in cells.keys() & codes for cell in cells[setting]]
        else:
            chosen = [cell for found in cells.values() for cell in found]
        sources = {source for source, _ in chosen}
        if len(sources) == 1 and min(sources) >= 0:  # one file: no numpy over its rows needed but a sort
            rows = chosen[0][1] if len(chosen) == 1 else np.sort(np.concatenate([part for _, part in chosen]))
            return _Scope(rows, None, self.source_names, self.aliases, single=min(sources))
        rows = np.sort(np.concatenate([part for _, part in chosen])) if chosen else np.empty(0, dtype=np.int64)
        return _Scope(rows, self.source_codes[rows], self.source_names, self.aliases, shared=self._folders)

    def candidates(self, key: _Key) -> _Candidates:
        """The statistics of the files below the nearest folder, each alone (sorted) and, when several,
        all together."""
        model, config, folder, metric, name = key
        scope = self.scope(model, config)
        counts = scope.finite_counts(metric, self.column)
        each = scope.statistics(metric, name, self.column)
        chosen = scope.below[folder]
        if len(chosen) == 1:  # the usual case in a real archive: the file's own statistics, shared
            at = scope.position[chosen[0]]
            alone = each[at] if counts[at] else []
            return _Candidates(alone, [0] * len(alone), [(chosen, counts[at])])  # `chosen` is (that file,)
        actuals: list[float] = []
        owners: list[int] = []
        groups: list[tuple[tuple[str, ...], int]] = []
        for source in chosen:
            at = scope.position[source]
            if counts[at]:
                owners += [len(groups)] * len(each[at])
                actuals += each[at]
                groups.append(((source,), counts[at]))
        if len(chosen) > 1:
            values, _, starts = scope.values(metric, self.column)
            pooled = values if len(chosen) == len(scope.sources) else np.concatenate(
                [values[starts[at]:starts[at] + counts[at]] for at in map(scope.position.__getitem__, chosen)])
            if pooled.size:
                pooled_statistics = _np_statistics(pooled, name)
                owners += [len(groups)] * len(pooled_statistics)
                actuals += pooled_statistics
                groups.append((tuple(chosen), int(pooled.size)))
        return _Candidates(actuals, owners, groups)

    def request_rows(self, model: str, config: str, sources: tuple[str, ...]) -> np.ndarray:
        """Every row of ``sources``, failed ones too, of ``model`` and holding ``config`` when given."""
        if self._by_source is None:
            order = np.argsort(self.source_codes, kind="stable")  # rows without a source (-1) first
            # each source's rows counted rather than found by `np.unique` of the sorted codes: the same
            # slices, without its copies of a number per request (10,000 files: ~5 MB at once)
            missing = int(np.count_nonzero(self.source_codes < 0))
            counts = np.bincount(self.source_codes[order[missing:]], minlength=len(self.source_names))
            # kept: the order (32 bits), where each source's rows start and end, and the sources' names sorted
            # with their codes (looked up by bisection): a slice and a dict entry per source were ~3 MB at
            # 10,000 files; a real archive explains a few mismatches
            bounds = np.concatenate(([missing], missing + np.cumsum(counts)))
            by_name = sorted(range(len(self.source_names)), key=self.source_names.__getitem__)
            self._by_source = ([self.source_names[code] for code in by_name], np.asarray(by_name, dtype=np.int64),
                               narrowed(order, len(order)), bounds)
        names, named, order, bounds = self._by_source
        found: list[np.ndarray] = []
        for source in sources:  # (a mismatch's sources: most often one file)
            near = bisect_left(names, source)
            if near < len(names) and names[near] == source:  # (a name among them)
                code = named[near]
                if bounds[code] < bounds[code + 1]:
                    found.append(order[bounds[code]:bounds[code + 1]])
        rows = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        if model:
            rows = rows[self.model_codes[rows] == self.model_code.get(model, -2)]
        if config:
            rows = rows[self.covering(config)[self.setting_codes[rows]]]
        return rows

    def cold(self) -> np.ndarray:
        if self._cold is None:
            self._cold = (column_array(self.frame, "cold_start", dtype=bool) if "cold_start" in self.frame
                          else np.zeros(len(self.frame), dtype=bool))
        return self._cold


class _Scope:
    """The rows of one model and configuration source after source (sources sorted, each one's rows in
    frame order), and for every folder the sources at or below it."""

    # (slots: a real archive makes a few hundred scopes per analysis, and their fields are set faster)
    __slots__ = ("_finite", "_folders", "_nearest", "_statistics", "_values", "below", "counts", "own", "position",
                 "rows", "segment", "sources", "starts")

    def __init__(self, rows: np.ndarray, codes: np.ndarray | None, names: list[str],
                 aliases: dict[str, list[str]], single: int | None = None,
                 shared: weakref.WeakValueDictionary[tuple[str, ...], _Folders] | None = None) -> None:
        """``codes``: each row's source code; or None and ``single``, the one source of every row.
        ``shared``: the folder tables of other scopes, by their sources, to use and add to."""
        self.segment: np.ndarray | None  # each row's source, by position in `sources`; None: all the first
        self._folders: _Folders | None = None  # (a multi-file scope: keeps its shared tables alive)
        self.below: dict[str, tuple[str, ...]]  # not changed once made: may be shared
        self._nearest: dict[str, str | None]
        self.own: tuple[str, ...]  # the sources, sorted (a one-file scope's candidates' sources)
        self._values: dict[str, tuple[np.ndarray, list[int], list[int]]] = {}
        self._statistics: dict[tuple[str, str], list[list[float]]] = {}
        self._finite: dict[str, list[int]] = {}
        if codes is None:  # one file, the usual scope in a real archive (a few hundred per analysis): the
            assert single is not None  # same fields as below, set without the general steps
            source = names[single]
            self.rows, self.segment, self.counts, self.starts = rows, None, [len(rows)], [0]
            self.own, self.sources, self.position = (source,), [source], {source: 0}
            self.below, self._nearest = _below_one(source, tuple(aliases.get(source, ()))), {}
            return
        if not len(codes):  # no rows (a claim's configuration no run has): what the steps below give, without them
            # (copies: a view would keep the array it is a slice of, all pairs' rows at 10,000 files, alive)
            self.rows, self.segment, self.counts, self.starts = rows.copy(), codes[:0].astype(np.int32), [], []
            self.own, self.sources, self.position, self.below, self._nearest = (), [], {}, {}, {}
            return
        per_code = np.bincount(codes, minlength=len(names))
        ordered = sorted(np.flatnonzero(per_code).tolist(), key=names.__getitem__)
        self.counts = per_code[ordered].tolist()  # rows per source
        self.own = tuple(names[code] for code in ordered)
        if len(ordered) == 1:
            self.sources = list(self.own)
            self.position = {self.own[0]: 0}
            self.below, self._nearest = _below_one(self.own[0], tuple(aliases.get(self.own[0], ()))), {}
        else:
            folders = shared.get(self.own) if shared is not None else None
            if folders is None:
                folders = _Folders(self.own, aliases)
                if shared is not None:
                    shared[self.own] = folders
            self._folders = folders
            self.own, self.sources, self.position = folders.own, folders.sources, folders.position
            self.below, self._nearest = folders.below, folders.nearest
        if len(ordered) == 1:  # one file: in order already
            self.rows, self.segment = rows, None
        else:
            rank = np.zeros(len(names), dtype=np.int32)  # (a number per row kept: 32 bits are plenty)
            rank[ordered] = np.arange(len(ordered))
            segment = rank[codes]  # each row's source, by position in `sources`
            order = np.argsort(segment, kind="stable")
            self.rows, self.segment = rows[order], segment[order]
        self.starts = [0] if len(ordered) == 1 else _starts(self.counts)

    def nearest(self, folder: str) -> str | None:
        """``folder`` or its closest ancestor that holds any of the sources."""
        if folder not in self._nearest:
            self._nearest[folder] = next((found for found in _ancestors(folder) if found in self.below), None)
        return self._nearest[folder]

    def forget(self, metric: str, name: str, values: bool) -> None:
        """Let the statistic ``name`` of ``metric`` go (and the metric's values when ``values``), once no
        claim is left to weigh against them (asked for again, they are worked out again)."""
        self._statistics.pop((metric, name), None)
        if values:
            self._values.pop(metric, None)

    def finite_counts(self, metric: str, column: Callable[[str], np.ndarray]) -> list[int]:
        """How many finite values of ``metric`` each source has."""
        if metric not in self._finite:
            self._finite[metric] = self.values(metric, column)[1]
        return self._finite[metric]

    def values(self, metric: str, column: Callable[[str], np.ndarray]) -> tuple[np.ndarray, list[int], list[int]]:
        """The finite values of ``metric``, source after source, with each source's count and start."""
        if metric not in self._values:
            found = column(metric)[self.rows]
            finite = np.isfinite(found)
            if finite.all():
                self._values[metric] = (found, self.counts, self.starts)
            else:
                if self.segment is None:
                    counts = [int(finite.sum())]
                else:
                    counts = np.bincount(self.segment[finite], minlength=len(self.sources)).tolist()
                self._values[metric] = (found[finite], counts, _starts(counts))
        return self._values[metric]

    def statistics(self, metric: str, name: str, column: Callable[[str], np.ndarray]) -> list[list[float]]:
        """`_np_statistics` of each source's values (in `sources` order)."""
        if (metric, name) not in self._statistics:
            values, counts, starts = self.values(metric, column)
            self._statistics[metric, name] = _source_statistics(values, counts, starts, name)
        return self._statistics[metric, name]


class _Folders:
    """What a scope of several files knows of its sources (sorted) apart from its rows: their positions,
    for every folder the sources at or below it, and the nearest of those folders to each folder asked
    about (`_Scope.nearest`). All depend on the sources alone, so the scopes of the same sources share
    them (`_Index`): at 10,000 files the 16 scopes each hold the same 1,249 files (their tables were
    ~2 MB, made 16 times), and the checks' ``raw_sources`` are then the same tuples, too."""

    __slots__ = ("__weakref__", "below", "nearest", "own", "position", "sources")

    def __init__(self, own: tuple[str, ...], aliases: dict[str, list[str]]) -> None:
        self.own = own
        self.sources = list(own)
        self.position = {source: at for at, source in enumerate(own)}
        below: dict[str, dict[str, None]] = {}
        for source in own:
            for location in (source, *aliases.get(source, ())):
                for folder in _ancestors(_folder(location)):
                    below.setdefault(folder, {})[source] = None
        # sorted, since `own` is; a tuple each: a large archive has thousands of folders per scope
        self.below: dict[str, tuple[str, ...]] = {folder: tuple(found) for folder, found in below.items()}
        self.nearest: dict[str, str | None] = {}


def _pair_statistics(pairs: list[tuple[_Scope, str]], name: str,
                     column: Callable[[str], np.ndarray]) -> list[tuple[int, list[float]]]:
    """For each (scope of one source, metric): how many finite values it has and their statistic
    ``name`` (`_np_statistics`, as `_Scope.finite_counts` and `_Scope.statistics` give them). The
    pairs' values are taken one after the other (a metric's together), a few tens of thousands at a
    time, and the pairs of one number of values reduced as one block (`_source_statistics`): the same
    numbers. (A real archive has a pair or so per claim: the steps here are few per pair.)"""
    out: list[tuple[int, list[float]]] = []
    sizes = [len(scope.rows) for scope, _ in pairs]
    ends = list(accumulate(sizes))  # the rows up to and with each pair
    start = 0
    while start < len(pairs):
        # up to the pair that brings the chunk to 1 << 15 rows: bounds the temporaries on a large archive
        end = min(bisect_left(ends, (ends[start - 1] if start else 0) + (1 << 15)) + 1, len(pairs))
        by_metric: dict[str, list[np.ndarray]] = {}
        members: dict[str, list[int]] = {}  # each metric's pairs, in order
        for at, (scope, metric) in enumerate(pairs[start:end], start):
            known = by_metric.get(metric)
            if known is None:
                by_metric[metric], members[metric] = [scope.rows], [at]
            else:
                known.append(scope.rows)
                members[metric].append(at)
        if len(by_metric) == 1:  # the chunk's pairs in their own order
            ordered: list[int] | range = range(start, end)
        else:  # a metric's pairs together, in the order of `by_metric` (a stable sort by it: ~50 µs a call)
            ordered = [at for each_metric in members.values() for at in each_metric]
        lengths = [sizes[at] for at in ordered]
        found = np.concatenate([column(metric)[np.concatenate(rows)] for metric, rows in by_metric.items()])
        finite = np.isfinite(found)
        if finite.all():
            values, counts = found, lengths
        else:
            segment = np.repeat(np.arange(len(ordered)), lengths)
            values, counts = found[finite], np.bincount(segment[finite], minlength=len(ordered)).tolist()
        each = _source_statistics(values, counts, _starts(counts), name)
        if isinstance(ordered, range):
            out += zip(counts, each, strict=True)
        else:
            # back in the pairs' order: the pair at ``start + k`` is the ``place[k]``-th of ``ordered``
            place = np.argsort(np.asarray(ordered, dtype=np.int64), kind="stable").tolist()
            made = list(zip(counts, each, strict=True))
            out += map(made.__getitem__, place)
        start = end
    return out


@lru_cache(maxsize=4096)
def _below_one(source: str, aliases: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """`_Scope.below` of a scope of one file (the usual one in a real archive, made for many scopes):
    every folder at or above the file or one of its duplicates. Shared: not to be changed."""
    return {folder: (source,) for location in (source, *aliases) for folder in _ancestors(_folder(location))}


def _starts(counts: list[int]) -> list[int]:
    """Where each of consecutive runs of ``counts`` items starts."""
    return list(accumulate(counts, initial=0))[:-1]


def _codes(requests: pd.DataFrame, name: str) -> tuple[np.ndarray, list[str]]:
    """Each row's number of its value of column ``name`` (-1 when missing), and those values."""
    if requests.empty:
        return np.empty(0, dtype=np.int64), []
    codes, uniques = pd.factorize(column_array(requests, name, dtype=object))  # (half the cost on a text column)
    return narrowed(codes, len(uniques)), uniques.tolist()  # (kept while claims are checked: 4 bytes a row)


def _setting_codes(requests: pd.DataFrame) -> tuple[np.ndarray, list[frozenset[_Part]]]:
    """Each request's number of its distinct settings, and those settings' parts: its whole context as a
    configuration (a claim names settings that may be the same in every row, so are in the context but
    not in the configuration key); -1 when the context is missing, which holds no settings (``decode``
    reads it as empty)."""
    if requests.empty:
        return np.empty(0, dtype=np.int64), []
    column = requests["context"] if "context" in requests else requests["config"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # the frame's context is a categorical (`request_frame`): its codes and categories as they are (a
        # numbering up to order, which nothing here depends on), not a list of texts made to number them
        # again (10,000 files: two copies of a pointer per request, ~2 MB at once). A category no request
        # has (the measurement frame's categories are shared: a real archive, ~130 of ~300) is not read:
        # no settings, so no configuration's parts are found in it.
        values = column.array
        codes = values.codes
        used = np.bincount(codes[codes >= 0], minlength=len(values.categories)).tolist()
        texts = [text if count else None for text, count in zip(values.categories.tolist(), used, strict=True)]
    else:
        codes, texts = _first_seen(column.to_numpy(dtype=object).tolist())
    parts = _context_parts if "context" in requests else _config_parts
    return codes, [frozenset() if text is None else parts(str(text)) for text in texts]


def _first_seen(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """``pd.factorize(values)`` (each value's number in the order values first occur, -1 for a missing
    one: None, NaN or pd.NA), the numbers 32-bit, by a dict. pandas' table hashes every text again where a
    dict uses the hash a ``str`` keeps: on long texts such as contexts pandas takes ~5 times as long
    (10,000 files, 135,000 requests: ~90 ms against ~19; a real archive: ~145 µs against ~60)."""
    number: dict[Any, int] = {}
    na = pd.NA
    codes = np.fromiter((-1 if value is None or value is na or value != value else number.setdefault(value, len(number))
                         for value in values), dtype=np.int32, count=len(values))
    return codes, list(number)


_Part = tuple[str | None, str | None]  # a setting: (dimension, value); (None, text) for any other part


@lru_cache(maxsize=2048)
def _context_parts(text: str) -> frozenset[_Part]:
    """A context text's settings as (dimension, value) pairs: the parts of its configuration
    (``Config.from_context(decode(text)).parts``, each ``k=v`` as `Config` escapes it) one for one,
    without writing them (a fresh process reads an archive's few hundred contexts once, and writing
    them was a third of its first check). Kept between calls."""
    return frozenset(decode(text).items())


@lru_cache(maxsize=4096)
def _config_parts(text: str) -> frozenset[_Part]:
    """A configuration text's parts (`Config.parts`) as settings, to be found among `_context_parts`: a
    part written as `Config` writes a setting is its (key, value); any other (a bare part, an escape
    `Config` would not write) is (None, the part), which no setting is, as no setting's written part is
    that text. So a configuration's parts are among a setting's exactly when their pairs are
    (`Config.covers`)."""
    config = Config.parse(text)
    return frozenset((key, value) if value is not None and part == f"{escape_key(key)}={escape_value(value)}"
                     else (None, part) for part, (key, value) in zip(config.parts, config.items, strict=True))


@lru_cache(maxsize=65536)
def _ancestors(folder: str) -> tuple[str, ...]:
    """'a/b/c' -> ['a/b/c', 'a/b', 'a', '']; '.' (the archive root) -> ['']. Interned, as `_folder`: the
    cache keeps them, and folders share their ancestors."""
    parts = [] if folder in {"", "."} else folder.split("/")
    return tuple(sys.intern("/".join(parts[:i])) for i in range(len(parts), -1, -1))


def _np_statistics(values: np.ndarray, name: str) -> list[float]:
    """The statistic as tools compute it; std both as sample (ddof=1) and population (ddof=0,
    numpy's default, which vLLM uses)."""
    if name == "std":
        return [float(values.std(ddof=d)) for d in (1, 0) if values.size > d]
    value = _statistic(values, name)
    return [] if value is None else [value]


def _statistic(values: np.ndarray, name: str) -> float | None:
    """`array_statistic` (of finite values), a float64 array's mean and median without numpy's
    per-call steps: the mean as ``ndarray.mean`` computes it (the sum over the count: its own two
    steps), the median by `median` (one sort; numpy's bits, tests/core/test_order_statistics.py).
    The same numbers; ~1.5 µs against ~5 for a mean, ~4 against ~25 for a median, and a real
    archive's check of its claims takes a few dozen of them."""
    if values.dtype == np.float64 and values.size:
        if name == "mean":
            return float(values.sum() / values.size)
        if name == "median":
            return median(values)
    return array_statistic(values, name)


def _source_statistics(values: np.ndarray, counts: list[int], starts: list[int], name: str) -> list[list[float]]:
    """`_np_statistics` of each source's values (``values[start:start + count]``), for all the sources
    with the same number of values at once: one row each of a block. Numpy reduces each row of a
    C-contiguous block exactly as it reduces that row alone (same summation order), so these are the
    same numbers bit for bit; tests/core/test_claims.py holds numpy to that."""
    by_size: dict[int, list[int]] = {}
    for at, count in enumerate(counts):
        if count:
            by_size.setdefault(count, []).append(at)
    # a source without values has no figures: one empty list for all of them (read, never changed: a real
    # archive's claims ask for hundreds of sources' figures, nearly all of one value)
    out: list[list[float]] = [[]] * len(counts)
    for size, which in by_size.items():
        if len(which) == 1:  # alone: the block would cost more than it saves
            out[which[0]] = _np_statistics(values[starts[which[0]]:starts[which[0]] + size], name)
            continue
        block = values[np.array([starts[at] for at in which])[:, None] + np.arange(size)]
        columns = [column.tolist() for column in _row_statistics(block, name)]
        if len(columns) == 1:  # (one figure per row: all but the standard deviation)
            for at, figure in zip(which, columns[0], strict=True):
                out[at] = [figure]
        else:
            for at, *figures in zip(which, *columns, strict=True):  # each row's figures, a list (one per column)
                out[at] = figures
    return out


def _row_statistics(block: np.ndarray, name: str) -> list[np.ndarray]:
    """`_np_statistics` (via `array_statistic`) of every row of ``block`` (rows of one size, ≥ 1)."""
    size = block.shape[1]
    if name == "std":
        return [block.std(axis=1, ddof=d) for d in (1, 0) if size > d]
    if name == "mean":
        # (a float64 block's: ``block.mean(axis=1)``'s two steps, as `_statistic`'s mean; numpy sums an
        # integer block's mean in float64, its ``sum`` in integers)
        return [block.sum(axis=1) / size if block.dtype == np.float64 else block.mean(axis=1)]
    if name == "median":
        return [np.median(block, axis=1)]
    percentile = percentile_of(name)
    if percentile is not None:
        return [np.percentile(block, percentile, axis=1)]
    if name == "min":
        return [block.min(axis=1)]
    if name == "max":
        return [block.max(axis=1)]
    return []


def _explain(metric: str, statistic: str, claimed: float, precision: float | None, index: _Index, model: str,
             config: str, sources: tuple[str, ...]) -> str:
    """Look for the usual mistake behind a wrong summary number (``claimed``: the claim's value)."""
    rows = index.request_rows(model, config, sources)
    values = index.column(metric)[rows]
    failed, cold = index.failed[rows], index.cold()[rows]

    def stat(found: np.ndarray, name: str) -> float | None:
        return _statistic(found[np.isfinite(found)], name)

    if failed.any():
        with_zeros = stat(np.where(failed, 0.0, values), statistic)
        if with_zeros is not None and abs(with_zeros - claimed) <= _tolerance(precision, with_zeros) * 10:
            return "matches only if failed requests (stored as zeros) are averaged in"
    if cold.any():
        warm = stat(values[~cold & ~failed], statistic)
        if warm is not None and abs(warm - claimed) <= _tolerance(precision, warm) * 10:
            return "matches the warm requests only (cold starts left out without saying so)"
    other = {"mean": "median", "median": "mean"}.get(statistic)
    if other:
        alt = stat(values[~failed], other)
        if alt is not None and abs(alt - claimed) <= _tolerance(precision, alt) * 10:
            return f"the value is the {other}, not the {statistic}"
    return ""


class _GenericIndex:
    """Non-LLM time measurements by file path without extension and by the word their definition starts
    with (the statistic: 'mean of 5 runs'), each with its whole context."""

    def __init__(self, generic: pd.DataFrame) -> None:
        self.rows: dict[tuple[str, str], list[tuple[frozenset[_Part], float, str]]] = {}
        if generic.empty:
            return
        # lists rather than a filtered frame: a real archive has a few hundred rows, pandas' cost is per call
        times = [at for at, metric in enumerate(column_list(generic, "metric"))
                 if isinstance(metric, str) and metric == "time_ms"]
        if not times:
            return
        sources, definitions, values = (column_list(generic, name) for name in ("source", "definition", "value"))
        if "context" in generic:
            contexts = column_list(generic, "context")
            settings = [_context_parts(str(contexts[at])) for at in times]
        else:
            configs = column_list(generic, "config")
            settings = [_config_parts(configs[at]) for at in times]
        for at, setting in zip(times, settings, strict=True):
            word, space, _ = str(definitions[at]).partition(" ")
            if space:
                self.rows.setdefault((_stem(sources[at]), word), []).append(
                    (setting, float(values[at]), str(sources[at])))



def _check_generic(source: str, config: str, statistic: str, value: float, precision: float | None,
                   index: _GenericIndex) -> ClaimCheck | None:
    """A Markdown table of a compile benchmark against the JSON written next to it."""
    if not config:
        return None
    wanted = _config_parts(config)
    # the rows whose definition starts with the statistic and a space (a statistic's name has none)
    rows = index.rows.get((_stem(source), statistic), [])
    candidates = [(actual, raw) for parts, actual, raw in rows if wanted <= parts]  # `Config.covers`
    if not candidates:
        return None
    # (one candidate, the usual case: itself, without a key call)
    actual, raw = candidates[0] if len(candidates) == 1 else min(candidates, key=lambda item: abs(item[0] - value))
    status = "match" if abs(actual - value) <= _tolerance(precision, actual) else "mismatch"
    return ClaimCheck(source, "", config, "time_ms", statistic, value, actual, "ms", status, (raw,), 1, "")
