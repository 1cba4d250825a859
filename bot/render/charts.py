"""The chart posted in the thread: one PNG that reads at a glance.

What it draws (`chart_plan` decides, `chart_figure` draws, `chart_png` does both):

- **bar panels** — generation throughput and TTFT first (without TTFT: prompt processing, latency
  or a tool's own throughput figures). Each bar is one configuration's own median (for several
  models: each model's best configuration; for one model: its best configurations), labelled with
  its value and n, with the spread: p5–p95 whiskers and, for up to `MAX_DOTS` values, the values
  themselves as dots. TTFT is the warm TTFT (cold starts left out, as in the facts), and its panel
  says what TTFT means in these files (bars coloured by definition when the files disagree). A
  tool's own figures (no per-request values) are drawn without a spread and say so. The headline
  configuration's bar is the dark one.
- **sweep panels** — when a model's configurations differ in a numeric setting (context depth
  ``n_depth``, ``n_gen``, ``num_ctx``, ``num_gpu``, request rate, concurrency…), the metric against
  that setting, one line per combination of the other settings (`bot.core.analysis.sweeps`), with
  the p5–p95 band where there are several values per point; the picture a llama-bench depth sweep
  or a vLLM rate sweep is run for. Settings are evenly spaced in their order (0, 1,024 … 65,536 or
  1, 4, 16, inf); a metric spanning more than 30× gets a log axis.

Nothing is pooled: no bar or point mixes configurations. Every list is capped (`MAX_BARS`,
`MAX_SERIES`, `MAX_SWEEP_PANELS`) and the rest is counted in the panel's title, so the PNG stays a
few hundred KB and at most `MAX_HEIGHT_PX` tall (Slack previews it; its upload limit is far above).

Uses matplotlib's object API with the Agg canvas (no pyplot global state), so it is safe from
worker threads and never opens a window. Pure: the analysis in, bytes (and the plan) out.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bot.core.analysis import Analysis
from bot.core.analysis.facts import best_configuration
from bot.core.analysis.groups import group_values
from bot.core.analysis.sweeps import AGGREGATE_STATISTICS, METRIC_ORDER, Sweep, aggregate_sweeps, row_sweeps
from bot.core.config import Config
from bot.core.metrics import METRICS
from bot.core.numbers import format_number
from bot.render.summary import plain_definition

MAX_BARS = 12  # per bar panel
MAX_SERIES = 6  # lines per sweep panel
MAX_BAR_PANELS = 2
MAX_SWEEP_PANELS = 4
MAX_DOTS = 40  # a bar shows its values as dots up to this many
LOG_SPAN = 30.0  # a sweep whose values span more than this factor gets a log axis
WIDTH_IN = 14.0
DPI = 100
MAX_HEIGHT_PX = 3200
LABEL_CHARS = 46
CUT_SPREAD = 2.5  # whiskers and dots beyond this many times the longest bar are cut (and their p95 written)

_BAR_METRICS = ("throughput_tok_s", "ttft_ms", "prompt_throughput_tok_s", "latency_ms", "output_throughput_tok_s",
                "total_throughput_tok_s", "request_throughput_req_s")
_COLOURS = ("#2b8cbe", "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b", "#8c6d31", "#17becf")
_COLOUR_NAMES = dict(zip(_COLOURS, ("blue", "orange", "green", "purple", "grey", "red", "brown", "cyan"), strict=True))
_DARK = {"#2b8cbe": "#08519c", "#e6550d": "#a63603", "#31a354": "#006d2c", "#756bb1": "#54278f"}


@dataclass(frozen=True)
class Bar:
    label: str  # the model and (shortened) configuration
    value: float  # the configuration's median (or the tool's statistic)
    n: int | None  # values behind it (the tool's n for its own figures; None when unrecorded)
    low: float | None = None  # p5
    high: float | None = None  # p95
    dots: tuple[float, ...] = ()  # the values themselves, when few
    group: str = ""  # what the value means when a panel mixes meanings (TTFT definitions)
    headline: bool = False  # the configuration the summary's headline names


@dataclass(frozen=True)
class BarPanel:
    metric: str
    title: str
    unit: str
    higher_is_better: bool
    bars: tuple[Bar, ...]
    left_out: int = 0  # configurations (or models) not drawn
    note: str = ""  # a second title line: what the figures are, what a definition is
    kind: str = "bars"


@dataclass(frozen=True)
class Line:
    label: str
    x: tuple[int, ...]  # positions on the panel's setting axis
    values: tuple[float, ...]
    low: tuple[float | None, ...] = ()
    high: tuple[float | None, ...] = ()
    n: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class SweepPanel:
    metric: str
    title: str
    unit: str
    dimension: str
    settings: tuple[str, ...]  # the axis: every setting a drawn line has, in order
    lines: tuple[Line, ...]
    left_out: int = 0  # lines not drawn
    log: bool = False
    note: str = ""
    kind: str = "sweep"


Panel = BarPanel | SweepPanel


@dataclass(frozen=True)
class ChartPlan:
    title: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)

    def describe(self) -> list[dict[str, Any]]:
        """What each panel shows, for tests and logs: kind, metric, title, bars or lines, left out."""
        out: list[dict[str, Any]] = []
        for p in self.panels:
            item: dict[str, Any] = {"kind": p.kind, "metric": p.metric, "title": p.title, "left_out": p.left_out}
            if isinstance(p, BarPanel):
                item["bars"] = len(p.bars)
            else:
                item.update(lines=len(p.lines), dimension=p.dimension, settings=list(p.settings), log=p.log)
            out.append(item)
        return out


@dataclass(frozen=True)
class Chart:
    png: bytes
    plan: ChartPlan


def chart_png(analysis: Analysis, *, title: str = "") -> Chart | None:
    """The thread's chart for ``analysis``; None when there is nothing to draw."""
    plan = chart_plan(analysis, title=title)
    if plan is None:
        return None
    figure = chart_figure(plan)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return Chart(buffer.getvalue(), plan)


