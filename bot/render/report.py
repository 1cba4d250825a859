"""Render: analysis + narrative -> the Markdown report and the JSON document (a stable contract).

Pure: no I/O. The JSON shape is documented in README ("JSON output"); only add keys to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot import __version__
from bot.core.analysis import Analysis
from bot.core.analysis.facts import stated
from bot.core.jsonsafe import strict_json
from bot.core.narrative import Narrative
from bot.core.types import Fact, Inventory
from bot.render.headline import BestThroughput, Headline, TtftCallout
from bot.render.narrative import key_facts, metrics_markdown, narrative_markdown, rejected_appendix

MAX_CONFIG_ROWS = 40  # per model; the JSON and the store keep everything
MAX_GENERIC_ROWS = 120
MAX_LIST_ROWS = 200
REPORT_KEY_FACTS = 12


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (file contents are untrusted): one line, pipes
    escaped, and '<' escaped so an archive's '<!--' cannot hide the rest of the report."""
    return line(text).replace("|", "\\|")[:300]


def line(text: object) -> str:
    """Untrusted text as one line of Markdown with HTML/comment openers escaped."""
    return " ".join(str(text).replace("<", "&lt;").split())


def _stat(stats: Mapping[str, Any], key: str, unit: str) -> str:
    return stated(stats.get(key), unit) if stats.get(key) is not None else "–"


def _headline_fact(facts: list[Fact], metric: str, model: str) -> Fact | None:
    return next((f for f in facts if f.metric == metric and f.model == model), None)


def build_headline(analysis: Analysis, inventory: Inventory, narrative: Narrative | None) -> Headline:
    """The figures a Slack summary shows, each tied to the fact it comes from."""
    facts = analysis.facts
    best = next((f for f in facts if f.role == "best_throughput"), None)
    ttft: TtftCallout | None = None
    if best is not None:
        p50 = _headline_fact(facts, "ttft_ms", best.model)
        p95 = _headline_fact(facts, "ttft_p95_ms", best.model)
        if p50 is not None:
            ttft = TtftCallout(model=best.model, p50=p50.value, p95=p95.value if p95 is not None else None,
                               fact_ids=tuple(f.id for f in (p50, p95) if f is not None))
    return Headline(
        best_throughput=None if best is None else BestThroughput(
            model=best.model, config=best.config, value=best.value, unit=best.unit, fact_id=best.id),
        ttft_ms=ttft,
        failed_requests=analysis.failed,
        total_requests=analysis.total,
        skipped_files=len(inventory.skipped),
        ungrounded_numbers=len(narrative.ungrounded) if narrative is not None else 0,
        claim_mismatches=sum(1 for c in analysis.claim_checks if c.status == "mismatch"),
        narrative_rejected=narrative is not None and narrative.gate is not None and not narrative.gate.passed,
    )


def build_json(*, archive: str, analysis: Analysis, inventory: Inventory, narrative: Narrative | None,
               timings_s: Mapping[str, float]) -> dict[str, Any]:
    return strict_json(_document(archive=archive, analysis=analysis, inventory=inventory, narrative=narrative,
                             timings_s=timings_s))


def _document(*, archive: str, analysis: Analysis, inventory: Inventory, narrative: Narrative | None,
              timings_s: Mapping[str, float]) -> dict[str, Any]:
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
        },
        "requests": {"total": analysis.total, "succeeded": analysis.total - analysis.failed,
                     "failed": analysis.failed},
        "models": models,
        "configs": analysis.configs.to_dict(orient="records"),
        "comparisons": [c.__dict__ | {"sources": list(c.sources)} for c in analysis.comparisons],
        "claims": {
            "checked": len(analysis.claim_checks),
            "unverifiable": analysis.claims_unverifiable,
            "mismatches": [c.__dict__ | {"raw_sources": list(c.raw_sources)}
                           for c in analysis.claim_checks if c.status == "mismatch"],
        },
        "facts": [f.to_json() for f in analysis.facts],
        "headline": build_headline(analysis, inventory, narrative).to_json(),
        "llm": narrative.to_json() if narrative is not None else {"status": "skipped", "reason": "not run"},
        "timings_s": {k: round(v, 4) for k, v in timings_s.items()},
    }


def render_markdown(*, archive: str, analysis: Analysis, inventory: Inventory,
                    narrative: Narrative | None) -> str:
    """The report body; append `render_footer` once every timing is known."""
    facts = analysis.facts
    out: list[str] = [f"# Benchmark report: {cell(archive)}", ""]
    out.append(f"_Chimera Insight {__version__}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
               f"{inventory.files_total} files; every figure is computed from the archive's raw rows and "
               f"cites its fact id [F…]; failed requests are counted, never averaged in._")
    out.append("")
    if narrative is not None and narrative.status == "ok":
        out.append(narrative_markdown(narrative, facts))
        out += ["## Key facts", ""]
    else:
        out += ["## Executive summary (from the data)", ""]
        if narrative is not None:
            out += [narrative_markdown(narrative, facts).strip(), ""]
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
    return "\n".join(out).rstrip() + "\n"


