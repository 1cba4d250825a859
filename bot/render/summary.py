"""The executive summary from the data alone: three to six sentences written by rules from the facts.

What Slack and the report show when there is no model, or when the model's text fails the quality
gate (the model's text, when it passes, replaces it; the metric callouts stay either way). Each
sentence says one thing an executive asks, in this order:

1. **fastest** — the configuration with the highest median throughput, by how much it leads the
   runner-up and whether that gap exceeds the noise (without per-request data: the tool's own
   highest throughput figure, which nothing can test against noise);
2. **effect** — the largest configuration effect beyond the noise, or that none is (and why);
   without per-request data, what a swept setting (request rate, depth) does to a tool's figures;
3. **failures** — how many requests failed and their most common cause (or that none failed);
4. **claims** — what the archive's own summaries get wrong (or that they match the raw rows);
5. **TTFT** — what TTFT means in these files (or that the files define it differently);
6. **recommendation** — at most two things to do, each resting on the fact it cites.

Every number is a fact's value, a number in a fact's statement, or a ratio of two of them, written
the way the facts write it, and every sentence cites its facts ([F3]). Each sentence is checked by
the quality gate the model's text must pass (`bot.core.gate.judge_summary`: grounding, noise,
direction, TTFT definition) before it is used: a variant that fails is never shown, and a shorter
variant (or none) takes its place. The whole stays within `MAX_WORDS` words, dropping the least
important sentences first.

Pure: no I/O; a function of the `Analysis` (its facts, and the structures they were built from).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core import gate, grounding
from bot.core.analysis import Analysis
from bot.core.analysis.facts import best_configuration, stated
from bot.core.analysis.results import ConfigComparison
from bot.core.analysis.sweeps import AGGREGATE_STATISTICS, aggregate_sweeps
from bot.core.config import Config
from bot.core.limits import TOOL_THROUGHPUT_METRICS
from bot.core.metrics import METRICS
from bot.core.types import Fact, quoted

MAX_WORDS = 120  # citations not counted
MIN_SENTENCES = 3
MAX_SENTENCES = 6
REASON_CHARS = 32  # a failure reason quoted in a sentence: its first words
FIX_FAILURE_SHARE = 0.05  # failures worth fixing first: at least this share of the requests
# Dimensions that describe the workload a test ran, not a setting to choose (a recommendation
# names only settings) — and file/folder names, which are where a result was saved.
_WORKLOAD = re.compile(r"^(?:n_(?:gen|prompt|depth|pp|tg|batch|ubatch)|request_rate|qps|max_concurrency|concurrency"
                       r"|num_prompts|input_len|output_len|prompt_len|burstiness|file|folder|test(?:_name)?)$",
                       re.IGNORECASE)
# sentence kind -> how long it is kept when the summary must shrink (higher: kept longer)
PRIORITY = {"fastest": 100, "recommendation": 90, "effect": 80, "failures": 70, "claims": 65, "ttft": 50,
            "no_failures": 20}
ORDER = ("fastest", "effect", "failures", "no_failures", "claims", "ttft", "recommendation")
# which sentence gets its detail back first when words are left over
DETAIL = ("fastest", "failures", "claims", "effect", "ttft", "recommendation", "no_failures")


@dataclass(frozen=True)
class SummarySentence:
    kind: str  # a key of PRIORITY
    text: str
    fact_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "fact_ids": list(self.fact_ids)}


@dataclass(frozen=True)
class DataSummary:
    """The sentences, in reading order; ``left_out`` names what was written but not used, and why."""

    sentences: tuple[SummarySentence, ...] = ()
    left_out: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def fact_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fid for s in self.sentences for fid in s.fact_ids))

    def slack_text(self) -> str:
        """Slack mrkdwn: the findings as one paragraph, the recommendation on its own line."""
        return self._styled("*", "\n")

    def markdown(self) -> str:
        """The report's paragraph (Markdown; archive text not yet escaped), the recommendation apart."""
        return self._styled("**", "\n\n")

    def _styled(self, bold: str, gap: str) -> str:
        findings = " ".join(s.text for s in self.sentences if s.kind != "recommendation")
        advice = " ".join(s.text for s in self.sentences if s.kind == "recommendation")
        if advice.startswith("Recommended:"):
            advice = f"{bold}Recommended:{bold}{advice[len('Recommended:'):]}"
        return gap.join(part for part in (findings, advice) if part)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "words": self.words, "fact_ids": list(self.fact_ids),
                "sentences": [s.to_json() for s in self.sentences], "left_out": list(self.left_out)}

    @classmethod
    def from_json(cls, data: Any) -> DataSummary:
        """A stored run's summary (``to_json``); anything malformed reads as an empty summary."""
        if not isinstance(data, Mapping) or not isinstance(data.get("sentences"), list):
            return cls()
        sentences = []
        for item in data["sentences"]:
            if isinstance(item, Mapping) and isinstance(item.get("text"), str):
                ids = item.get("fact_ids")
                sentences.append(SummarySentence(str(item.get("kind") or ""), item["text"],
                                                 tuple(str(i) for i in ids) if isinstance(ids, list) else ()))
        left = data.get("left_out")
        return cls(tuple(sentences), tuple(str(x) for x in left) if isinstance(left, list) else ())


