"""Numbered facts: every conclusion of the analysis as (id, statement, value, unit, sources).

Facts are the only numbers the narrative and Slack callouts may use. Ids are assigned in a stable
order (most important first), so the same archive always yields the same ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

import pandas as pd

from bot.core.analysis.claims import ClaimCheck
from bot.core.analysis.results import Analysis, ConfigComparison, ModelStats
from bot.core.config import Config
from bot.core.numbers import format_number
from bot.core.types import Fact, FactOrigin, FactRole, Inventory, quoted

# A fact statement's number (and the report's tables): `bot.core.numbers`, "statement" precision.
stated = partial(format_number, style="statement")


class _Facts:
    def __init__(self) -> None:
        self.items: list[tuple[int, int, Fact]] = []

    def add(self, statement: str, value: float, unit: str, sources: Iterable[str], *, importance: int,
            model: str = "", config: str = "", metric: str = "", rows: int | None = None,
            role: FactRole = "", origin: FactOrigin = "data") -> None:
        fact = Fact(id="", statement=statement, value=float(value), unit=unit,
                    sources=tuple(sorted(set(sources))), importance=importance, model=model,
                    config=config, metric=metric, rows=rows, role=role, origin=origin)
        self.items.append((importance, len(self.items), fact))

    def numbered(self) -> list[Fact]:
        ordered = sorted(self.items, key=lambda item: (-item[0], item[1]))
        return [Fact(**{**f.__dict__, "id": f"F{i}"}) for i, (_, _, f) in enumerate(ordered, start=1)]


def build_facts(analysis: Analysis, inventory: Inventory) -> list[Fact]:
    """Every fact of the analysis, numbered F1… by importance (ties keep the order added here)."""
    facts = _Facts()
    _request_facts(facts, analysis)
    _top_throughput_fact(facts, analysis.models)
    for m in analysis.models:
        _model_facts(facts, m, analysis.requests)
    for c in analysis.comparisons:
        _comparison_fact(facts, c)
    _claim_facts(facts, analysis.claim_checks)
    _aggregate_facts(facts, analysis.aggregates)
    _generic_facts(facts, analysis.generic)
    _inventory_facts(facts, inventory)
    return facts.numbered()


# --- requests and failures over the whole archive ---------------------------------------------
def _request_facts(facts: _Facts, analysis: Analysis) -> None:
    req = analysis.requests
    total, failed = analysis.total, analysis.failed
    if not total:
        return
    all_sources = sorted(req["source"].unique()) if not req.empty else []
    facts.add(f"{total:,} LLM requests were recorded; {failed:,} failed and are excluded from every "
              f"statistic.", total, "requests", all_sources, importance=96, metric="requests", rows=total)
    facts.add(f"{failed:,} of {total:,} requests failed ({100 * failed / total:.1f}%).", failed,
              "requests", sorted(req.loc[req["failed"].astype(bool), "source"].unique()) or all_sources,
              importance=95, metric="failed_requests", rows=total)


# --- per model: throughput, TTFT, cold starts, failures, latency ------------------------------
def _top_throughput_fact(facts: _Facts, models: list[ModelStats]) -> None:
    ranked = sorted((m for m in models if m.throughput_tok_s["median"] is not None),
                    key=lambda m: -m.throughput_tok_s["median"])
    if not ranked:
        return
    top = ranked[0]
    n_top = top.throughput_tok_s["n"]
    facts.add(f"Highest median throughput: {top.model} at {stated(top.throughput_tok_s['median'], 'tok/s')} "
              f"(n={n_top}).", top.throughput_tok_s["median"], "tok/s", top.sources, importance=94,
              model=top.model, metric="throughput_tok_s", rows=n_top, role="best_throughput")


def _model_facts(facts: _Facts, m: ModelStats, req: pd.DataFrame) -> None:
    _throughput_fact(facts, m)
    _ttft_facts(facts, m)
    _cold_start_fact(facts, m, req)
    _model_failure_fact(facts, m)
    _latency_fact(facts, m)


def _throughput_fact(facts: _Facts, m: ModelStats) -> None:
    t = m.throughput_tok_s
    if t["median"] is None:
        return
    facts.add(f"{m.model}: median throughput {stated(t['median'], 'tok/s')} over {t['n']} successful "
              f"requests (p95 {stated(t['p95'], 'tok/s')}, min {stated(t['min'], 'tok/s')}, "
              f"max {stated(t['max'], 'tok/s')}).", t["median"], "tok/s", m.sources, importance=90,
              model=m.model, metric="throughput_tok_s", rows=t["n"])


def _ttft_facts(facts: _Facts, m: ModelStats) -> None:
    w = m.ttft_warm_ms
    if w["median"] is None:
        return
    if len(m.ttft_definitions) == 1:
        meaning = f"TTFT = {m.ttft_definitions[0]}"
    else:
        meaning = ("files define TTFT differently (" + "; ".join(m.ttft_definitions)
                   + "): compare with care")
    facts.add(f"{m.model}: warm TTFT p50 {stated(w['median'], 'ms')} (n={w['n']}, cold starts excluded; "
              f"{meaning}).", w["median"], "ms", m.sources,
              importance=85, model=m.model, metric="ttft_ms", rows=w["n"])
    facts.add(f"{m.model}: warm TTFT p95 {stated(w['p95'], 'ms')} (n={w['n']}).", w["p95"], "ms",
              m.sources, importance=80, model=m.model, metric="ttft_p95_ms", rows=w["n"])


def _cold_start_fact(facts: _Facts, m: ModelStats, req: pd.DataFrame) -> None:
    if not m.cold_starts or m.ttft_ms["max"] is None:
        return
    cold = req.loc[(req["model"] == m.model) & req["cold_start"], "ttft_ms"]
    facts.add(f"{m.model}: {m.cold_starts} cold start(s) (model load dominating TTFT); their median "
              f"TTFT is {stated(float(cold.median()), 'ms')}.", m.cold_starts, "requests", m.sources,
              importance=70, model=m.model, metric="cold_starts", rows=m.n)


def _model_failure_fact(facts: _Facts, m: ModelStats) -> None:
    if not m.failed:
        return
    reason, count = next(iter(m.failure_reasons.items()))
    facts.add(f"{m.model}: {m.failed} of {m.requests} requests failed; most common reason "
              f"({count}x): {quoted(reason, limit=100)}", m.failed, "requests", m.sources,
              importance=75,
              model=m.model, metric="failed_requests", rows=m.requests)


def _latency_fact(facts: _Facts, m: ModelStats) -> None:
    lat = m.latency_ms
    if lat["median"] is None:
        return
    definition = f" ({m.latency_definition})" if m.latency_definition else ""
    facts.add(f"{m.model}: latency p50 {stated(lat['median'], 'ms')}, p95 {stated(lat['p95'], 'ms')}"
              f"{definition}.", lat["median"], "ms", m.sources, importance=55, model=m.model,
              metric="latency_ms", rows=lat["n"])


# --- configuration comparisons ----------------------------------------------------------------
def _comparison_fact(facts: _Facts, c: ConfigComparison) -> None:
    gap = c.best_median - c.worst_median
    pct = 100 * gap / c.worst_median if c.worst_median else 0.0
    what = f"{c.parameter} levels" if c.parameter else "configurations"
    best = Config.from_pairs([(c.parameter, c.best)]).key if c.parameter else c.best
    worst = Config.from_pairs([(c.parameter, c.worst)]).key if c.parameter else c.worst
    facts.add(f"{c.model}: across {what}, best {best} ({stated(c.best_median, 'tok/s')}, n={c.n_best}) vs "
              f"worst {worst} ({stated(c.worst_median, 'tok/s')}, n={c.n_worst}): {stated(gap, 'tok/s')} "
              f"({pct:.1f}%), {_noise_verdict(c)}.", gap, "tok/s", c.sources,
              importance=72 if not c.parameter else (60 if c.significant else 45), model=c.model,
              config=best, metric="throughput_gap",
              rows=c.n_best + c.n_worst)


def _noise_verdict(c: ConfigComparison) -> str:
    if c.p_value is None:
        return f"not separable from noise ({c.method})"
    if c.significant:
        return f"exceeds the noise ({c.method}, p={c.p_value:.2g})"
    return f"within the noise ({c.method}, p={c.p_value:.2g})"


# --- the archive's own claims -----------------------------------------------------------------
def _claim_facts(facts: _Facts, checks: list[ClaimCheck]) -> None:
    mismatches = [c for c in checks if c.status == "mismatch"]
    for check in mismatches:
        _mismatch_fact(facts, check)
    if checks:
        matched = len(checks) - len(mismatches)
        facts.add(f"{len(checks)} numbers stated in the archive's own summaries were checked "
                  f"against raw rows: {matched} match, {len(mismatches)} "
                  f"{'does' if len(mismatches) == 1 else 'do'} not.", len(mismatches), "count",
                  sorted({c.source for c in checks}), importance=74, metric="claim_mismatches")


def _mismatch_fact(facts: _Facts, check: ClaimCheck) -> None:
    what = f"{check.statistic} {check.metric}" + (f" for {check.model}" if check.model else "") + (
        f" [{check.config}]" if check.config else "")
    why = f" — {check.explanation}" if check.explanation else ""
    facts.add(f"Claim in {quoted(check.source)} does not match the raw data: {what} stated as "
              f"{stated(check.claimed, check.unit)}, raw rows give {stated(check.actual, check.unit)} "
              f"(n={check.n}, {quoted(', '.join(check.raw_sources), limit=200)}){why}.",
              check.actual, check.unit,
              (check.source, *check.raw_sources), importance=65, model=check.model,
              config=check.config, metric=check.metric, rows=check.n, origin="claim")


# --- tool-reported aggregates and non-LLM timings ---------------------------------------------
def _aggregate_facts(facts: _Facts, aggregates: pd.DataFrame) -> None:
    if aggregates.empty:
        return
    for (model, config), rows in aggregates.groupby(["model", "config"], sort=True):
        value = float(rows["value"].median())
        facts.add(f"{model or 'unnamed'} [{config}]: tool-reported {rows['definition'].iloc[0]} "
                  f"{stated(value, rows['unit'].iloc[0])}.", value, rows["unit"].iloc[0],
                  rows["source"].unique(), importance=58, model=model, config=config,
                  metric=str(rows["metric"].iloc[0]), rows=len(rows))


def _generic_facts(facts: _Facts, generic: pd.DataFrame) -> None:
    if generic.empty:
        return
    means = generic.loc[(generic["metric"] == "time_ms") & generic["definition"].str.startswith("mean")
                        & ~generic["failed"].astype(bool)]
    for source, rows in means.groupby("source", sort=True):
        if rows["config"].nunique() < 2:
            continue
        fastest = rows.loc[rows["value"].idxmin()]
        facts.add(f"{quoted(source)}: fastest case {fastest['config']} at {stated(fastest['value'], 'ms')} mean "
                  f"({fastest['definition']}).", float(fastest["value"]), "ms", [source], importance=30,
                  config=str(fastest["config"]), metric="time_ms", rows=len(rows))


# --- what became of the archive's files -------------------------------------------------------
def _inventory_facts(facts: _Facts, inventory: Inventory) -> None:
    if inventory.skipped:
        facts.add(f"{len(inventory.skipped)} of {inventory.files_total} files were skipped (reasons listed in "
                  f"the report).", len(inventory.skipped), "files", [s.path for s in inventory.skipped],
                  importance=40, metric="skipped_files")
    if inventory.duplicates:
        facts.add(f"{len(inventory.duplicates)} files duplicate another file's content or records and were "
                  f"counted once.", len(inventory.duplicates), "files", [d[1] for d in inventory.duplicates],
                  importance=38, metric="duplicate_files")