def render_footer(narrative: Narrative | None, timings_s: Mapping[str, float]) -> str:
    """The Metrics block: workflow timings (ingest | analysis | report) and the LLM calls."""
    if narrative is not None:
        return metrics_markdown(narrative, timings_s)
    flow = " | ".join(f"{name} {seconds:.2f} s" for name, seconds in timings_s.items())
    return f"## Metrics\n\nWorkflow: {flow}\n"


def _models_section(analysis: Analysis) -> list[str]:
    if not analysis.models:
        return ["## Models", "", "No per-request LLM results were found in this archive.", ""]
    out = ["## Models", "",
           "Statistics over successful requests only. *Warm* TTFT excludes cold starts (requests whose "
           "model load dominated TTFT); what TTFT means in each file is listed below the table.", "",
           "| Model | Requests | OK | Failed | Cold starts | Throughput median | mean | p95 | "
           "TTFT warm p50 | warm p95 | TTFT all p50 | Latency p50 | Latency p95 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in analysis.models:
        t, w, a, lat = m.throughput_tok_s, m.ttft_warm_ms, m.ttft_ms, m.latency_ms
        out.append(f"| {cell(m.model)} | {m.requests} | {m.n} | {m.failed} | {m.cold_starts} | "
                   f"{_stat(t, 'median', 'tok/s')} | {_stat(t, 'mean', 'tok/s')} | {_stat(t, 'p95', 'tok/s')} | "
                   f"{_stat(w, 'median', 'ms')} | {_stat(w, 'p95', 'ms')} | {_stat(a, 'median', 'ms')} | "
                   f"{_stat(lat, 'median', 'ms')} | {_stat(lat, 'p95', 'ms')} |")
    out += ["", "What TTFT means in these files:"]
    out += [f"- {cell(m.model)}: {'; '.join(m.ttft_definitions)}" for m in analysis.models if m.ttft_definitions]
    derived = sorted({m.latency_definition for m in analysis.models if m.latency_definition})
    if derived:
        out += ["", f"Latency where no file records it: {'; '.join(derived)}."]
    out.append("")
    return out


def _configs_section(analysis: Analysis) -> list[str]:
    configs = analysis.configs
    if configs.empty:
        return []
    out = ["## Configurations", "", "| Model | Configuration | n | Failed | Throughput median | mean | std | "
           "TTFT warm p50 |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for model, rows in configs.groupby("model", sort=True):
        ranked = rows.sort_values("throughput_median", ascending=False, na_position="last")
        for row in ranked.head(MAX_CONFIG_ROWS).itertuples(index=False):
            mean = stated(row.throughput_mean, "tok/s") if row.throughput_mean == row.throughput_mean else "–"
            out.append(f"| {cell(model)} | {cell(row.config)} | {row.n} | {row.failed} | "
                       f"{_throughput_cell(row.throughput_median, row.prompt_throughput_median)} | {mean} | "
                       f"{_present(row.throughput_std, 'tok/s')} | {_present(row.ttft_warm_median_ms, 'ms')} |")
        if len(ranked) > MAX_CONFIG_ROWS:
            out.append(f"| {cell(model)} | … {len(ranked) - MAX_CONFIG_ROWS} more in the JSON output | | | | | | |")
    out.append("")
    return out


def _present(value: float | None, unit: str) -> str:
    """A table value, or a dash when it is missing (None or NaN)."""
    return stated(value, unit) if value is not None and value == value else "–"


def _throughput_cell(generation: float | None, prompt: float | None) -> str:
    """Generation throughput; for a llama-bench pp test (no generation) its prompt-processing speed."""
    if generation is not None and generation == generation:
        return stated(generation, "tok/s")
    if prompt is not None and prompt == prompt:
        return f"{stated(prompt, 'tok/s')} (prompt processing)"
    return "–"


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
    out = ["## Tool-reported aggregates", "", "Values a tool reported as its own aggregate (no per-request "
           "samples in the file).", "", "| Model | Configuration | Metric | Value | Definition | Source |",
           "|---|---|---|---:|---|---|"]
    for row in agg.head(MAX_LIST_ROWS).itertuples(index=False):
        out.append(f"| {cell(row.model)} | {cell(row.config)} | {row.metric} | {stated(row.value, row.unit)} | "
                   f"{cell(row.definition)} | {cell(row.source)} |")
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
        out += ["### Duplicates (counted once)", "", "| Kept | Duplicate |", "|---|---|"]
        out += [f"| {cell(a)} | {cell(b)} |" for a, b in inventory.duplicates[:MAX_LIST_ROWS]]
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