def count_words(text: str) -> int:
    """Words as a reader counts them (citations not counted), and never fewer than the quality gate
    counts (it splits '303.9' and 'num_ctx=4096' in two)."""
    plain = grounding.without_citations(text)
    return max(len(plain.split()), len(re.findall(r"[^\W_][\w'’-]*", plain)))


# --- building -----------------------------------------------------------------------------------


@dataclass
class _Candidate:
    kind: str
    variants: list[tuple[str, tuple[str, ...]]]  # (text, cited fact ids), most informative first
    chosen: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.variants[self.chosen][0]


def data_summary(analysis: Analysis, *, max_words: int = MAX_WORDS) -> DataSummary:
    """The summary of ``analysis`` from its facts alone (see the module docstring)."""
    facts = analysis.facts
    if not facts:
        return DataSummary()
    ids = {f.id for f in facts}
    drafts = [_fastest(analysis), _effect(analysis), _failures(analysis), _claims(analysis), _ttft(analysis),
              _recommendation(analysis)]
    candidates: list[_Candidate] = []
    left_out: list[str] = []
    for draft in drafts:
        if draft is None:
            continue
        kept = []
        for text, cited in draft.variants:
            verdict = gate.judge_summary(text, facts=facts, citable=ids, max_words=max_words)
            if verdict.passed:
                kept.append((text, cited))
            else:
                draft.failed.append("; ".join(verdict.reasons))
        if kept:
            candidates.append(_Candidate(draft.kind, kept))
        else:
            left_out.append(f"{draft.kind}: failed the quality gate ({draft.failed[0]})")
    _fit(candidates, max_words, left_out)
    ordered = sorted(candidates, key=lambda c: ORDER.index(c.kind))
    return DataSummary(tuple(SummarySentence(c.kind, c.text, c.variants[c.chosen][1]) for c in ordered),
                       tuple(left_out))


def _fit(candidates: list[_Candidate], max_words: int, left_out: list[str]) -> None:
    """At most `MAX_SENTENCES` sentences and ``max_words`` words: first the least important sentences
    are shortened (each to its shortest variant, least important first, the fastest last), then
    dropped (never the fastest, never below `MIN_SENTENCES`)."""
    def words() -> int:
        return count_words(" ".join(c.text for c in candidates))

    def sentences() -> int:
        return sum(len(gate.split_sentences(c.text)) for c in candidates)

    def shorten(kinds_ok: bool) -> bool:
        for c in sorted(candidates, key=lambda c: PRIORITY[c.kind]):
            if (c.kind != "fastest") == kinds_ok and c.chosen + 1 < len(c.variants):
                c.chosen += 1
                return True
        return False

    while sentences() > MAX_SENTENCES and shorten(True):
        pass
    while words() > max_words and shorten(True):
        pass
    while (words() > max_words or sentences() > MAX_SENTENCES) and len(candidates) > MIN_SENTENCES:
        droppable = sorted((c for c in candidates if c.kind != "fastest"), key=lambda c: PRIORITY[c.kind])
        if not droppable:
            break
        candidates.remove(droppable[0])
        left_out.append(f"{droppable[0].kind}: left out to stay within {max_words} words and {MAX_SENTENCES} "
                        "sentences")
    while words() > max_words and shorten(False):
        pass
    grown = True
    while grown:  # give back detail that still fits: one step per sentence a round, in DETAIL order
        grown = False
        for c in sorted(candidates, key=lambda c: DETAIL.index(c.kind)):
            if c.chosen > 0:
                c.chosen -= 1
                if words() > max_words or sentences() > MAX_SENTENCES:
                    c.chosen += 1
                else:
                    grown = True


