"""Numbered facts: every conclusion of the analysis as (id, statement, value, unit, sources).

Facts are the only numbers the narrative and Slack callouts may use. Ids are assigned in a stable
order (most important first), so the same archive always yields the same ids.
"""

from __future__ import annotations

from bot.core.analysis.results import Analysis
from bot.core.config import Config
from bot.core.types import Fact, Inventory, quoted


def fmt(value: float | int | None, unit: str = "") -> str:
    """Human formatting used everywhere a fact's value is written."""
    if value is None:
        return "n/a"
    if unit in {"requests", "files", "tokens", "count", ""} and float(value).is_integer():
        text = f"{int(value):,}"
    elif unit == "%":
        text = f"{value:.1f}"
    elif unit == "tok/s":
        text = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    elif unit == "ms":
        if abs(value) >= 100:
            text = f"{value:,.0f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        elif abs(value) >= 1:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3g}"
    elif unit == "p":
        text = f"{value:.3g}"
    else:
        text = f"{value:,.3g}"
    return f"{text} {unit}".strip() if unit not in {"", "p"} else text


class _Facts:
    def __init__(self) -> None:
        self.items: list[tuple[int, int, Fact]] = []

    def add(self, statement: str, value: float, unit: str, sources, *, importance: int, model: str = "",
            config: str = "", metric: str = "", rows: int | None = None) -> None:
        fact = Fact(id="", statement=statement, value=float(value), unit=unit,
                    sources=tuple(sorted(set(sources))), importance=importance, model=model,
                    config=config, metric=metric, rows=rows)
        self.items.append((importance, len(self.items), fact))

    def numbered(self) -> list[Fact]:
        ordered = sorted(self.items, key=lambda item: (-item[0], item[1]))
        return [Fact(**{**f.__dict__, "id": f"F{i}"}) for i, (_, _, f) in enumerate(ordered, start=1)]


