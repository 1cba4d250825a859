"""Check the archive's own claims (summary files, Markdown) against its raw rows."""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.requests import array_statistic
from bot.core.config import Config
from bot.core.context import decode
from bot.core.dimensions import group_model
from bot.core.types import CLAIM_COLUMNS

CHECKABLE = {"mean", "median", "min", "max", "std"}  # and every pNN


def checkable(statistic: str) -> bool:
    return statistic in CHECKABLE or bool(re.fullmatch(r"p\d+(?:\.\d+)?", statistic))


@dataclass(frozen=True)
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
                 aliases: dict[str, list[str]] | None = None) -> tuple[list[ClaimCheck], int]:
    """Checks of every claim that can be pinned to raw rows, and the count of those that cannot.

    A claim is checked against the raw files *nearest* to it (same folder first, then the closest
    ancestor folder that holds any): a summary describes its own run, and a wrong number must not
    pass because another run happens to have that mean. ``aliases`` maps a kept file to the paths
    of its duplicates, which count as its locations too.
    """
    checks: list[ClaimCheck] = []
    unverifiable = 0
    known = sorted(m for m in requests["model"].dropna().unique() if m) if not requests.empty else []
    index = _Index(requests, aliases or {})
    generic_index = _GenericIndex(generic)
    made: list[_Requests] = []

    def arrays() -> _Requests:
        if not made:
            made.append(_Requests(requests))
        return made[0]

    for claim in _claims(claims):
        if not claim.model and group_model("", claim.source) in known:
            # a claim about the rows of its own file, which names no model (grouped per source)
            claim = claim._replace(model=group_model("", claim.source))
        stat = claim.statistic
        if not checkable(stat):
            unverifiable += 1
            continue
        if claim.metric == "time_ms":
            check = _check_generic(claim, generic_index)
        else:
            check = _check_llm(claim, arrays, known, index)
        if check is None:
            unverifiable += 1
        else:
            checks.append(check)
    return checks, unverifiable


_Claim = namedtuple("_Claim", CLAIM_COLUMNS)  # type: ignore[misc]


def _claims(claims: pd.DataFrame) -> list[Any]:
    """The claims as named tuples (``claim.model``, …), read column by column."""
    columns = [claims[name].tolist() if name in claims else [None] * len(claims) for name in CLAIM_COLUMNS]
    return [_Claim(*values) for values in zip(*columns, strict=True)]


@lru_cache(maxsize=65536)
def _folder(path: str) -> str:
    return str(PurePosixPath(path).parent)


@lru_cache(maxsize=65536)
def _stem(path: str) -> str:
    """The path without its extension."""
    return str(PurePosixPath(path).with_suffix(""))


def _tolerance(claim, actual: float) -> float:
    """Rounding the claim shows, or 0.1% — raw files themselves are often rounded (77.73 tok/s), so a
    summary computed from unrounded values may differ from ours in the last digits."""
    return max(float(claim.precision or 0.0) * 1.0001, 1e-3 * abs(actual), 1e-9)


def _check_llm(claim, requests: Callable[[], _Requests], known: list[str], index: _Index) -> ClaimCheck | None:
    if claim.metric not in index.columns:
        return None
    model, config = resolve_claim_model(claim.model or "", claim.context or "", claim.config or "", known)
    if not model and not config:
        # A claim without a model can still be checked when its configuration pins one source run.
        return None
    groups = index.nearest(model, config, claim.source)
    best: tuple[float, tuple[str, ...], int] | None = None
    for sources, columns in groups:
        values = columns.get(claim.metric)
        if values is None or values.size == 0:
            continue
        for actual in index.statistics(values, claim.statistic):
            if abs(actual - claim.value) <= _tolerance(claim, actual):
                return ClaimCheck(claim.source, model, config, claim.metric, claim.statistic, claim.value,
                                  actual, claim.unit, "match", sources, int(values.size))
            if best is None or abs(actual - claim.value) < abs(best[0] - claim.value):
                best = (actual, sources, int(values.size))
    if best is None:
        return None
    actual, sources, n = best
    explanation = _explain(claim, requests(), model, config, sources)
    return ClaimCheck(claim.source, model, config, claim.metric, claim.statistic, claim.value, actual,
                      claim.unit, "mismatch", sources, n, explanation)