# --- the facts a sentence cites ---------------------------------------------------------------


def _find(facts: Iterable[Fact], **match: Any) -> Fact | None:
    return next((f for f in facts if all(getattr(f, k) == v for k, v in match.items())), None)


def _near(value: float, target: float) -> bool:
    return math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-9)


def _parts(config: str) -> dict[str, str]:
    """key -> the part as written (``k=v``, escapes kept: how grounding knows it), for parts with a value."""
    parsed = Config.parse(config)
    return {key: part for (key, value), part in zip(parsed.items, parsed.parts, strict=True) if value}


def _differing(a: str, b: str) -> tuple[str, str]:
    """The parts of configurations ``a`` and ``b`` that tell them apart, each written ``k=v, k=v``."""
    pa, pb = _parts(a), _parts(b)
    keys = [k for k in dict.fromkeys([*pa, *pb]) if pa.get(k) != pb.get(k)]
    return ", ".join(pa[k] for k in keys if k in pa), ", ".join(pb[k] for k in keys if k in pb)


def _settings(config: str) -> str:
    """The parts of a configuration one can choose (not the workload, not where a file was saved)."""
    return ", ".join(part for key, part in _parts(config).items() if not _WORKLOAD.match(key))


def _gap(a: float, b: float) -> str:
    """How far ``a`` leads ``b``: 'level with', '0.8% above', '46% above' or '3.0×' (to the precision
    grounding checks a ratio at)."""
    ratio = a / b
    if ratio >= 2:
        return f"{ratio:.1f}×"
    pct = 100 * (ratio - 1)
    if pct < 0.05:
        return "level with"
    return f"{pct:.1f}% above" if pct < 10 else f"{pct:.0f}% above"


def _what(kind: object) -> str:
    return "sample" if kind == "sample" else "request"


# --- 1. the fastest configuration -------------------------------------------------------------


@dataclass
class _Draft:
    kind: str
    variants: list[tuple[str, tuple[str, ...]]]
    failed: list[str] = field(default_factory=list)


def _fastest(analysis: Analysis) -> _Draft | None:
    facts = analysis.facts
    fact = next((f for f in facts if f.role == "best_throughput"), None)
    pick = best_configuration(analysis) if fact is not None else None
    if fact is None or pick is None:
        return _fastest_tool_figure(analysis)
    top, runner = pick.top, pick.runner_up
    model, config = str(top["model"]), str(top["config"])
    n = f"n={int(top['n'])}" + ("; streamed chunks, not tokens" if "chunk" in str(top["definition"]) else "")
    value = f"{stated(top['median'], 'tok/s')} ({n}) [{fact.id}]"
    if runner is None:
        where = f" at {_settings(config) or config}" if config else ""
        text = f"Fastest configuration: {model}{where} — {value}, the only one with throughput."
        return _Draft("fastest", [(text, (fact.id,))])
    if str(runner["model"]) == model:
        mine, theirs = _differing(config, str(runner["config"]))
        other = theirs or "its runner-up"
    else:
        mine = ", ".join(list(_parts(config).values())[:3])
        theirs = _differing(config, str(runner["config"]))[1]
        other = str(runner["model"]) + (f" at {theirs}" if theirs else "")
    head = f"Fastest configuration: {model}" + (f" at {mine}" if mine else "")
    noise = _noise_words(pick.separable, pick.verdict, int(top["n"]), int(runner["n"]), _what(top["kind"]))
    runner_value = stated(runner["median"], "tok/s")
    variants = []
    if float(runner["median"]) > 0:
        variants.append(f"{head} — {value}, {_gap(float(top['median']), float(runner['median']))} {other} "
                        f"({runner_value}); {noise}.")
    variants += [f"{head} — {value}; runner-up {other} at {runner_value}, {noise}.", f"{head} — {value}; {noise}."]
    return _Draft("fastest", [(v, (fact.id,)) for v in variants])