# --- what to draw --------------------------------------------------------------------------------


def chart_plan(analysis: Analysis, *, title: str = "") -> ChartPlan | None:
    """The panels for ``analysis`` (see the module docstring); None when no panel has anything."""
    row_lines = [s for s in row_sweeps(analysis) if s.metric in METRIC_ORDER]
    tool_lines = [s for s in aggregate_sweeps(analysis) if s.metric in METRIC_ORDER]
    swept_by_tool = {(s.model, s.metric) for s in tool_lines}
    bars: list[Panel] = []
    for metric in _BAR_METRICS:
        if len(bars) >= MAX_BAR_PANELS:
            break
        panel = _row_bars(analysis, metric) or _tool_bars(analysis, metric, swept_by_tool)
        if panel is not None:
            bars.append(panel)
    ordered = sorted(row_lines + tool_lines, key=lambda s: (METRIC_ORDER.index(s.metric), -_span(s), s.model))
    sweeps: list[Panel] = [_sweep_panel(s, analysis) for s in ordered[:MAX_SWEEP_PANELS]]
    panels = tuple(bars + sweeps)
    return ChartPlan(title=title, panels=panels) if panels else None


def _span(sweep: Sweep) -> float:
    """How much the metric moves along the sweep's leading line (relative to its largest value)."""
    values = [p.value for p in sweep.series[0].points] if sweep.series else []
    top = max(values, default=0.0)
    return (top - min(values)) / top if top > 0 else 0.0


def _config_values(analysis: Analysis, model: str, metric: str, config: str) -> np.ndarray:
    """The successful values of one configuration (empty when the analysis kept none)."""
    return group_values(analysis.values, model=model, metric=metric, config=config)