_Groups = list[tuple[tuple[str, ...], "_Columns"]]
_METRIC_COLUMNS = ("throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "prompt_eval_ms", "eval_ms",
                   "prompt_tokens", "output_tokens", "tpot_ms", "itl_ms")


class _Index:
    """Successful requests by model and by setting, for finding a claim's raw rows fast: a claim
    names settings, and the rows whose context holds them are found from an index of each setting's
    parts (not by testing every row), then read from one matrix of the metrics' values."""

    def __init__(self, requests: pd.DataFrame, aliases: dict[str, list[str]]) -> None:
        self.columns = set(requests.columns)
        ok = (requests.iloc[np.flatnonzero(~requests["failed"].to_numpy(dtype=bool))] if not requests.empty
              else requests)[[c for c in ("model", "source", "context", "config") if c in requests]]
        self.metrics = [c for c in _METRIC_COLUMNS if c in requests.columns]
        self.aliases = aliases
        self.cache: dict[tuple[str, str], tuple[dict[str, np.ndarray], dict[str, set[str]]]] = {}
        self.groups: dict[tuple[str, str, str], _Groups] = {}
        self._statistics: dict[tuple[int, str], list[float]] = {}
        successful = ~requests["failed"].to_numpy(dtype=bool) if not requests.empty else np.empty(0, dtype=bool)
        self.matrix = (requests[self.metrics].to_numpy(dtype="float64", na_value=np.nan)[successful]
                       if not requests.empty else np.empty((0, 0)))
        self.sources = ok["source"].to_numpy(dtype=object) if not ok.empty else np.empty(0, dtype=object)
        setting_codes, self.settings = _setting_codes(ok)
        self.rows: dict[str, dict[int, np.ndarray]] = {}  # model ('' = any) -> setting -> rows
        self.all_rows: dict[str, np.ndarray] = {}  # model ('' = any) -> its rows, sorted
        models = ok["model"].to_numpy(dtype=object) if not ok.empty else np.empty(0, dtype=object)
        for model in ("", *dict.fromkeys(models.tolist())):
            rows = np.flatnonzero(models == model) if model else np.arange(len(models))
            self.all_rows[model] = rows
            order = rows[np.argsort(setting_codes[rows], kind="stable")]
            codes, starts = np.unique(setting_codes[order], return_index=True)
            self.rows[model] = dict(zip(codes.tolist(), np.split(order, starts[1:]), strict=True)) if len(order) else {}
        self.postings: dict[str, set[int]] = {}
        for code, setting in enumerate(self.settings):
            for part in setting.parts:
                self.postings.setdefault(part, set()).add(code)

    def _matching(self, model: str, config: str) -> np.ndarray:
        """The rows of ``model`` (any model when '') whose context holds every part of ``config``."""
        codes: set[int] | None = None
        for part in Config.parse(config).parts if config else ():
            found = self.postings.get(part, set())
            codes = found if codes is None else codes & found
        if codes is None:  # every setting
            return self.all_rows.get(model, np.empty(0, dtype=np.int64))
        by_setting = self.rows.get(model, {})
        chosen = [by_setting[code] for code in codes if code in by_setting]
        return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)

    def _scope(self, model: str, config: str) -> tuple[dict[str, np.ndarray], dict[str, set[str]]]:
        """Rows per source for (model, config), and for every folder the sources at or below it."""
        key = (model, config)
        if key not in self.cache:
            rows = self._matching(model, config)
            per_source: dict[str, list[int]] = {}
            for row, source in zip(rows.tolist(), self.sources[rows].tolist(), strict=True):
                per_source.setdefault(source, []).append(row)
            below: dict[str, set[str]] = {}
            for source in per_source:
                for location in (source, *self.aliases.get(source, ())):
                    for folder in _ancestors(_folder(location)):
                        below.setdefault(folder, set()).add(source)
            self.cache[key] = ({s: np.asarray(r, dtype=np.int64) for s, r in per_source.items()}, below)
        return self.cache[key]

    def nearest(self, model: str, config: str, claim_source: str) -> _Groups:
        """The raw files nearest the claim, each alone and (when several) together (made once per
        model, configuration and folder: a summary's claims share them)."""
        key = (model, config, _folder(claim_source))
        if key not in self.groups:
            self.groups[key] = self._nearest(model, config, key[2])
        return self.groups[key]

    def _nearest(self, model: str, config: str, claim_folder: str) -> _Groups:
        per_source, below = self._scope(model, config)
        chosen: set[str] = set()
        for folder in _ancestors(claim_folder):
            if folder in below:
                chosen = below[folder]
                break
        groups: _Groups = [((source,), self._arrays(per_source[source])) for source in sorted(chosen)]
        if len(groups) > 1:
            groups.append((tuple(sorted(chosen)),
                           self._arrays(np.concatenate([per_source[s] for s in sorted(chosen)]))))
        return groups

    def statistics(self, values: np.ndarray, name: str) -> list[float]:
        """`_np_statistics` of one of this index's arrays (kept: claims repeat a statistic)."""
        key = (id(values), name)
        if key not in self._statistics:
            self._statistics[key] = _np_statistics(values, name)
        return self._statistics[key]

    def _arrays(self, rows: np.ndarray) -> _Columns:
        return _Columns(self.matrix, self.metrics, rows)


