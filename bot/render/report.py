"""Render: analysis + narrative -> the Markdown report and the JSON document (a stable contract).

Pure: no I/O. The JSON shape is documented in README ("JSON output"); only add keys to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.core.analysis import Analysis
from bot.core.analysis.facts import best_configuration, stated
from bot.core.dimensions import config_values
from bot.core.jsonsafe import strict_json
from bot.core.limits import left_out
from bot.core.metrics import METRICS
from bot.core.narrative import Narrative
from bot.core.numbers import format_number
from bot.core.redact import redact_secrets
from bot.core.text import strip_bidi
from bot.core.types import Fact, Inventory
from bot.render.headline import BestThroughput, Headline, TtftCallout
from bot.render.narrative import (
    key_facts,
    markdown_safe,
    metrics_markdown,
    narrative_markdown,
    rejected_appendix,
)
from bot.render.summary import DataSummary, data_summary

if TYPE_CHECKING:
    import pandas as pd

MAX_CONFIG_ROWS = 40  # per model; the JSON and the store keep everything
MAX_GENERIC_ROWS = 120
MAX_LIST_ROWS = 200
REPORT_KEY_FACTS = 12


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (file contents are untrusted): one line, pipes
    escaped, and '<' escaped so an archive's '<!--' cannot hide the rest of the report."""
    return line(text).replace("|", "\\|")[:300]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict(orient="records")``, built column by column: the very values (~2 ms, not
    ~5 ms, for the real archive's 1,037 groups).

    How ``to_dict`` makes them: it iterates the rows, then boxes each value of an object or extension
    column (``maybe_box_native``: numpy scalars to Python, NA to None). Here a numeric column is
    ``tolist()`` (the same Python scalars), a text column whose missing value is NaN is ``tolist()``
    too (strings and NaN: what boxing leaves as they are), and any other column is boxed value by
    value, as ``to_dict`` does (tests/render/test_records.py)."""
    import numpy as np
    import pandas as pd
    from pandas.core.dtypes.cast import maybe_box_native

    if not frame.columns.is_unique or frame.columns.empty:
        return frame.to_dict(orient="records")  # (not a frame of ours) what to_dict makes of it
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        column = frame[name]
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iufb":
            columns[name] = column.tolist()
        elif isinstance(dtype, np.dtype) and dtype.kind != "O":
            columns[name] = list(column)  # datetimes: the values the row iteration gives, unboxed
        elif isinstance(dtype, pd.StringDtype) and dtype.storage == "python" and dtype.na_value is np.nan:
            columns[name] = column.tolist()
        else:
            columns[name] = list(map(maybe_box_native, column))
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def line(text: object) -> str:
    """Untrusted text as one line of Markdown with HTML/comment openers escaped."""
    return " ".join(str(text).replace("<", "&lt;").split())


def _stat(stats: Mapping[str, Any], key: str, unit: str) -> str:
    return stated(stats.get(key), unit) if stats.get(key) is not None else "–"


def _headline_fact(facts: list[Fact], metric: str, model: str) -> Fact | None:
    return next((f for f in facts if f.metric == metric and f.model == model), None)


def _ttft_callout(analysis: Analysis, best: Fact | None) -> TtftCallout | None:
    """TTFT of the headline's model, only when it is not pooled over configurations that differ in
    TTFT: the model's own figure when it has one TTFT configuration, else none."""
    if best is None:
        return None
    facts = analysis.facts
    p50 = next((f for f in facts if f.metric == "ttft_ms" and f.model == best.model and f.config == best.config
                and "warm TTFT" in f.statement), None)
    p95 = next((f for f in facts if f.metric == "ttft_p95_ms" and f.model == best.model and f.config == best.config),
               None)
    stats = next((m for m in analysis.models if m.model == best.model), None)
    if p50 is None and (stats is None or not stats.rollup("ttft_ms").pooled):
        p50 = _headline_fact(facts, "ttft_ms", best.model)  # the model has one TTFT configuration
        p95 = _headline_fact(facts, "ttft_p95_ms", best.model)
    if p50 is None:
        return None
    return TtftCallout(model=best.model, p50=p50.value, p95=p95.value if p95 is not None else None,
                       fact_ids=tuple(f.id for f in (p50, p95) if f is not None))


def build_headline(analysis: Analysis, inventory: Inventory, narrative: Narrative | None) -> Headline:
    """The figures a Slack summary shows, each tied to the fact it comes from."""
    facts = analysis.facts
    best = next((f for f in facts if f.role == "best_throughput"), None)
    ttft = _ttft_callout(analysis, best)
    pick = best_configuration(analysis) if best is not None else None
    return Headline(
        best_throughput=None if best is None else BestThroughput(
            model=best.model, config=best.config, value=best.value, unit=best.unit, fact_id=best.id,
            n=best.rows, values=config_values(best.config),
            separable=pick.separable if pick is not None else False,
            noise=pick.verdict if pick is not None else ""),
        ttft_ms=ttft,
        failed_requests=analysis.failed,
        total_requests=analysis.total,
        skipped_files=len(inventory.skipped),
        ungrounded_numbers=len(narrative.ungrounded) if narrative is not None else 0,
        claim_mismatches=sum(1 for c in analysis.claim_checks if c.status == "mismatch"),
        narrative_rejected=narrative is not None and narrative.gate is not None and not narrative.gate.passed,
    )


def build_json(*, archive: str, analysis: Analysis, inventory: Inventory, narrative: Narrative | None,
               timings_s: Mapping[str, float], summary: DataSummary | None = None) -> dict[str, Any]:
    return strict_json(_document(archive=archive, analysis=analysis, inventory=inventory, narrative=narrative,
                                 timings_s=timings_s,
                                 summary=summary if summary is not None else data_summary(analysis)))


def _document(*, archive: str, analysis: Analysis, inventory: Inventory, narrative: Narrative | None,
              timings_s: Mapping[str, float], summary: DataSummary) -> dict[str, Any]:
    groups = records(analysis.groups) if not analysis.groups.empty else []
    by_model_metric: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for group in groups:
        by_model_metric.setdefault((group["model"], group["metric"]), []).append(group)
    models = []
    for m in analysis.models:
        models.append({
            "model": m.model,
            "requests": m.requests,
            "n": m.n,
            "failed": m.failed,
            "cold_starts": m.cold_starts,
            "throughput_tok_s": dict(m.throughput_tok_s),
            "ttft_ms": dict(m.ttft_ms),
            "ttft_warm_ms": dict(m.ttft_warm_ms),
            "latency_ms": dict(m.latency_ms),
            "latency_definition": m.latency_definition,
            "ttft_definitions": list(m.ttft_definitions),
            "failure_reasons": dict(m.failure_reasons),
            "sources": list(m.sources),
            "samples": m.samples,
            # what the model-level figures above pool, per metric: they are roll-ups when pooled
            "rollup": {metric: r.to_json() for metric, r in m.rollups.items()},
            "configurations": _model_configurations(analysis, m.model, by_model_metric),
        })
    return {
        "version": __version__,
        "archive": archive,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inventory": {
            "files_total": inventory.files_total,
            "by_format": {k: inventory.by_format.get(k, 0) for k in ("csv", "json", "md")}
            | {k: v for k, v in inventory.by_format.items() if k not in {"csv", "json", "md"}},
            "skipped": [{"path": s.path, "reason": s.reason} for s in inventory.skipped],
            "duplicates": [[kept, dup] for kept, dup in inventory.duplicates],
            "warnings": [{"path": w.path, "reason": w.reason} for w in inventory.warnings],
            "model_origin": dict(inventory.model_origin),
            "duplicate_reasons": dict(inventory.duplicate_reasons),
            "tools": dict(inventory.tools),
        },
        "requests": {"total": analysis.total, "succeeded": analysis.total - analysis.failed,
                     "failed": analysis.failed, "samples": analysis.samples,
                     "tool_reported": {"completed": analysis.tool_completed, "failed": analysis.tool_failed}},
        "models": models,
        "configs": records(analysis.configs),
        "dimensions": [d.to_json() for _, d in sorted(analysis.dimensions.items())],
        "groups": groups,
        "aggregates": _aggregate_records(analysis),
        "comparisons": [c.__dict__ | {"sources": list(c.sources)} for c in analysis.comparisons],
        "claims": {
            "checked": len(analysis.claim_checks),
            "unverifiable": analysis.claims_unverifiable,
            "mismatches": [_fields(c) | {"raw_sources": list(c.raw_sources)}
                           for c in analysis.claim_checks if c.status == "mismatch"],
            "rankings": [r.to_json() for r in analysis.rankings],
        },
        "facts": [f.to_json() for f in analysis.facts],
        "headline": build_headline(analysis, inventory, narrative).to_json(),
        "data_summary": summary.to_json(),
        "llm": narrative.to_json() if narrative is not None else {"status": "skipped", "reason": "not run"},
        "timings_s": {k: round(v, 4) for k, v in timings_s.items()},
    }