def _finite(values: Iterable[Any]) -> np.ndarray:
    array = np.asarray([v for v in values if isinstance(v, (int, float, np.number))], dtype="float64")
    return array[np.isfinite(array)]


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _parts(config: str) -> list[str]:
    """A configuration's parts as written, those with an empty value left out."""
    parsed = Config.parse(config)
    return [part for (_key, value), part in zip(parsed.items, parsed.parts, strict=True) if value != ""]


def _labels(models: Sequence[str], configs: Sequence[str], *, with_model: bool) -> tuple[list[str], str]:
    """Labels for drawn configurations: the parts that tell them apart (those all of them share are
    said once, in the second value), the model first when the panel shows several."""
    parts = [_parts(c) for c in configs]
    shared = set.intersection(*(set(p) for p in parts)) if len(parts) > 1 else set()
    labels = []
    for model, own in zip(models, parts, strict=True):
        rest = _lines_of(", ".join(p for p in own if p not in shared), 2)
        labels.append((_short(model) + ("\n" + rest if rest else "")) if with_model else (rest or _short(model)))
    common = ", ".join(p for p in parts[0] if p in shared) if parts else ""
    return labels, common


def _lines_of(text: str, lines: int, width: int = LABEL_CHARS) -> str:
    """``text`` wrapped to at most ``lines`` lines of ``width`` characters (cut with … beyond)."""
    wrapped = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=True)
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    return "\n".join([*wrapped[: lines - 1], _short(" ".join(wrapped[lines - 1:]), width)])


def _headline(analysis: Analysis) -> tuple[str, str] | None:
    pick = best_configuration(analysis)
    return (str(pick.top["model"]), str(pick.top["config"])) if pick is not None else None


def _row_bars(analysis: Analysis, metric: str) -> BarPanel | None:
    """One bar per configuration's own median: each model's best (several models) or the model's best few."""
    g = analysis.groups
    if g.empty:
        return None
    rows = g.loc[(g["metric"] == metric) & (g["n"] > 0)]
    if metric == "ttft_ms":
        rows = rows.assign(median=rows["warm_median"].where(rows["warm_n"].fillna(0) > 0, rows["median"]))
    rows = rows.loc[[isinstance(v, (int, float)) and math.isfinite(v) for v in rows["median"]]]
    if rows.empty:
        return None
    higher = METRICS[metric].higher_is_better
    ranked = rows.sort_values(["median", "model", "config"], ascending=[not higher, True, True])
    several = ranked["model"].nunique() > 1
    chosen = ranked.drop_duplicates("model") if several else ranked
    left_out = len(chosen) - MAX_BARS if len(chosen) > MAX_BARS else 0
    headline = _headline(analysis)
    values = _warm_values(analysis) if metric == "ttft_ms" else None
    shown = chosen.head(MAX_BARS).to_dict(orient="records")
    definitions = sorted({plain_definition(str(r["definition"])) for r in shown} - {""})
    labels, common = _labels([str(r["model"]) for r in shown], [str(r["config"]) for r in shown], with_model=several)
    out = []
    for row, label in zip(shown, labels, strict=True):
        model, config = str(row["model"]), str(row["config"])
        if values is not None:
            data = values.get((model, config), np.empty(0))
        else:
            data = _config_values(analysis, model, metric, config)
        warm_n = row["warm_n"] if metric == "ttft_ms" and row["warm_n"] == row["warm_n"] and row["warm_n"] else None
        mixed = metric == "ttft_ms" and len(definitions) > 1
        group = (plain_definition(str(row["definition"])) or "not stated") if mixed else ""
        out.append(_bar(label, float(row["median"]), _finite(data), int(warm_n or row["n"]), group=group,
                        headline=headline == (model, config) and metric == "throughput_tok_s"))
    unit = METRICS[metric].unit
    label = METRICS[metric].label if metric != "ttft_ms" else "TTFT p50 (warm: cold starts left out)"
    one_each = bool((rows.groupby("model")["config"].nunique() == 1).all())
    scope = (("one bar per model" if one_each else "each model's best configuration") if several
             else f"{_short(str(chosen['model'].iloc[0]))}: its best configurations")
    better = "higher is better" if higher else "lower is better"
    title = f"{label}, {unit} ({better})\n{scope}" + (f" (+{left_out} more not shown)" if left_out else "")
    spread = any(b.low is not None for b in out)
    note = "bar: median · whisker: p5–p95 · dots: the values" if spread else \
        "bar: median · one value per bar: no spread to draw"
    if common:
        note = f"all bars: {_short(common, 90)}\n" + note
    if metric == "ttft_ms" and len(definitions) == 1:
        note = f"TTFT = {definitions[0]}\n" + note
    elif metric == "ttft_ms" and len(definitions) > 1:  # the files define it differently: colour = definition
        colours = _group_colours(out, metric)
        note = "".join(f"{_COLOUR_NAMES[colours[g]]}: TTFT = {g}\n" for g in sorted(colours)) + note
    elif metric == "throughput_tok_s" and any("chunk" in str(d) for d in chosen["definition"]):
        note = "throughput as the tool defines it: streamed chunks, not tokens\n" + note
    if headline is not None and metric == "throughput_tok_s":
        note += " · dark: the headline configuration"
    return BarPanel(metric=metric, title=title, unit=unit, higher_is_better=higher, bars=tuple(out),
                    left_out=left_out, note=note)