def _noise_words(separable: bool, verdict: str, n_a: int, n_b: int, what: str) -> str:
    if separable:
        return verdict  # 'the gap exceeds the noise (Welch t-test, p=0.0035)'
    if n_a < 2 and n_b < 2:
        return f"one {what} each: not separable from noise"
    if min(n_a, n_b) < 2:
        return f"not separable from noise (n={n_a} vs n={n_b})"
    return verdict  # 'the gap is within the noise (Welch t-test, p=0.31)'


_TOOL_THROUGHPUT = TOOL_THROUGHPUT_METRICS  # the caps keep the models these name (`bot.core.limits.headline_picks`)


def _tool_figures(analysis: Analysis, metric: str) -> list[tuple[Any, Fact]]:
    """A tool's own figures of ``metric`` (the preferred statistic of each model: median, mean, a run's
    overall rate…; never a max or a percentile), each with the fact that states it, highest first."""
    agg = analysis.aggregates
    if agg.empty:
        return []
    rows = agg.loc[(agg["metric"] == metric) & ~agg["failed"].astype(bool)]
    out = []
    for model, part in rows.groupby("model", sort=True):
        stats = set(part["statistic"].astype(str))
        statistic = next((s for s in AGGREGATE_STATISTICS if s in stats), None)
        for row in part.loc[part["statistic"].astype(str) == statistic].itertuples(index=False):
            if not (isinstance(row.value, (int, float)) and math.isfinite(row.value)):
                continue
            fact = next((f for f in analysis.facts if f.metric == metric and f.model == str(model)
                         and f.config == str(row.config) and _near(f.value, float(row.value))), None)
            if fact is not None:
                out.append((row, fact))
    return sorted(out, key=lambda rf: -rf[1].value)


def _fastest_tool_figure(analysis: Analysis) -> _Draft | None:
    """No per-request throughput: the tool's own highest throughput figure, against the next one."""
    for metric in _TOOL_THROUGHPUT:
        found = [fact for _, fact in _tool_figures(analysis, metric)]
        if not found:
            continue
        top = found[0]
        label = METRICS[metric].label.lower()
        models = {f.model for f in found}
        where = top.model if len(models) > 1 or not top.config else ""
        if len(found) == 1:
            text = (f"No per-request throughput was recorded; the tool reports {label} {stated(top.value, top.unit)}"
                    f"{' for ' + where if where else ''} [{top.id}].")
            return _Draft("fastest", [(text, (top.id,))])
        second = found[1]
        mine, theirs = _differing(top.config, second.config) if top.model == second.model else (top.model,
                                                                                                   second.model)
        text = (f"No per-request throughput was recorded; the tool's highest {label} is "
                f"{stated(top.value, top.unit)} for {mine or where} vs {stated(second.value, second.unit)} for "
                f"{theirs or 'the next run'} [{top.id}, {second.id}], single figures that no test can separate "
                f"from noise.")
        short = (f"No per-request throughput was recorded; the tool's highest {label} is "
                 f"{stated(top.value, top.unit)}{' for ' + mine if mine else ''} [{top.id}].")
        return _Draft("fastest", [(text, (top.id, second.id)), (short, (top.id,))])
    return None


# --- 2. the effect beyond the noise -----------------------------------------------------------


def _comparison_fact(facts: Sequence[Fact], c: ConfigComparison) -> Fact | None:
    metric = "throughput_gap" if c.metric == "throughput_tok_s" else f"{c.metric}_gap"
    return _find(facts, metric=metric, model=c.model, config=c.best)


def _pct(c: ConfigComparison) -> float:
    return 100 * (c.best_median - c.worst_median) / c.worst_median if c.worst_median else 0.0