def _fields(item: Any) -> dict[str, Any]:
    """A dataclass's fields by name, in declaration order (what ``__dict__`` gave before it had slots)."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


_AGGREGATE_FIELDS = ("model", "config", "values", "metric", "statistic", "value", "unit", "n", "definition", "source",
                     "failed", "error")


def _aggregate_records(analysis: Analysis) -> list[dict[str, Any]]:
    """The tools' own figures, one per (model, configuration, metric, statistic) row as the file gave it."""
    agg = analysis.aggregates
    if agg.empty:
        return []
    return [{k: row[k] for k in _AGGREGATE_FIELDS} for row in records(agg)]


def _model_configurations(analysis: Analysis, model: str,
                          groups: Mapping[tuple[str, str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A model's configurations per metric: the dimensions that vary, and each configuration's values
    (``groups``: the records of `Analysis.groups` by model and metric)."""
    out = []
    for (name, metric), dims in sorted(analysis.dimensions.items()):
        if name != model or metric not in _CONFIG_TABLE_METRICS:
            continue
        out.append({"metric": metric, "varying": list(dims.varying), "key": list(dims.key),
                    "constant": dict(dims.constant), "count": dims.configurations,
                    "configurations": [{"config": r["config"], "values": r["values"], "kind": r["kind"], "n": r["n"],
                                        "failed": r["failed"], "median": r["median"]}
                                       for r in groups.get((model, metric), [])]})
    return out


_CONFIG_TABLE_METRICS = ("throughput_tok_s", "prompt_throughput_tok_s", "combined_throughput_tok_s", "ttft_ms",
                         "latency_ms")


def render_markdown(*, archive: str, analysis: Analysis, inventory: Inventory,
                    narrative: Narrative | None, summary: DataSummary | None = None) -> str:
    """The report body; append `render_footer` once every timing is known."""
    facts = analysis.facts
    summary = summary if summary is not None else data_summary(analysis)
    callouts = _callouts(build_headline(analysis, inventory, narrative))
    out: list[str] = [f"# Benchmark report: {cell(archive)}", ""]
    out.append(f"_Chimera Insight {__version__}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
               f"{inventory.files_total} files; every figure is computed from the archive's raw rows and "
               f"cites its fact id [F…]; failed requests are counted, never averaged in._")
    out.append("")
    out += [f"> **Left out:** {cell(note)}\n" for note in left_out(inventory.warnings)]  # past the report's caps
    if narrative is not None and narrative.status == "ok":
        out.append(narrative_markdown(narrative, facts))
        out += [*callouts, "## Key facts", ""]
    else:
        out += ["## Executive summary (from the data)", ""]
        if narrative is not None:
            out += [narrative_markdown(narrative, facts).strip(), ""]
        if summary.sentences:
            out += [markdown_safe(summary.markdown(), inline=False), ""]
        out += [*callouts, "### Key facts", ""]
    for fact in key_facts(facts, REPORT_KEY_FACTS):
        out.append(f"- {line(fact.statement)} [{fact.id}]")
    out.append("")

    out += _models_section(analysis)
    out += _configs_section(analysis)
    out += _comparisons_section(analysis, facts)
    out += _failures_section(analysis)
    out += _aggregates_section(analysis)
    out += _generic_section(analysis)
    out += _claims_section(analysis)
    out += _files_section(inventory)
    out += ["## All facts", "", "| Id | Statement | Value | Sources |", "|---|---|---|---|"]
    for fact in facts:
        sources = ", ".join(fact.sources[:4]) + (f" (+{len(fact.sources) - 4} more)" if len(fact.sources) > 4 else "")
        out.append(f"| {fact.id} | {cell(fact.statement)} | {cell(stated(fact.value, fact.unit))} | {cell(sources)} |")
    out.append("")
    appendix = rejected_appendix(narrative)
    if appendix:
        out += [appendix]
    return outgoing("\n".join(out).rstrip() + "\n")


def _callouts(headline: Headline) -> list[str]:
    """The metric callouts beside the summary (the figures Slack shows in its fields), each with its fact."""
    best, ttft = headline.best_throughput, headline.ttft_ms
    if best is not None:
        where = cell(best.model) + (f" `{cell(best.config)}`" if best.config else "")
        noise = "" if best.separable or not best.noise else f" — {cell(best.noise)}"
        best_cell = (f"**{format_number(best.value, style='figure')} {cell(best.unit)}** {where} "
                     f"[{cell(best.fact_id)}]{noise}")
    else:
        best_cell = "n/a (no successful requests with throughput)"
    if ttft is not None:
        ttft_cell = (f"**{format_number(ttft.p50, style='figure')} / {format_number(ttft.p95, style='figure')} ms** "
                     f"{cell(ttft.model)} [{', '.join(cell(f) for f in ttft.fact_ids)}]")
    else:
        ttft_cell = "n/a (no TTFT for that configuration)"
    failed = (f"**{headline.failed_requests:,}** of {headline.total_requests:,} (excluded from every statistic)"
              if headline.total_requests else "no LLM requests")
    return ["| Best throughput | TTFT p50 / p95 | Failed requests | Skipped files |", "|---|---|---|---|",
            f"| {best_cell} | {ttft_cell} | {failed} | **{headline.skipped_files}** |", ""]


def outgoing(text: str) -> str:
    """The last step of every report text: bidirectional controls stripped (archive contents are
    untrusted) and URL credentials redacted (a narrative reason may quote OLLAMA_HOST)."""
    return redact_secrets(strip_bidi(text))


def render_footer(narrative: Narrative | None, timings_s: Mapping[str, float]) -> str:
    """The Metrics block: workflow timings (ingest | analysis | report) and the LLM calls."""
    if narrative is not None:
        return outgoing(metrics_markdown(narrative, timings_s))
    flow = " | ".join(f"{name} {seconds:.2f} s" for name, seconds in timings_s.items())
    return f"## Metrics\n\nWorkflow: {flow}\n"


def _models_section(analysis: Analysis) -> list[str]:
    if not analysis.models:
        return ["## Models", "", "No per-request LLM results or benchmark samples were found in this archive.", ""]
    out = ["## Models", "",
           "Statistics over successful requests (or benchmark samples) only. *Warm* TTFT excludes cold starts "
           "(requests whose model load dominated TTFT). A model with several configurations gets **roll-up** "
           "figures here (marked ⊕): they pool configurations that differ, so they are no configuration's figure; "
           "each configuration's own figures are under *Configurations*.", "",
           "| Model | Configurations | Requests (or samples) | OK | Failed | Cold starts | Throughput median | mean | "
           "p95 | TTFT warm p50 | warm p95 | TTFT all p50 | Latency p50 | Latency p95 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in analysis.models:
        t, w, a, lat = m.throughput_tok_s, m.ttft_warm_ms, m.ttft_ms, m.latency_ms
        count = max((r.configurations for r in m.rollups.values()), default=1)
        mark = " ⊕" if count > 1 else ""
        out.append(f"| {cell(m.model)} | {count} | {m.requests} | {m.n} | {m.failed} | {m.cold_starts} | "
                   f"{_stat(t, 'median', 'tok/s')}{mark} | {_stat(t, 'mean', 'tok/s')} | {_stat(t, 'p95', 'tok/s')} | "
                   f"{_stat(w, 'median', 'ms')} | {_stat(w, 'p95', 'ms')} | {_stat(a, 'median', 'ms')} | "
                   f"{_stat(lat, 'median', 'ms')} | {_stat(lat, 'p95', 'ms')} |")
    pooled = [(m, r) for m in analysis.models for metric, r in m.rollups.items()
              if metric == "throughput_tok_s" and r.pooled]
    if pooled:
        out += ["", "Roll-ups (⊕), and what they pool:"]
        out += [f"- {cell(m.model)}: throughput {cell(r.words())}" for m, r in pooled]
    out += ["", "What TTFT means in these files:"]
    out += [f"- {cell(m.model)}: {'; '.join(m.ttft_definitions)}" for m in analysis.models if m.ttft_definitions]
    derived = sorted({m.latency_definition for m in analysis.models if m.latency_definition})
    if derived:
        out += ["", f"Latency where no file records it: {'; '.join(derived)}."]
    out.append("")
    return out


def _configs_section(analysis: Analysis) -> list[str]:
    """Per model and metric, one row per configuration, one column per dimension that tells them apart."""
    groups = analysis.groups
    if groups.empty:
        return []
    out = ["## Configurations", "",
           "A configuration is the set of dimensions that vary among a model's rows for a metric; its figures "
           "never pool rows of another configuration.", ""]
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    scope = groups.loc[groups["metric"].isin(_CONFIG_TABLE_METRICS)]
    for row in records(scope):
        by_key.setdefault((str(row["model"]), str(row["metric"])), []).append(row)
    for (model, metric), rows in sorted(by_key.items()):
        if len({r["config"] for r in rows}) >= 2:
            out += _config_table_lines(analysis, model, metric, rows)
    return out if len(out) > 4 else []


def _config_table_lines(analysis: Analysis, model: str, metric: str, rows: list[dict[str, Any]]) -> list[str]:
    dims = analysis.dimensions.get((model, metric))
    key = list(dims.key) if dims is not None else []
    unit = METRICS[metric].unit
    sign = -1.0 if METRICS[metric].higher_is_better else 1.0
    varying = f"(differ in {', '.join(dims.varying)})" if dims is not None else ""
    count = len({r["config"] for r in rows})
    out = [f"### {cell(model)} — {METRICS[metric].label}: {count} configurations {cell(varying)}", ""]
    warm = metric == "ttft_ms"
    header = [*key, "n", "failed", "median", "mean", "p95", "std"] + (["warm p50"] if warm else [])
    out += ["| " + " | ".join(cell(h) for h in header) + " |",
            "|" + "---|" * len(key) + "---:|" * (len(header) - len(key))]
    ranked = sorted(rows, key=lambda r: (r["median"] != r["median"], sign * (r["median"] or 0.0), r["config"]))
    for row in ranked[:MAX_CONFIG_ROWS]:
        values = [cell(row["values"].get(k, "–")) for k in key]
        figures = [str(row["n"]), str(row["failed"]), _present(row["median"], unit), _present(row["mean"], unit),
                   _present(row["p95"], unit), _present(row["std"], unit)]
        if warm:
            figures.append(_present(row["warm_median"], unit))
        out.append("| " + " | ".join(values + figures) + " |")
    if len(ranked) > MAX_CONFIG_ROWS:
        out.append(f"| … {len(ranked) - MAX_CONFIG_ROWS} more in the JSON output |" + " |" * (len(header) - 1))
    out.append("")
    return out


def _present(value: float | None, unit: str) -> str:
    """A table value, or a dash when it is missing (None or NaN)."""
    return stated(value, unit) if value is not None and value == value else "–"


def _comparisons_section(analysis: Analysis, facts: list[Fact]) -> list[str]:
    rows = [f for f in facts if f.metric == "throughput_gap"]
    if not rows:
        return []
    out = ["## Configuration effects", "",
           "Best vs worst by median throughput; a gap only counts when a Welch t-test separates it from the "
           "noise (p < 0.05) with at least 2 samples per side.", ""]
    out += [f"- {line(f.statement)} [{f.id}]" for f in rows]
    out.append("")
    return out


def _failures_section(analysis: Analysis) -> list[str]:
    failing = [m for m in analysis.models if m.failed]
    if not failing:
        return ["## Failures", "", "No failed requests.", ""]
    out = ["## Failures", "", "Failed requests (errors, `success: false`, zero tokens) are excluded from every "
           "statistic.", "", "| Model | Failed | Reason | Count |", "|---|---:|---|---:|"]
    for m in failing:
        for reason, count in list(m.failure_reasons.items())[:8]:
            out.append(f"| {cell(m.model)} | {m.failed} | {cell(reason)} | {count} |")
    out.append("")
    return out


def _aggregates_section(analysis: Analysis) -> list[str]:
    agg = analysis.aggregates
    if agg.empty:
        return []
    out = ["## Tool-reported aggregates", "", "Figures a tool computed itself (no per-request samples in the file), "
           "one per model, configuration, metric and statistic, with the tool's n; never re-aggregated. A figure "
           "of a run in which no request completed is not a value.", "",
           "| Model | Configuration | Metric | Statistic | Value | n | Definition | Source |",
           "|---|---|---|---|---:|---:|---|---|"]
    for row in agg.head(MAX_LIST_ROWS).itertuples(index=False):
        if row.value != row.value:
            continue
        value = stated(row.value, row.unit) + (" (not a value: all requests failed)" if row.failed else "")
        n = str(int(row.n)) if row.n == row.n else "–"
        out.append(f"| {cell(row.model)} | {cell(row.config or '–')} | {row.metric} | {cell(row.statistic)} | "
                   f"{value} | {n} | {cell(row.definition)} | {cell(row.source)} |")
    if len(agg) > MAX_LIST_ROWS:
        out.append(f"| … {len(agg) - MAX_LIST_ROWS} more in the JSON output | | | | | | | |")
    out.append("")
    return out


def _generic_section(analysis: Analysis) -> list[str]:
    generic = analysis.generic
    if generic.empty:
        return []
    out = ["## Other benchmarks (non-LLM)", "", "| Source | Case | Quantity | Value | Status |",
           "|---|---|---|---:|---|"]
    for row in generic.head(MAX_GENERIC_ROWS).itertuples(index=False):
        status = cell(row.error) if row.failed else "ok"
        out.append(f"| {cell(row.source)} | {cell(row.config or row.model or '–')} | {cell(row.definition)} | "
                   f"{stated(row.value, row.unit)} | {status} |")
    if len(generic) > MAX_GENERIC_ROWS:
        out.append(f"| … {len(generic) - MAX_GENERIC_ROWS} more rows in the JSON output | | | | |")
    out.append("")
    return out


def _claims_section(analysis: Analysis) -> list[str]:
    checks = analysis.claim_checks
    mismatches = [c for c in checks if c.status == "mismatch"]
    out = ["## The archive's own claims", "",
           f"{len(checks)} numbers in summary files and Markdown reports could be tied to raw rows and were "
           f"recomputed: {len(checks) - len(mismatches)} match, {len(mismatches)} "
           f"{'does' if len(mismatches) == 1 else 'do'} not. "
           f"{analysis.claims_unverifiable} more could not be tied to raw rows (no matching model, "
           f"configuration or statistic) and are not used.", ""]
    if mismatches:
        out += ["| Claim in | Model | Configuration | Statistic | Stated | Raw data | n | Raw source | Likely cause |",
                "|---|---|---|---|---:|---:|---:|---|---|"]
        for c in mismatches[:MAX_LIST_ROWS]:
            out.append(f"| {cell(c.source)} | {cell(c.model or '–')} | {cell(c.config or '–')} | "
                       f"{c.statistic} {c.metric} | {stated(c.claimed, c.unit)} | {stated(c.actual, c.unit)} | {c.n} | "
                       f"{cell(', '.join(c.raw_sources))} | {cell(c.explanation or '–')} |")
        out.append("")
    out += _rankings_lines(analysis)
    return out


def _rankings_lines(analysis: Analysis) -> list[str]:
    """Rankings the archive states, against the computed ranking and its noise."""
    if not analysis.rankings:
        return []
    out = ["### Rankings the archive states", "", "| Claim in | Claim | Verdict | Check |", "|---|---|---|---|"]
    ordered = sorted(analysis.rankings, key=lambda r: r.status == "unverifiable")
    for r in ordered[:MAX_LIST_ROWS]:
        out.append(f"| {cell(r.source)} | {cell(r.text)} | {r.status} | {cell(r.verdict)} |")
    out.append("")
    return out


def _files_section(inventory: Inventory) -> list[str]:
    formats = ", ".join(f"{k}: {v}" for k, v in sorted(inventory.by_format.items()))
    out = ["## Files", "", f"{inventory.files_total} files ({formats}); {len(inventory.parsed)} read, "
           f"{len(inventory.skipped)} skipped, {len(inventory.duplicates)} duplicates counted once.", ""]
    if inventory.skipped:
        out += ["### Skipped", "", "| File | Reason |", "|---|---|"]
        out += [f"| {cell(s.path)} | {cell(s.reason)} |" for s in inventory.skipped[:MAX_LIST_ROWS]]
        if len(inventory.skipped) > MAX_LIST_ROWS:
            out.append(f"| … {len(inventory.skipped) - MAX_LIST_ROWS} more in the JSON output | |")
        out.append("")
    if inventory.duplicates:
        out += ["### Duplicates (counted once)", "", "| Kept | Duplicate | Why |", "|---|---|---|"]
        out += [f"| {cell(a)} | {cell(b)} | {cell(inventory.duplicate_reasons.get(b, 'byte-identical'))} |"
                for a, b in inventory.duplicates[:MAX_LIST_ROWS]]
        out.append("")
    if inventory.warnings:
        out += ["### Read in part", "", "| File | What was left out |", "|---|---|"]
        out += [f"| {cell(w.path)} | {cell(w.reason)} |" for w in inventory.warnings[:MAX_LIST_ROWS]]
        out.append("")
    if inventory.model_origin:
        out += ["### Model names not in the file itself", "", "| File | Taken from |", "|---|---|"]
        out += [f"| {cell(k)} | {cell(v)} |" for k, v in sorted(inventory.model_origin.items())]
        out.append("")
    return out