def _group_colours(bars: Sequence[Bar], metric: str) -> dict[str, str]:
    """Each group's colour (TTFT definitions): the plan's note names them, the drawing paints them."""
    first = 1 if metric in ("ttft_ms", "latency_ms") else 0
    return {g: _COLOURS[(i + first) % len(_COLOURS)] for i, g in enumerate(sorted({b.group for b in bars}))}


def _p5_p95(data: np.ndarray) -> tuple[float | None, float | None]:
    if data.size < 2:
        return None, None
    return float(np.percentile(data, 5)), float(np.percentile(data, 95))


def _bar(label: str, value: float, data: np.ndarray, n: int, *, group: str = "", headline: bool = False) -> Bar:
    low, high = _p5_p95(data)
    dots = tuple(float(v) for v in data) if 2 <= data.size <= MAX_DOTS else ()
    return Bar(label=label, value=value, n=n, low=low, high=high, dots=dots, group=group, headline=headline)


def _warm_values(analysis: Analysis) -> dict[tuple[str, str], np.ndarray]:
    """(model, config) -> its successful TTFT values without the cold starts (what the facts' warm TTFT uses)."""
    m = analysis.measurements
    if m.empty:
        return {}
    req = analysis.requests
    cold = set(req.loc[req["cold_start"].astype(bool), "request_id"]) if "cold_start" in req else set()
    ttft = m.loc[(m["metric"] == "ttft_ms") & ~m["failed"].astype(bool) & m["value"].notna()]
    ttft = ttft.loc[~ttft["request_id"].isin(cold)]
    return {(str(k[0]), str(k[1])): part["value"].to_numpy(dtype="float64")
            for k, part in ttft.groupby(["model", "config"], sort=False)}