def _effect(analysis: Analysis) -> _Draft | None:
    facts = analysis.facts
    ranked = [(c, f) for c in analysis.comparisons if (f := _comparison_fact(facts, c)) is not None]
    if not ranked:
        return _sweep_effect(analysis)
    generation = [(c, f) for c, f in ranked if c.metric == "throughput_tok_s"] or ranked
    significant = [(c, f) for c, f in generation if c.significant]
    label = "" if generation[0][0].metric == "throughput_tok_s" else " in prompt processing"
    if significant:
        c, f = max(significant, key=lambda cf: _pct(cf[0]))
        best, worst = _differing(c.best, c.worst)
        figures = f"{stated(c.best_median, 'tok/s')} vs {stated(c.worst_median, 'tok/s')}"
        head = f"Largest effect beyond the noise{label}: {c.model} runs {_pct(c):.1f}% faster with "
        change = f"{best or 'its best configuration'} than with {worst or 'its slowest'}"
        short = f"Largest effect beyond the noise{label}: {c.model} runs {_pct(c):.1f}% faster [{f.id}]."
        return _Draft("effect", [(f"{head}{change} ({figures}) [{f.id}].", (f.id,)),
                                 (f"{head}{change} [{f.id}].", (f.id,)), (short, (f.id,))])
    c, f = max(generation, key=lambda cf: _pct(cf[0]))
    what = "sample" if c.n_best == c.n_worst == 1 and _kind(analysis, c) == "sample" else "request"
    why = (f"is not separable from noise with one {what} per configuration" if min(c.n_best, c.n_worst) < 2
           else f"is within the noise ({c.method}, p={c.p_value:.2g})" if c.p_value is not None
           else "is not separable from noise")
    best, worst = _differing(c.best, c.worst)
    text = (f"No configuration gap{label} is beyond the noise: the largest, {_pct(c):.1f}% for {c.model} "
            f"({best or 'best'} vs {worst or 'worst'}), {why} [{f.id}].")
    short = f"No configuration gap{label} is beyond the noise: the largest, for {c.model}, {why} [{f.id}]."
    return _Draft("effect", [(text, (f.id,)), (short, (f.id,))])


def _kind(analysis: Analysis, c: ConfigComparison) -> str:
    g = analysis.groups
    rows = g.loc[(g["model"] == c.model) & (g["metric"] == c.metric) & (g["config"] == c.best), "kind"]
    return str(rows.iloc[0]) if not rows.empty else "request"


SWEEP_CHANGE = 0.10  # a swept setting worth a sentence moves the tool's figure by at least this much


def _sweep_effect(analysis: Analysis) -> _Draft | None:
    """No comparisons of per-request data: what a swept numeric setting does to a tool's own central
    figure (vLLM's median TTFT per request rate), the sweep that moves it most, from the facts of its
    first and last setting."""
    best: tuple[float, _Draft] | None = None
    for sweep in aggregate_sweeps(analysis):
        series = sweep.series[0]
        first, last = series.points[0], series.points[-1]
        low = min(first.value, last.value)
        change = abs(last.value - first.value) / low if low > 0 else 0.0
        if change < SWEEP_CHANGE or (best is not None and change <= best[0]):
            continue
        facts = [f for f in analysis.facts if f.metric == sweep.metric and f.model == sweep.model]
        f_first = next((f for f in facts if f.config == first.config and _near(f.value, first.value)), None)
        f_last = next((f for f in facts if f.config == last.config and _near(f.value, last.value)), None)
        if f_first is None or f_last is None:
            continue
        label = "TTFT" if sweep.metric == "ttft_ms" else (
            METRICS[sweep.metric].label.lower() if sweep.metric in METRICS else sweep.metric)
        word = "rises" if last.value > first.value else "falls"
        where = f" ({series.label})" if series.label else ""
        statistic = f"{sweep.statistic} " if sweep.statistic in ("median", "mean") else ""
        text = (f"The tool's {statistic}{label}{where} {word} from {stated(first.value, f_first.unit)} at "
                f"{sweep.dimension}={first.label} to {stated(last.value, f_last.unit)} at "
                f"{sweep.dimension}={last.label} [{f_first.id}, {f_last.id}]; tool aggregates cannot be tested "
                f"against noise.")
        best = (change, _Draft("effect", [(text, (f_first.id, f_last.id))]))
    return best[1] if best is not None else None