class _Columns:
    """The finite values of each metric over some rows, read on first use (a claim names one metric)."""

    def __init__(self, matrix: np.ndarray, metrics: list[str], rows: np.ndarray) -> None:
        self._matrix = matrix
        self._index = {metric: i for i, metric in enumerate(metrics)}
        self._rows = rows
        self._found: dict[str, np.ndarray] = {}

    def get(self, metric: str) -> np.ndarray | None:
        if metric not in self._found:
            if metric not in self._index:
                return None
            column = self._matrix[self._rows, self._index[metric]]
            self._found[metric] = column[np.isfinite(column)]
        return self._found[metric]


def _setting_codes(requests: pd.DataFrame) -> tuple[np.ndarray, list[Config]]:
    """Each request's number of its distinct settings (`_settings_of`), and those settings."""
    if requests.empty:
        return np.empty(0, dtype=np.int64), []
    column = requests["context"] if "context" in requests else requests["config"]
    codes, texts = pd.factorize(column)
    if "context" in requests:
        return codes, [Config.from_context(decode(str(text))) for text in texts]
    return codes, [Config.parse(str(text)) for text in texts]


def _settings_of(requests: pd.DataFrame) -> list[Config]:
    """Each request's whole context as a configuration (a claim names settings that may be the same in
    every row, so are in the context but not in the configuration key)."""
    if "context" not in requests:
        return [Config.parse(c) for c in requests["config"]]
    cache: dict[str, Config] = {}
    out = []
    for text in requests["context"].tolist():
        if text not in cache:
            cache[text] = Config.from_context(decode(str(text)))
        out.append(cache[text])
    return out


def _ancestors(folder: str) -> list[str]:
    """'a/b/c' -> ['a/b/c', 'a/b', 'a', '']; '.' (the archive root) -> ['']."""
    parts = [] if folder in {"", "."} else folder.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]


def _np_statistics(values: np.ndarray, name: str) -> list[float]:
    """The statistic as tools compute it; std both as sample (ddof=1) and population (ddof=0,
    numpy's default, which vLLM uses)."""
    if name == "std":
        return [float(values.std(ddof=d)) for d in (1, 0) if values.size > d]
    value = array_statistic(values, name)
    return [] if value is None else [value]