def _tool_bars(analysis: Analysis, metric: str, swept: set[tuple[str, str]]) -> BarPanel | None:
    """A tool's own figures (one statistic per configuration), when no sweep panel draws them already."""
    agg = analysis.aggregates
    if agg.empty:
        return None
    rows = agg.loc[(agg["metric"] == metric) & ~agg["failed"].astype(bool)]
    rows = rows.loc[[isinstance(v, (int, float)) and math.isfinite(v) for v in rows["value"]]]
    rows = rows.loc[[(str(m), metric) not in swept for m in rows["model"]]]
    if rows.empty:
        return None
    stats = set(rows["statistic"].astype(str))
    statistic = next((s for s in AGGREGATE_STATISTICS if s in stats), None)
    if statistic is None:  # only a max, pNN or std: not a figure to rank configurations by
        return None
    rows = rows.loc[rows["statistic"].astype(str) == statistic]
    higher = METRICS[metric].higher_is_better
    ranked = rows.sort_values(["value", "model", "config"], ascending=[not higher, True, True])
    ranked = ranked.drop_duplicates(["model", "config"])
    several = ranked["model"].nunique() > 1
    left_out = max(0, len(ranked) - MAX_BARS)
    shown = ranked.head(MAX_BARS).to_dict(orient="records")
    labels, common = _labels([str(r["model"]) for r in shown], [str(r["config"]) for r in shown], with_model=several)
    out = []
    for row, label in zip(shown, labels, strict=True):
        n = row.get("n")
        out.append(Bar(label=label, value=float(row["value"]),
                       n=int(n) if isinstance(n, (int, float)) and n == n else None))
    unit = METRICS[metric].unit
    better = "higher is better" if higher else "lower is better"
    title = f"{METRICS[metric].label}, {unit} ({better})\ntool-reported {statistic or 'figure'} per configuration" + (
        f" (+{left_out} more not shown)" if left_out else "")
    definitions = sorted({plain_definition(str(d)) for d in ranked.head(MAX_BARS)["definition"]} - {""})
    note = "\n".join(part for part in (definitions[0] if len(definitions) == 1 else "",
                                        f"all bars: {_short(common, 90)}" if common else "",
                                        "the tool saved no per-request values: no spread to draw") if part)
    return BarPanel(metric=metric, title=title, unit=unit, higher_is_better=higher, bars=tuple(out),
                    left_out=left_out, note=note)


def _sweep_panel(sweep: Sweep, analysis: Analysis) -> SweepPanel:
    lines = sweep.series[:MAX_SERIES]
    names, _shared = _labels(["" for _ in lines], [Config.from_pairs(line.others).text for line in lines],
                             with_model=False)
    settings = sorted({(p.x, p.label) for line in lines for p in line.points})
    position = {label: i for i, (_, label) in enumerate(settings)}
    warm = _warm_values(analysis) if sweep.metric == "ttft_ms" and sweep.source == "rows" else None
    drawn: list[Line] = []
    for line, name in zip(lines, names, strict=True):
        spreads: list[tuple[float | None, float | None]] = []
        for p in line.points:
            if sweep.source != "rows":  # a tool's own figure: no values to spread
                spreads.append((None, None))
                continue
            data = warm.get((sweep.model, p.config), np.empty(0)) if warm is not None else \
                _config_values(analysis, sweep.model, sweep.metric, p.config)
            spreads.append(_p5_p95(_finite(data)))
        drawn.append(Line(label=_lines_of(name, 2, 64) if line.others else _short(sweep.model, 64),
                          x=tuple(position[p.label] for p in line.points), values=tuple(p.value for p in line.points),
                          low=tuple(lo for lo, _ in spreads), high=tuple(hi for _, hi in spreads),
                          n=tuple(p.n for p in line.points)))
    values = [v for line in drawn for v in line.values if v > 0]
    log = bool(values) and min(values) > 0 and max(values) / min(values) > LOG_SPAN
    label = METRICS[sweep.metric].label if sweep.metric in METRICS else sweep.metric
    unit = METRICS[sweep.metric].unit if sweep.metric in METRICS else ""
    what = "tool-reported " + sweep.statistic if sweep.source == "tool" else "median"
    left_out = len(sweep.series) - len(lines)
    title = f"{label} ({what}, {unit}) vs {sweep.dimension}\n{_short(sweep.model, 56)}" + (
        f" (+{left_out} more lines)" if left_out else "")
    ns = {n for line in drawn for n in line.n}
    n_text = f"n={next(iter(ns))} per point" if len(ns) == 1 and None not in ns else (
        "n not recorded by the tool" if ns == {None} else f"n={min(n for n in ns if n is not None)}–"
                                                         f"{max(n for n in ns if n is not None)} per point")
    note = f"one line per combination of the other settings · {n_text}" + (
        " · band: p5–p95" if sweep.source == "rows" and any(h is not None for line in drawn for h in line.high) else "")
    if sweep.metric == "ttft_ms":
        meaning = _meanings(analysis, sweep)
        note = ("warm TTFT (cold starts left out) · " if sweep.source == "rows" else "") + note + (
            f"\nTTFT = {meaning}" if meaning else "")
    return SweepPanel(metric=sweep.metric, title=title, unit=unit, dimension=sweep.dimension,
                      settings=tuple(label for _, label in settings), lines=tuple(drawn), left_out=left_out,
                      log=log, note=note)