# --- 3. failures ------------------------------------------------------------------------------


def _short_reason(reason: str) -> str:
    """A failure reason's first words, quoted (never past its first full stop: a quote the sentence
    splitter would cut in two is no quote)."""
    clean = " ".join(reason.split())
    first = re.split(r"(?<=[.!?])\s", clean, maxsplit=1)[0].rstrip(".!?")
    if len(first) <= REASON_CHARS:
        return quoted(first + ("…" if first != clean else ""))
    cut = first[:REASON_CHARS].rsplit(" ", 1)[0].rstrip(" .,:;")
    return quoted(cut + "…")


def _failures(analysis: Analysis) -> _Draft | None:
    facts = analysis.facts
    total, failed = analysis.total, analysis.failed
    if not total:
        return None
    overall = _find(facts, metric="failed_requests", model="")
    if not failed:
        count = _find(facts, metric="requests", model="")
        if count is None:
            return None
        return _Draft("no_failures", [(f"None of the {total:,} requests failed [{count.id}].", (count.id,))])
    if overall is None:
        return None
    head = f"{failed:,} of {total:,} requests failed ({100 * failed / total:.1f}%) [{overall.id}]"
    failing = [m for m in analysis.models if m.failed and m.failure_reasons]
    weights: Counter[str] = Counter()
    for m in failing:
        weights.update(m.failure_reasons)
    tops = {m.model: next(iter(m.failure_reasons)) for m in failing}  # what each model's fact quotes
    ranked = sorted(set(tops.values()), key=lambda r: (-weights[r], r))
    variants: list[tuple[str, tuple[str, ...]]] = []
    if ranked:
        shown = ranked[:2] if len(ranked) > 1 and weights[ranked[1]] * 2 >= weights[ranked[0]] else ranked[:1]
        cited: list[str] = []
        for reason in shown:  # the facts that quote it: the failing models it is the main reason of
            cited += [f.id for m, r in tops.items() if r == reason
                      and (f := _find(facts, metric="failed_requests", model=m)) is not None][:2]
        quotes = " and ".join(_short_reason(r) for r in shown)
        worst = max(failing, key=lambda m: m.failed)
        worst_fact = _find(facts, metric="failed_requests", model=worst.model)
        ref = f" [{', '.join(dict.fromkeys(cited))}]" if cited else ""
        if len(failing) > 1 and worst.failed * 2 > failed and worst_fact is not None:
            lead = f", {worst.failed:,} of them from {worst.model}'s {worst.requests:,} requests"
            if worst_fact.id not in cited:
                lead += f" [{worst_fact.id}]"
            variants.append((f"{head}, most often {quotes}{ref}{lead}.", (overall.id, *cited, worst_fact.id)))
        variants.append((f"{head}, most often {quotes}{ref}.", (overall.id, *cited)))
    variants.append((f"{head}, all excluded from the statistics.", (overall.id,)))
    return _Draft("failures", [(t, tuple(dict.fromkeys(i))) for t, i in variants])


# --- 4. the archive's own claims ---------------------------------------------------------------


def _wrong_rankings(analysis: Analysis) -> list[tuple[Any, Fact]]:
    out = []
    for r in analysis.rankings:
        wrong = r.status == "contradicted" or (r.kind in ("best_config", "fastest_model") and r.rank not in (None, 1))
        if not wrong or r.actual_value is None:
            continue
        fact = next((f for f in analysis.facts if f.metric == "ranking_claim" and f.model == r.model
                     and _near(f.value, r.actual_value) and r.text[:40] in f.statement), None)
        if fact is not None:
            out.append((r, fact))
    return out