def build_facts(analysis: Analysis, inventory: Inventory) -> list[Fact]:
    facts = _Facts()
    req = analysis.requests
    all_sources = sorted(req["source"].unique()) if not req.empty else []
    total, failed = analysis.total, analysis.failed
    if total:
        facts.add(f"{total:,} LLM requests were recorded; {failed:,} failed and are excluded from every "
                  f"statistic.", total, "requests", all_sources, importance=96, metric="requests", rows=total)
        facts.add(f"{failed:,} of {total:,} requests failed ({100 * failed / total:.1f}%).", failed,
                  "requests", sorted(req.loc[req["failed"].astype(bool), "source"].unique()) or all_sources,
                  importance=95, metric="failed_requests", rows=total)

    ranked = sorted((m for m in analysis.models if m.throughput_tok_s["median"] is not None),
                    key=lambda m: -m.throughput_tok_s["median"])
    if ranked:
        top = ranked[0]
        n_top = top.throughput_tok_s["n"]
        facts.add(f"Highest median throughput: {top.model} at {fmt(top.throughput_tok_s['median'], 'tok/s')} "
                  f"(n={n_top}).", top.throughput_tok_s["median"], "tok/s", top.sources, importance=94,
                  model=top.model, metric="throughput_tok_s", rows=n_top)
    for m in analysis.models:
        t = m.throughput_tok_s
        if t["median"] is not None:
            facts.add(f"{m.model}: median throughput {fmt(t['median'], 'tok/s')} over {t['n']} successful "
                      f"requests (p95 {fmt(t['p95'], 'tok/s')}, min {fmt(t['min'], 'tok/s')}, "
                      f"max {fmt(t['max'], 'tok/s')}).", t["median"], "tok/s", m.sources, importance=90,
                      model=m.model, metric="throughput_tok_s", rows=t["n"])
        w = m.ttft_warm_ms
        if w["median"] is not None:
            if len(m.ttft_definitions) == 1:
                meaning = f"TTFT = {m.ttft_definitions[0]}"
            else:
                meaning = ("files define TTFT differently (" + "; ".join(m.ttft_definitions)
                           + "): compare with care")
            facts.add(f"{m.model}: warm TTFT p50 {fmt(w['median'], 'ms')} (n={w['n']}, cold starts excluded; "
                      f"{meaning}).", w["median"], "ms", m.sources,
                      importance=85, model=m.model, metric="ttft_ms", rows=w["n"])
            facts.add(f"{m.model}: warm TTFT p95 {fmt(w['p95'], 'ms')} (n={w['n']}).", w["p95"], "ms",
                      m.sources, importance=80, model=m.model, metric="ttft_p95_ms", rows=w["n"])
        a = m.ttft_ms
        if m.cold_starts and a["max"] is not None:
            cold = req.loc[(req["model"] == m.model) & req["cold_start"], "ttft_ms"]
            facts.add(f"{m.model}: {m.cold_starts} cold start(s) (model load dominating TTFT); their median "
                      f"TTFT is {fmt(float(cold.median()), 'ms')}.", m.cold_starts, "requests", m.sources,
                      importance=70, model=m.model, metric="cold_starts", rows=m.n)
        if m.failed:
            reason, count = next(iter(m.failure_reasons.items()))
            facts.add(f"{m.model}: {m.failed} of {m.requests} requests failed; most common reason "
                      f"({count}x): {quoted(reason, limit=100)}", m.failed, "requests", m.sources,
                      importance=75,
                      model=m.model, metric="failed_requests", rows=m.requests)
        lat = m.latency_ms
        if lat["median"] is not None:
            definition = f" ({m.latency_definition})" if m.latency_definition else ""
            facts.add(f"{m.model}: latency p50 {fmt(lat['median'], 'ms')}, p95 {fmt(lat['p95'], 'ms')}"
                      f"{definition}.", lat["median"], "ms", m.sources, importance=55, model=m.model,
                      metric="latency_ms", rows=lat["n"])

    for c in analysis.comparisons:
        gap = c.best_median - c.worst_median
        pct = 100 * gap / c.worst_median if c.worst_median else 0.0
        if c.p_value is None:
            verdict = f"not separable from noise ({c.method})"
        elif c.significant:
            verdict = f"exceeds the noise ({c.method}, p={c.p_value:.2g})"
        else:
            verdict = f"within the noise ({c.method}, p={c.p_value:.2g})"
        what = f"{c.parameter} levels" if c.parameter else "configurations"
        best = Config.from_pairs([(c.parameter, c.best)]).key if c.parameter else c.best
        worst = Config.from_pairs([(c.parameter, c.worst)]).key if c.parameter else c.worst
        facts.add(f"{c.model}: across {what}, best {best} ({fmt(c.best_median, 'tok/s')}, n={c.n_best}) vs "
                  f"worst {worst} ({fmt(c.worst_median, 'tok/s')}, n={c.n_worst}): {fmt(gap, 'tok/s')} "
                  f"({pct:.1f}%), {verdict}.", gap, "tok/s", c.sources,
                  importance=72 if not c.parameter else (60 if c.significant else 45), model=c.model,
                  config=best, metric="throughput_gap",
                  rows=c.n_best + c.n_worst)

    mismatches = [c for c in analysis.claim_checks if c.status == "mismatch"]
    for check in mismatches:
        what = f"{check.statistic} {check.metric}" + (f" for {check.model}" if check.model else "") + (
            f" [{check.config}]" if check.config else "")
        why = f" — {check.explanation}" if check.explanation else ""
        facts.add(f"Claim in {quoted(check.source)} does not match the raw data: {what} stated as "
                  f"{fmt(check.claimed, check.unit)}, raw rows give {fmt(check.actual, check.unit)} "
                  f"(n={check.n}, {quoted(', '.join(check.raw_sources), limit=200)}){why}.",
                  check.actual, check.unit,
                  (check.source, *check.raw_sources), importance=65, model=check.model,
                  config=check.config, metric=check.metric, rows=check.n)
    if analysis.claim_checks:
        matched = len(analysis.claim_checks) - len(mismatches)
        facts.add(f"{len(analysis.claim_checks)} numbers stated in the archive's own summaries were checked "
                  f"against raw rows: {matched} match, {len(mismatches)} "
                  f"{'does' if len(mismatches) == 1 else 'do'} not.", len(mismatches), "count",
                  sorted({c.source for c in analysis.claim_checks}), importance=74, metric="claim_mismatches")

    if not analysis.aggregates.empty:
        for (model, config), rows in analysis.aggregates.groupby(["model", "config"], sort=True):
            value = float(rows["value"].median())
            facts.add(f"{model or 'unnamed'} [{config}]: tool-reported {rows['definition'].iloc[0]} "
                      f"{fmt(value, rows['unit'].iloc[0])}.", value, rows["unit"].iloc[0],
                      rows["source"].unique(), importance=58, model=model, config=config,
                      metric=str(rows["metric"].iloc[0]), rows=len(rows))

    generic = analysis.generic
    if not generic.empty:
        means = generic.loc[(generic["metric"] == "time_ms") & generic["definition"].str.startswith("mean")
                            & ~generic["failed"].astype(bool)]
        for source, rows in means.groupby("source", sort=True):
            if rows["config"].nunique() < 2:
                continue
            fastest = rows.loc[rows["value"].idxmin()]
            facts.add(f"{quoted(source)}: fastest case {fastest['config']} at {fmt(fastest['value'], 'ms')} mean "
                      f"({fastest['definition']}).", float(fastest["value"]), "ms", [source], importance=30,
                      config=str(fastest["config"]), metric="time_ms", rows=len(rows))

    if inventory.skipped:
        facts.add(f"{len(inventory.skipped)} of {inventory.files_total} files were skipped (reasons listed in "
                  f"the report).", len(inventory.skipped), "files", [s.path for s in inventory.skipped],
                  importance=40, metric="skipped_files")
    if inventory.duplicates:
        facts.add(f"{len(inventory.duplicates)} files duplicate another file's content or records and were "
                  f"counted once.", len(inventory.duplicates), "files", [d[1] for d in inventory.duplicates],
                  importance=38, metric="duplicate_files")
    return facts.numbered()
