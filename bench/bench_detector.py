#!/usr/bin/env python3
"""Reproducible synthetic benchmark of the digest's regression detector against reference methods.

    .venv/bin/python bench/bench_detector.py [--seed 1] [--also-seeds 2,3] [--scale 1] [--workers 2]

Every series is one (model, configuration, metric): 3–10 earlier runs plus the newest, each run a
list of per-request values. The product's detector (`bot.core.regression.detect`, "product") and the
reference methods judge the same series, so their columns come from the same run.

MAIN table — issue 14's noise model, drawn per series from the fixed seed (log scale):

- requests per run: log-uniform 3–50 per series (half the series vary it ±40 % from run to run,
  clipped to 3–50);
- per-request spread sigma ~ U(1 %, 5 %) (lognormal requests);
- run-to-run drift: each run's level is offset by N(0, tau), tau ~ U(0.5 %, 2 %);
- cold starts: with probability 5 % a run's first request is 1.6–5x worse (throughput divided,
  latency multiplied);
- half the series are higher-is-better (throughput, 10–200 tok/s), half lower-is-better (latency).

Scenarios ("−x %" means x % worse: throughput × (1 − x), latency × (1 + x)): no change (16,000 series
at scale 1); steps −2/−5/−10/−20/−50 % of the newest run (1,000 each); a true −15 % (600, the
minor/major tier boundary); variance only (newest run's request spread × 3, level unchanged; 600);
improvement +10 % (400); a second −20 % step 1–4 runs after a first one (600); slow creep of
−2.5 %/run after a stable history, judged after each creeping run until the first alert, at most 10
runs (400).

STRESS section — runs of 1–2 requests, kept out of the main table: (a) series whose every run has
1–2 requests, (b) series whose newest run was cut to 1–2 requests (the others failed). The product
still judges them ("fewer requests widen the interval, they do not switch the test off") and marks
each verdict low confidence; a single request that is a cold start cannot be told from a −50 % drop.

Methods: ``product`` = the level or trend alert of `detect`; ``before`` = the digest's detector
before issue 14 (Mann-Whitney newest vs previous run, p < 0.01, >= 5 % median change, >= 5 requests
per side, robust-z veto |z| >= 3.5 against earlier medians); ``ratio200``/``ratio110`` = ratio
threshold against the previous run's median (github-action-benchmark, alert at 200 % — its default —
and 110 %); ``t-test`` = the newest run's median outside the 0.99 Student-t boundary of the earlier
runs' medians (Bencher); ``z5`` = lookback z-score of the newest median against the earlier medians,
|z| >= 5 (Conbench's default). Severity tiers for all: minor >= 3 %, major >= 15 %, critical >= 30 % —
of the point estimate for the reference methods, of the interval's bound nearest zero for product.

The fixed seed's tables are printed in full; ``--also-seeds`` adds a summary of the main table's key
figures for every seed, each checked against issue 14's targets.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import stats

from bot.core.regression import REGRESSION, SEVERITIES, Run, detect

TIERS = (0.03, 0.15, 0.30)
STEPS = (0.02, 0.05, 0.10, 0.20, 0.50)
N_BUCKETS = ("3-5", "6-15", "16-50")
CREEP_RATE = 0.025
CREEP_MAX = 10
COLD_P = 0.05

# series per scenario at --scale 1
MAIN_COUNTS = {"nochange": 16000, "step": 1000, "boundary": 600, "variance": 600, "improve": 400,
               "second": 600, "creep": 400}
STRESS_COUNTS = {"nochange": 4000, "step": 500}
STRESS_STEPS = (0.05, 0.10, 0.20, 0.50)
SCENARIO_CODE = {"nochange": 0, "step": 1, "boundary": 2, "variance": 3, "improve": 4, "second": 5,
                 "creep": 6}
MODE_CODE = {"main": 0, "tiny": 1, "truncated": 2}

# issue 14's targets, checked on the main table
TARGET_FALSE_ALARMS = 0.5  # % at most
TARGET_RECALL = {0.05: 35.0, 0.10: 85.0, 0.20: 97.0, 0.50: 99.0}  # % at least
TARGET_CREEP_RUNS = 4


def tier(size: float) -> str:
    size = abs(size)
    return "critical" if size >= TIERS[2] else "major" if size >= TIERS[1] else \
        "minor" if size >= TIERS[0] else "none"


# --------------------------------------------------------------------------- synthetic series


class Series:
    """Parameters of one series; `run(level_factor, spread_factor, newest)` draws one run."""

    def __init__(self, rng: np.random.Generator, mode: str) -> None:
        self.rng = rng
        self.hib = bool(rng.random() < 0.5)
        self.level = float(rng.uniform(10, 200) if self.hib else rng.uniform(100, 3000))
        self.sigma = float(rng.uniform(0.01, 0.05))
        self.tau = float(rng.uniform(0.005, 0.02))
        self.history = int(rng.integers(3, 11))  # earlier runs
        self.n_base = round(math.exp(rng.uniform(math.log(3), math.log(50))))
        self.n_varies = bool(rng.random() < 0.5)
        self.mode = mode
        self.last_cold = False

    def n_for(self, newest: bool) -> int:
        if self.mode == "tiny" or (newest and self.mode == "truncated"):
            return int(self.rng.integers(1, 3))
        if self.n_varies:
            return int(np.clip(round(self.n_base * self.rng.uniform(0.6, 1.4)), 3, 50))
        return self.n_base

    def worse(self, size: float) -> float:
        """Level factor for a change that is ``size`` worse (0.2 = 20 % worse)."""
        return 1.0 - size if self.hib else 1.0 + size

    def run(self, factor: float = 1.0, spread: float = 1.0, newest: bool = False) -> np.ndarray:
        rng = self.rng
        n = self.n_for(newest)
        centre = self.level * factor * math.exp(rng.normal(0.0, self.tau))
        v = centre * np.exp(rng.normal(0.0, self.sigma * spread, n))
        self.last_cold = bool(rng.random() < COLD_P)
        if self.last_cold:
            k = math.exp(rng.uniform(0.5, 1.6))
            v[0] = v[0] / k if self.hib else v[0] * k
        return v


def make_case(seed: int, mode: str, scenario: str, i: int, param: float) -> dict[str, Any]:
    rng = np.random.default_rng([seed, MODE_CODE[mode], SCENARIO_CODE[scenario], round(param * 1000) + 1000, i])
    s = Series(rng, mode)
    hist = [s.run() for _ in range(s.history)]
    case: dict[str, Any] = {"hib": s.hib}
    if scenario in ("nochange", "variance", "step", "boundary", "improve"):
        factor, spread = 1.0, 1.0
        if scenario in ("step", "boundary"):
            factor = s.worse(param)
        elif scenario == "variance":
            spread = 3.0
        elif scenario == "improve":
            factor = (1.0 + param) if s.hib else 1.0 / (1.0 + param)
        case["runs"] = [*hist, s.run(factor, spread, newest=True)]
        case["true_rel"] = factor - 1.0
        case["cold_single"] = len(case["runs"][-1]) == 1 and s.last_cold
    elif scenario == "second":
        m = 1 + i % 4  # runs at the first step's level before the second step
        f1 = s.worse(0.20)
        post = [s.run(f1) for _ in range(m)]
        case["runs"] = hist + post + [s.run(f1 * s.worse(0.20), newest=True)]
        case["true_rel"] = s.worse(0.20) - 1.0
    elif scenario == "creep":
        case["runs"] = hist + [s.run((1 - CREEP_RATE) ** c if s.hib else (1 + CREEP_RATE) ** c)
                               for c in range(1, CREEP_MAX + 1)]
        case["h"] = len(hist)
    return case


# --------------------------------------------------------------------------- methods
# Each returns (direction, severity, verdict): direction 'regression' | 'improvement' | None.

Outcome = tuple[str | None, str, Any]


def _dir(rel: float, hib: bool) -> str:
    return "regression" if (rel < 0) == hib else "improvement"


def m_product(runs: list[np.ndarray], meds: list[float], hib: bool) -> Outcome:
    v = detect([Run(tuple(r)) for r in runs], higher_is_better=hib)
    level = v.status if v.status in ("regression", "improvement") else None
    trend = v.trend is not None and v.trend.status == REGRESSION
    direction = level or ("regression" if trend else None)
    return direction, v.severity if level else "none", v


def m_before(runs: list[np.ndarray], meds: list[float], hib: bool) -> Outcome:
    """The digest's detector before issue 14: MW(newest, previous) p < 0.01, |median change| >= 5 %,
    >= 5 samples per side, robust-z veto (|z| >= 3.5, same direction) against the earlier runs'
    medians (those with n >= 5) when there are >= 3 of them."""
    b, c = runs[-2], runs[-1]
    b_med, c_med = meds[-2], meds[-1]
    rel = (c_med - b_med) / abs(b_med)
    if len(b) < 5 or len(c) < 5:
        return None, "none", None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.mannwhitneyu(b, c, alternative="two-sided").pvalue)
    significant = p < 0.01 and abs(rel) >= 0.05
    hist = np.array([m for r, m in zip(runs[:-1], meds[:-1], strict=True) if len(r) >= 5])
    if significant and len(hist) >= 3:
        centre = float(np.median(hist))
        spread = max(1.4826 * float(np.median(np.abs(hist - centre))), 0.01 * abs(centre))
        z = (c_med - centre) / spread
        significant = abs(z) >= 3.5 and (z > 0) == (rel > 0)
    if not significant:
        return None, "none", None
    sev = "critical" if abs(rel) >= 0.30 else "major" if abs(rel) >= 0.15 else "minor"
    return _dir(rel, hib), sev, None


def m_ratio(threshold: float) -> Callable[[list[np.ndarray], list[float], bool], Outcome]:
    def method(runs: list[np.ndarray], meds: list[float], hib: bool) -> Outcome:
        prev, cur = meds[-2], meds[-1]
        rel = cur / prev - 1.0
        worse_ratio = prev / cur if hib else cur / prev
        if worse_ratio >= threshold:
            return "regression", tier(rel), None
        if 1.0 / worse_ratio >= threshold:
            return "improvement", tier(rel), None
        return None, "none", None
    return method


def m_ttest(runs: list[np.ndarray], meds: list[float], hib: bool) -> Outcome:
    """Bencher t-test: the newest run median against the t boundary (0.99) of the history medians."""
    hist = np.array(meds[:-1])
    cur = meds[-1]
    mean = float(hist.mean())
    rel = cur / mean - 1.0
    if len(hist) < 2:
        return None, "none", None
    sd = float(hist.std(ddof=1))
    q = float(stats.t.ppf(0.99, len(hist) - 1))
    if abs(cur - mean) > q * sd:
        return _dir(rel, hib), tier(rel), None
    return None, "none", None


def m_zscore(runs: list[np.ndarray], meds: list[float], hib: bool) -> Outcome:
    """Conbench lookback z-score of the newest run median against the history medians, |z| >= 5."""
    hist = np.array(meds[:-1])
    cur = meds[-1]
    mean = float(hist.mean())
    rel = cur / mean - 1.0
    sd = float(hist.std(ddof=1)) if len(hist) >= 2 else 0.0
    if sd > 0 and abs(cur - mean) / sd >= 5.0:
        return _dir(rel, hib), tier(rel), None
    return None, "none", None


METHODS: dict[str, Callable[[list[np.ndarray], list[float], bool], Outcome]] = {
    "product": m_product,
    "before": m_before,
    "ratio200": m_ratio(2.0),
    "ratio110": m_ratio(1.1),
    "t-test": m_ttest,
    "z5": m_zscore,
}


def n_bucket(n: int) -> str:
    return str(n) if n <= 2 else "3-5" if n <= 5 else "6-15" if n <= 15 else "16-50"


# --------------------------------------------------------------------------- evaluation

Job = tuple[int, str, str, float, int, int]


def evaluate(job: Job) -> list[dict[str, Any]]:
    seed, mode, scenario, param, lo, hi = job
    out = []
    for i in range(lo, hi):
        case = make_case(seed, mode, scenario, i, param)
        runs, hib = case["runs"], case["hib"]
        meds = [float(np.median(r)) for r in runs]
        rec: dict[str, Any] = {"mode": mode, "scenario": scenario, "param": param}
        if scenario == "creep":
            h = case["h"]
            for name, method in METHODS.items():
                first = None
                for c in range(1, CREEP_MAX + 1):
                    if method(runs[: h + c], meds[: h + c], hib)[0] == "regression":
                        first = c
                        break
                rec[name] = first
            out.append(rec)
            continue
        rec["n"] = len(runs[-1])
        rec["true_rel"] = case["true_rel"]
        rec["cold_single"] = case.get("cold_single", False)
        for name, method in METHODS.items():
            d, sev, v = method(runs, meds, hib)
            rec[name] = (d, sev)
            if name == "product":
                rec["p_level"] = v.status
                rec["p_trend"] = v.trend.status if v.trend is not None else None
                rec["p_sevmax"] = v.severity_max
                rec["p_low"] = v.low_confidence
                rec["p_cover"] = v.interval is not None and v.interval[0] <= case["true_rel"] <= v.interval[1]
        out.append(rec)
    return out


def plan(seed: int, scale: float, *, chunk: int = 400) -> list[Job]:
    todo: list[tuple[str, str, float, int]] = [("main", "nochange", 0.0, MAIN_COUNTS["nochange"])]
    todo += [("main", "step", s, MAIN_COUNTS["step"]) for s in STEPS]
    todo += [("main", sc, p, MAIN_COUNTS[sc]) for sc, p in
             (("boundary", 0.15), ("variance", 0.0), ("improve", 0.10), ("second", 0.20), ("creep", CREEP_RATE))]
    for mode in ("tiny", "truncated"):
        todo.append((mode, "nochange", 0.0, STRESS_COUNTS["nochange"] // 2))
        todo += [(mode, "step", s, STRESS_COUNTS["step"] // 2) for s in STRESS_STEPS]
    jobs: list[Job] = []
    for mode, scenario, param, count in todo:
        total = max(1, round(count * scale))
        jobs += [(seed, mode, scenario, param, lo, min(total, lo + chunk)) for lo in range(0, total, chunk)]
    return jobs


def run_seed(seed: int, scale: float, workers: int) -> list[dict[str, Any]]:
    jobs = plan(seed, scale)
    records: list[dict[str, Any]] = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for part in pool.map(evaluate, jobs):
                records.extend(part)
    else:
        for job in jobs:
            records.extend(evaluate(job))
    return records


# --------------------------------------------------------------------------- report

NAMES = list(METHODS)
LABEL = 50  # width of the row labels


def pct(num: int, den: int, digits: int = 1) -> str:
    return "n/a" if den == 0 else f"{100.0 * num / den:.{digits}f}"


class Table:
    def __init__(self) -> None:
        self.lines: list[str] = [f"{'':{LABEL}s}" + "".join(f"{n:>9s}" for n in NAMES)]

    def section(self, title: str) -> None:
        self.lines.append(f"-- {title}")

    def row(self, label: str, values: list[str]) -> None:
        self.lines.append(f"{label:{LABEL}s}" + "".join(f"{v:>9s}" for v in values))

    def rates(self, label: str, recs: list[dict[str, Any]], want: str = "regression", digits: int = 1) -> None:
        self.row(f"{label} (n={len(recs)})",
                 [pct(sum(r[n][0] == want for r in recs), len(recs), digits) for n in NAMES])


def _group(records: list[dict[str, Any]], mode: str) -> dict[tuple[str, float], list[dict[str, Any]]]:
    by: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["mode"] == mode:
            by[(r["scenario"], r["param"])].append(r)
    return by


def main_table(records: list[dict[str, Any]]) -> list[str]:
    by = _group(records, "main")
    t = Table()
    nochange = by[("nochange", 0.0)]
    t.section("false alarms (% of no-change series flagged as regression)")
    t.rates("no change", nochange, digits=2)
    t.row("  any change flagged (either direction)",
          [pct(sum(r[n][0] is not None for r in nochange), len(nochange), 2) for n in NAMES])
    for b in N_BUCKETS:
        t.rates(f"  newest run n {b}", [r for r in nochange if n_bucket(r["n"]) == b], digits=2)
    trend_only = sum(r["p_level"] != "regression" and r["p_trend"] == "regression" for r in nochange)
    t.row("  product: of which trend-only alerts", [pct(trend_only, len(nochange), 2)])
    t.rates("variance only x3", by[("variance", 0.0)])

    t.section("recall (% of step series flagged as regression)")
    for s in STEPS:
        t.rates(f"step -{s:.0%}", by[("step", s)])
    t.rates("2nd -20% step, 1-4 runs after a first", by[("second", 0.20)])
    t.section("recall by the newest run's n")
    for s in (0.05, 0.10, 0.20, 0.50):
        for b in N_BUCKETS:
            t.rates(f"  -{s:.0%}, n {b}", [r for r in by[("step", s)] if n_bucket(r["n"]) == b])
    imp = by[("improve", 0.10)]
    t.section("improvement +10%")
    t.rates("  called improvement", imp, "improvement")
    t.rates("  called regression (wrong)", imp)

    creep = [r for r in records if r["mode"] == "main" and r["scenario"] == "creep"]
    t.section(f"creep -2.5%/run (n={len(creep)}): first creeping run with an alert")
    t.row(f"  flagged within {TARGET_CREEP_RUNS} runs (%)",
          [pct(sum(r[n] is not None and r[n] <= TARGET_CREEP_RUNS for r in creep), len(creep)) for n in NAMES])
    t.row("  flagged within 10 runs (%)", [pct(sum(r[n] is not None for r in creep), len(creep)) for n in NAMES])
    t.row("  median runs until flagged", [_median_first(creep, n) for n in NAMES])

    t.section("severity (minor >= 3%, major >= 15%, critical >= 30%) of the caught regressions")
    for s in (0.05, 0.10, 0.20, 0.50):
        want = tier(s)
        vals = []
        for n in NAMES:
            caught = [r for r in by[("step", s)] if r[n][0] == "regression"]
            vals.append(pct(sum(r[n][1] == want for r in caught), len(caught)))
        t.row(f"  -{s:.0%}: tier == {want} (%)", vals)
    over = []
    for n in NAMES:
        caught = [r for s in (0.05, 0.10, 0.20, 0.50) for r in by[("step", s)] if r[n][0] == "regression"]
        over.append(pct(sum(SEVERITIES.index(r[n][1]) > SEVERITIES.index(tier(r["true_rel"]))  # type: ignore[arg-type]
                            for r in caught), len(caught)))
    t.row("  over-graded, -5..-50% (%)", over)
    caught = [r for s in (0.05, 0.10, 0.20, 0.50) for r in by[("step", s)] if r["product"][0] == "regression"]
    within = [r for r in caught if SEVERITIES.index(r["product"][1]) <= SEVERITIES.index(tier(r["true_rel"]))  # type: ignore[arg-type]
              <= SEVERITIES.index(r["p_sevmax"])]
    t.row("  product: true tier within its range (%)", [pct(len(within), len(caught))])
    bnd = by[("boundary", 0.15)]
    for name in ("minor", "major"):
        vals = []
        for n in NAMES:
            caught = [r for r in bnd if r[n][0] == "regression"]
            vals.append(pct(sum(r[n][1] == name for r in caught), len(caught)))
        t.row(f"  true -15% (tier boundary): {name} (%)", vals)
    caught = [r for r in bnd if r["product"][0] == "regression"]
    t.row("  product: -15% range reaches major (%)",
          [pct(sum(r["p_sevmax"] in ("major", "critical") for r in caught), len(caught))])
    judged = [r for s in STEPS for r in by[("step", s)]] + bnd + nochange
    t.row("  product: 90% interval covers the truth (%)", [pct(sum(r["p_cover"] for r in judged), len(judged))])
    return t.lines


def stress_table(records: list[dict[str, Any]]) -> list[str]:
    t = Table()
    for mode, title in (("tiny", "every run has 1-2 requests"),
                        ("truncated", "newest run cut to 1-2 requests (3-50 before; the others failed)")):
        by = _group(records, mode)
        nochange = by[("nochange", 0.0)]
        t.section(title)
        t.rates("  no change: false alarms", nochange, digits=2)
        t.rates("    excl. one request that is a cold start",
                [r for r in nochange if not r["cold_single"]], digits=2)
        for b in ("1", "2"):
            t.rates(f"    newest run n {b}", [r for r in nochange if n_bucket(r["n"]) == b], digits=2)
        for s in STRESS_STEPS:
            t.rates(f"  recall -{s:.0%}", by[("step", s)])
        judged = [r for key, recs in by.items() for r in recs]
        t.row("  product: verdicts marked low confidence (%)",
              [pct(sum(bool(r["p_low"]) for r in judged), len(judged))])
    return t.lines


def _median_first(creep: list[dict[str, Any]], name: str) -> str:
    firsts = sorted(r[name] if r[name] is not None else 99 for r in creep)
    m = firsts[len(firsts) // 2]
    return ">10" if m == 99 else str(m)


def key_figures(records: list[dict[str, Any]]) -> dict[str, float]:
    """The main table's figures that issue 14 sets targets for (percentages), product only."""
    by = _group(records, "main")

    def rate(recs: list[dict[str, Any]]) -> float:
        return 100.0 * sum(r["product"][0] == "regression" for r in recs) / max(1, len(recs))

    creep = [r for r in records if r["mode"] == "main" and r["scenario"] == "creep"]
    out = {"false alarms %": rate(by[("nochange", 0.0)])}
    out.update({f"recall -{s:.0%}": rate(by[("step", s)]) for s in TARGET_RECALL})
    out[f"creep <= {TARGET_CREEP_RUNS} runs %"] = 100.0 * sum(
        r["product"] is not None and r["product"] <= TARGET_CREEP_RUNS for r in creep) / max(1, len(creep))
    out["creep median runs"] = float(sorted(r["product"] or 99 for r in creep)[len(creep) // 2])
    return out


def target_check(fig: dict[str, float]) -> list[str]:
    """The targets a seed misses (empty: all met)."""
    missed = []
    if fig["false alarms %"] > TARGET_FALSE_ALARMS:
        missed.append("false alarms")
    missed += [f"recall -{s:.0%}" for s, want in TARGET_RECALL.items() if fig[f"recall -{s:.0%}"] < want]
    if fig["creep median runs"] > TARGET_CREEP_RUNS:
        missed.append("creep")
    return missed


def summary(figures: dict[int, dict[str, float]]) -> list[str]:
    cols = list(next(iter(figures.values())))
    width = max(len(c) for c in cols) + 2
    targets = {"false alarms %": f"<= {TARGET_FALSE_ALARMS}", "creep median runs": f"<= {TARGET_CREEP_RUNS}",
               f"creep <= {TARGET_CREEP_RUNS} runs %": "",
               **{f"recall -{s:.0%}": f">= {w:g}" for s, w in TARGET_RECALL.items()}}
    lines = ["seed  " + "".join(f"{c:>{width}s}" for c in cols) + "  targets",
             "want  " + "".join(f"{targets[c]:>{width}s}" for c in cols)]
    for seed, fig in figures.items():
        missed = target_check(fig)
        values = "".join(f"{fig[c]:>{width}.0f}" if c == "creep median runs" else f"{fig[c]:>{width}.2f}"
                         for c in cols)
        lines.append(f"{seed:<6d}" + values + ("  all met" if not missed else "  MISSED: " + ", ".join(missed)))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seed", type=int, default=1, help="the fixed seed whose tables are printed in full")
    ap.add_argument("--also-seeds", default="2,3", help="further seeds for the summary ('' for none)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the series counts")
    ap.add_argument("--workers", type=int, default=2)
    args, _unknown = ap.parse_known_args(argv)  # `./dev bench ARGS` passes ARGS to every script
    seeds = [args.seed] + [int(s) for s in str(args.also_seeds).split(",") if s.strip()]
    figures: dict[int, dict[str, float]] = {}
    for seed in seeds:
        started = time.perf_counter()
        records = run_seed(seed, args.scale, args.workers)
        elapsed = time.perf_counter() - started
        figures[seed] = key_figures(records)
        if seed != args.seed:
            continue
        main_n = sum(r["mode"] == "main" for r in records)
        print(f"bench_detector: seed={seed}  {len(records)} series ({elapsed:.0f} s, {args.workers} workers)")
        print(f"\nMAIN — issue 14's noise model: 3-50 requests/run, 1-5% spread, 0.5-2% drift, "
              f"5% cold starts; {main_n} series")
        print("\n".join(main_table(records)))
        print(f"\nSTRESS — runs of 1-2 requests (not in the main table); {len(records) - main_n} series")
        print("\n".join(stress_table(records)))
    print(f"\nSUMMARY — main table, product detector, seeds {', '.join(map(str, seeds))}")
    print("\n".join(summary(figures)))
    return 0 if all(not target_check(f) for f in figures.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