def _claims(analysis: Analysis) -> _Draft | None:
    facts = analysis.facts
    checks = analysis.claim_checks
    summary = _find(facts, metric="claim_mismatches")
    mismatches = [c for c in checks if c.status == "mismatch"]
    rankings = _wrong_rankings(analysis)
    ranking_text = ""
    ranking_ids: tuple[str, ...] = ()
    if rankings:
        r, f = rankings[0]
        if r.kind == "best_config":
            ranking_text = f"its «best configuration» of {r.model} ranks {r.rank} of {r.of} [{f.id}]"
        elif r.kind == "fastest_model":
            ranking_text = f"its fastest model, {r.model}, ranks {r.rank} of {r.of} [{f.id}]"
        else:
            ranking_text = f"its claim «{r.text[:60]}» is contradicted by the raw rows [{f.id}]"
        ranking_ids = (f.id,)
    if mismatches and summary is not None:
        worst = max(mismatches, key=lambda c: abs(c.claimed - c.actual) / max(abs(c.actual), 1e-9))
        fact = next((f for f in facts if f.origin == "claim" and f.model == worst.model and f.metric == worst.metric
                     and _near(f.value, worst.actual) and worst.source in f.statement), None)
        head = (f"{len(mismatches)} of {len(checks)} numbers in the archive's own summaries are wrong "
                f"[{summary.id}]")
        variants = []
        if fact is not None:
            who = f" for {worst.model}" if worst.model else ""
            stat = METRICS[worst.metric].label if worst.metric in METRICS else worst.metric
            stat = "TTFT" if worst.metric == "ttft_ms" else stat.lower()
            source = worst.source.rsplit("/", 1)[-1]
            example = (f"{source} states {worst.statistic} {stat}{who} as {stated(worst.claimed, worst.unit)}, "
                       f"the raw rows give {stated(worst.actual, worst.unit)} [{fact.id}]")
            if ranking_text:
                variants.append((f"{head}, e.g. {example}; {ranking_text}.", (summary.id, fact.id, *ranking_ids)))
            variants.append((f"{head}, e.g. {example}.", (summary.id, fact.id)))
        elif ranking_text:
            variants.append((f"{head}; {ranking_text}.", (summary.id, *ranking_ids)))
        variants.append((f"{head}.", (summary.id,)))
        return _Draft("claims", variants)
    if ranking_text:
        text = f"The archive's own rankings are wrong: {ranking_text}."
        return _Draft("claims", [(text, ranking_ids)])
    if checks and summary is not None:
        return _Draft("claims", [(f"All {len(checks):,} numbers checked in the archive's own summaries match "
                                  f"the raw rows [{summary.id}].", (summary.id,))])
    return None


# --- 5. what TTFT means here ------------------------------------------------------------------

_REPORTED_AS = re.compile(r"\s*\([^()]*\bas reported by\b[^()]*\)\s*$|;\s*population standard deviation"
                          r"|\s+\b(?:avg|mean|median|min|max|std|p\d+(?:\.\d+)?)(?=\s+as reported by\b)", re.I)


def plain_definition(text: str) -> str:
    """A metric's definition as a file gives it, without the statistic's own column name ("(median_ttft_ms
    as reported by vLLM)") or the kind of standard deviation: what the metric means, once."""
    return _REPORTED_AS.sub("", text).strip().rstrip(".")


def _ttft(analysis: Analysis) -> _Draft | None:
    facts = analysis.facts
    by_definition: dict[str, list[Fact]] = {}
    for m in analysis.models:
        fact = _find(facts, metric="ttft_ms", model=m.model)
        if fact is None:
            continue
        for d in m.ttft_definitions:
            by_definition.setdefault(plain_definition(d), []).append(fact)
    with_rows = {m.model for m in analysis.models if m.ttft_definitions}
    for row, fact in _tool_figures(analysis, "ttft_ms"):  # models with a tool's figures only; one statistic each
        if str(row.model) not in with_rows:
            by_definition.setdefault(plain_definition(str(row.definition)), []).append(fact)
    by_definition.pop("", None)
    if not by_definition:
        return None
    if len(by_definition) == 1:
        (definition, cited), = by_definition.items()
        best = next((f for f in facts if f.metric == "ttft_ms" and "(the fastest configuration)" in f.statement
                     and _definition_in(definition, f)), None)
        fact = best or cited[0]
        says = ("The files do not say what their TTFT measures" if "not stated" in definition
                else f"TTFT here is {definition}")
        plain = (f"{says} [{fact.id}].", (fact.id,))
        if best is None:
            return _Draft("ttft", [plain])
        text = f"{says}: {stated(best.value, 'ms')} warm p50 for the fastest configuration [{best.id}]."
        return _Draft("ttft", [(text, (best.id,)), plain])
    listed = list(by_definition.items())[:3]
    names = "; ".join(d for d, _ in listed)
    ids = tuple(dict.fromkeys(fs[0].id for _, fs in listed))
    text = f"TTFT means different things in these files ({names}): compare it only within one [{', '.join(ids)}]."
    short = f"TTFT means different things in these files: compare it only within one [{', '.join(ids)}]."
    return _Draft("ttft", [(text, ids), (short, ids)])