# --- drawing ---------------------------------------------------------------------------------------


def _bar_height(panel: Panel) -> float:
    if isinstance(panel, BarPanel):
        lines = sum(1 + b.label.count("\n") for b in panel.bars)
        return 1.6 + 0.28 * lines + 0.2 * len(panel.bars)
    return 4.6


def chart_figure(plan: ChartPlan) -> Figure:
    """The figure for ``plan`` (not saved: tests inspect it)."""
    panels = list(plan.panels)
    columns = 1 if len(panels) == 1 else 2
    rows = [panels[i:i + columns] for i in range(0, len(panels), columns)]
    heights = [max(_bar_height(p) for p in row) for row in rows]
    total = min(sum(heights) + 1.2, MAX_HEIGHT_PX / DPI)
    figure = Figure(figsize=(WIDTH_IN, total), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(len(rows), columns, height_ratios=heights)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            axis = figure.add_subplot(grid[r, c])
            if isinstance(panel, BarPanel):
                _draw_bars(axis, panel)
            else:
                _draw_sweep(axis, panel)
    if plan.title:
        figure.suptitle(_short(plan.title, 110), fontsize=13, fontweight="bold")
    figure.supxlabel("Each bar or point is one configuration's own figure; nothing is pooled across configurations.",
                     fontsize=8.5, color="#555555")
    return figure


def _axis_end(bars: Sequence[Bar]) -> tuple[float, float]:
    """(where the axis ends, where a whisker or dot is cut): a spread far beyond the bars is cut, so one
    long tail (a p95 of 24 s beside medians of 0.2 s) cannot squash every bar to nothing."""
    top = max((b.value for b in bars), default=1.0) or 1.0
    spread = max([top, *(b.high for b in bars if b.high is not None), *(max(b.dots) for b in bars if b.dots)])
    cut = min(spread, CUT_SPREAD * top)
    return cut * 1.28, cut


def _draw_bars(axis: Axes, panel: BarPanel) -> None:
    bars = list(panel.bars)
    positions = np.arange(len(bars))[::-1]  # the first (best) on top
    colour = _group_colours(bars, panel.metric)
    colours = [(_DARK.get(colour[b.group], colour[b.group]) if b.headline else colour[b.group]) for b in bars]
    axis.barh(positions, [b.value for b in bars], color=colours, height=0.62, zorder=2)
    end, cut = _axis_end(bars)
    for pos, bar in zip(positions, bars, strict=True):
        if bar.low is not None and bar.high is not None:
            high = min(bar.high, cut)
            axis.errorbar([bar.value], [pos], xerr=[[max(bar.value - bar.low, 0.0)], [max(high - bar.value, 0.0)]],
                          fmt="none", ecolor="#222222", elinewidth=1.1, capsize=3, zorder=3)
            if bar.high > cut:
                axis.annotate(f"p95 {format_number(bar.high, style='figure')} ▸", (high, pos), xytext=(2, -9),
                              textcoords="offset points", fontsize=7, color="#222222", ha="right")
        if bar.dots:
            dots = np.minimum(np.asarray(bar.dots), cut)
            jitter = np.linspace(-0.2, 0.2, len(dots)) if len(dots) > 1 else np.zeros(1)
            axis.scatter(dots, pos + jitter, s=7, color="#111111", alpha=0.45, linewidths=0, zorder=4)
        right = min(max(bar.value, bar.high or bar.value, max(bar.dots) if bar.dots else bar.value), cut)
        n = f"n={bar.n:,}" if bar.n is not None else "n not recorded"
        axis.text(right + end * 0.012, pos, f"{format_number(bar.value, style='figure')}  ({n})", va="center",
                  fontsize=8, zorder=5)
    axis.set_yticks(positions, labels=[b.label for b in bars], fontsize=7.5)
    axis.set_xlim(0, end)
    axis.grid(axis="x", alpha=0.3, zorder=0)
    axis.set_title(_wrapped(panel.title, 56), fontsize=10, loc="left")
    note = panel.note
    axis.set_xlabel(panel.unit + ("\n" + _wrapped(note, 78) if note else ""), fontsize=7.5,
                    color="#333333", loc="left")


def _draw_sweep(axis: Axes, panel: SweepPanel) -> None:
    for i, line in enumerate(panel.lines):
        colour = _COLOURS[i % len(_COLOURS)]
        # lines that coincide stay apart by their style: solid, dashed, dotted… and marker
        axis.plot(line.x, line.values, marker="osD^vP"[i % 6], markersize=4, linewidth=1.6, color=colour,
                  linestyle=("-", "--", ":", "-.")[i % 4], label=line.label, zorder=3 + (len(panel.lines) - i) * 0.01)
        bands = [(x, lo, hi) for x, lo, hi in zip(line.x, line.low, line.high, strict=True)
                 if lo is not None and hi is not None]
        if len(bands) >= 2:
            axis.fill_between([b[0] for b in bands], [b[1] for b in bands], [b[2] for b in bands], color=colour,
                              alpha=0.12, linewidth=0, zorder=2)
        if i == 0 and line.values:  # the first and last value of the leading line
            for x, v, dx, side in ((line.x[0], line.values[0], 4, "left"), (line.x[-1], line.values[-1], -4, "right")):
                axis.annotate(format_number(v, style="figure"), (x, v), textcoords="offset points", xytext=(dx, 5),
                              fontsize=7, color=colour, ha=side)
    axis.set_xticks(range(len(panel.settings)), labels=[_setting(s) for s in panel.settings], fontsize=7.5,
                    rotation=30 if len(panel.settings) > 8 else 0)
    if panel.log:
        axis.set_yscale("log")
        axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: format_number(value, style="value")))
        axis.yaxis.set_minor_formatter(NullFormatter())
    else:
        axis.set_ylim(bottom=0)  # from zero: a flat line reads flat, not as a cliff
    axis.set_xlabel(panel.dimension + (" (settings evenly spaced)" if len(panel.settings) > 2 else "")
                    + "\n" + _wrapped(panel.note, 78), fontsize=7.5, color="#333333", loc="left")
    axis.set_ylabel(panel.unit + (" (log scale)" if panel.log else ""), fontsize=8)
    axis.grid(alpha=0.3)
    axis.set_title(_wrapped(panel.title, 56), fontsize=10, loc="left")
    axis.legend(fontsize=6.5, loc="best", framealpha=0.6)


def _meanings(analysis: Analysis, sweep: Sweep) -> str:
    """What the sweep's metric means in the files its points come from ('; '-joined when they differ)."""
    configs = {p.config for line in sweep.series for p in line.points}
    frame = analysis.groups if sweep.source == "rows" else analysis.aggregates
    if frame.empty:
        return ""
    rows = frame.loc[(frame["model"] == sweep.model) & (frame["metric"] == sweep.metric)
                     & frame["config"].isin(configs)]
    if sweep.source == "tool":  # the statistic drawn (each has its own column name in the definition)
        rows = rows.loc[rows["statistic"].astype(str) == sweep.statistic]
    return " | ".join(sorted({plain_definition(str(d)) for d in rows["definition"]} - {""}))


def _setting(label: str) -> str:
    try:
        number = float(label)
    except ValueError:
        return label
    return f"{int(number):,}" if number.is_integer() and abs(number) >= 1_000 else label


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(part, width) for part in text.split("\n"))