class _Requests:
    """The request frame's columns as arrays, for explaining mismatches (made on the first one)."""

    def __init__(self, requests: pd.DataFrame) -> None:
        self.frame = requests
        self.model = requests["model"].to_numpy(dtype=object)
        self.source = requests["source"].to_numpy(dtype=object)
        self.failed = requests["failed"].to_numpy(dtype=bool)
        self.cold = (requests["cold_start"].to_numpy(dtype=bool) if "cold_start" in requests
                     else np.zeros(len(requests), dtype=bool))
        self.settings = _settings_of(requests)

    def rows(self, model: str, config: str, sources: tuple[str, ...]) -> np.ndarray:
        keep = np.isin(self.source, list(sources))
        if model:
            keep &= self.model == model
        if config:
            wanted = Config.parse(config)
            keep &= np.fromiter((c.covers(wanted) for c in self.settings), dtype=bool, count=len(self.settings))
        return np.flatnonzero(keep)


def _explain(claim, requests: _Requests, model: str, config: str, sources: tuple[str, ...]) -> str:
    """Look for the usual mistake behind a wrong summary number."""
    rows = requests.rows(model, config, sources)
    values = requests.frame[claim.metric].to_numpy(dtype="float64")[rows]
    failed, cold = requests.failed[rows], requests.cold[rows]

    def stat(found: np.ndarray, name: str) -> float | None:
        return array_statistic(found[np.isfinite(found)], name)

    if failed.any():
        with_zeros = stat(np.where(failed, 0.0, values), claim.statistic)
        if with_zeros is not None and abs(with_zeros - claim.value) <= _tolerance(claim, with_zeros) * 10:
            return "matches only if failed requests (stored as zeros) are averaged in"
    if cold.any():
        warm = stat(values[~cold & ~failed], claim.statistic)
        if warm is not None and abs(warm - claim.value) <= _tolerance(claim, warm) * 10:
            return "matches the warm requests only (cold starts left out without saying so)"
    other = {"mean": "median", "median": "mean"}.get(claim.statistic)
    if other:
        alt = stat(values[~failed], other)
        if alt is not None and abs(alt - claim.value) <= _tolerance(claim, alt) * 10:
            return f"the value is the {other}, not the {claim.statistic}"
    return ""


class _GenericIndex:
    """Non-LLM time measurements by file path without extension, each with its whole context."""

    def __init__(self, generic: pd.DataFrame) -> None:
        self.rows: dict[str, list[tuple[Config, str, float, str]]] = {}
        if generic.empty:
            return
        times = generic.loc[generic["metric"] == "time_ms"]
        settings = _settings_of(times)
        for source, setting, definition, value in zip(times["source"].tolist(), settings, times["definition"].tolist(),
                                                      times["value"].tolist(), strict=False):
            self.rows.setdefault(_stem(source), []).append((setting, str(definition), float(value), str(source)))


def _check_generic(claim, index: _GenericIndex) -> ClaimCheck | None:
    """A Markdown table of a compile benchmark against the JSON written next to it."""
    if not claim.config:
        return None
    stem = _stem(claim.source)
    prefix = claim.statistic + " "
    wanted = Config.parse(claim.config)
    candidates = [(value, source) for setting, definition, value, source in index.rows.get(stem, [])
                  if definition.startswith(prefix) and setting.covers(wanted)]
    if not candidates:
        return None
    actual, source = min(candidates, key=lambda item: abs(item[0] - claim.value))
    status = "match" if abs(actual - claim.value) <= _tolerance(claim, actual) else "mismatch"
    return ClaimCheck(claim.source, "", claim.config, "time_ms", claim.statistic, claim.value, actual,
                      "ms", status, (source,), 1)