def _definition_in(definition: str, fact: Fact) -> bool:
    return definition.split(" (")[0] in fact.statement


# --- 6. recommendations ------------------------------------------------------------------------


def _recommendation(analysis: Analysis) -> _Draft | None:
    """At most two recommendations, one sentence each (a sentence cites the facts of what it names)."""
    options = [r for r in (_fix_failures(analysis), _choose_or_repeat(analysis), _fix_claims(analysis),
                           _tool_aggregates_only(analysis)) if r is not None]
    if not options:
        return None
    first = (f"Recommended: {options[0][0]}.", options[0][1])
    if len(options) == 1:
        return _Draft("recommendation", [first])
    second = options[1]
    return _Draft("recommendation", [(f"{first[0]} Then {second[0]}.", (*first[1], *second[1])), first])


Rec = tuple[str, tuple[str, ...]]


def _fix_failures(analysis: Analysis) -> Rec | None:
    """Fix the most frequent failure first (the model that fails most, when it holds most failures)."""
    total, failed = analysis.total, analysis.failed
    if not total or failed < max(1, FIX_FAILURE_SHARE * total):
        return None
    failing = [m for m in analysis.models if m.failed and m.failure_reasons]
    if not failing:
        return None
    worst = max(failing, key=lambda m: m.failed)
    fact = _find(analysis.facts, metric="failed_requests", model=worst.model)
    if fact is None:
        return None
    reason = _short_reason(next(iter(worst.failure_reasons)))
    target = worst.model if worst.failed * 2 > failed else "the failed requests"
    return f"fix {reason} and re-run {target} [{fact.id}]", (fact.id,)


def _choose_or_repeat(analysis: Analysis) -> Rec | None:
    fact = next((f for f in analysis.facts if f.role == "best_throughput"), None)
    pick = best_configuration(analysis) if fact is not None else None
    if fact is None or pick is None or pick.runner_up is None:
        return None
    top, runner = pick.top, pick.runner_up
    what = _what(top["kind"])
    if pick.separable:
        settings = _settings(str(top["config"]))
        return (f"use {top['model']}{' with ' + settings if settings else ''}: the fastest configuration, "
                f"with a lead that exceeds the noise [{fact.id}]"), (fact.id,)
    if min(int(top["n"]), int(runner["n"])) < 2:
        return f"repeat each configuration so the noise test can rank them [{fact.id}]", (fact.id,)
    return f"collect more {what}s per configuration before choosing between the top two [{fact.id}]", (fact.id,)


def _fix_claims(analysis: Analysis) -> Rec | None:
    mismatches = [c for c in analysis.claim_checks if c.status == "mismatch"]
    if not mismatches:
        return None
    sources = Counter(c.source for c in mismatches)
    source, _ = sources.most_common(1)[0]
    fact = next((f for f in analysis.facts if f.origin == "claim" and source in f.statement), None)
    if fact is None:
        return None
    return f"correct the figures in {source} before quoting them [{fact.id}]", (fact.id,)


def _tool_aggregates_only(analysis: Analysis) -> Rec | None:
    if analysis.total or analysis.comparisons:
        return None
    fact = next((f for f in analysis.facts if "tool-reported" in f.statement and "n not recorded" in f.statement),
                None)
    if fact is None:
        return None
    return ("save per-request results so settings can be compared against the noise "
            f"[{fact.id}]"), (fact.id,)
