"""News as the digest shows it (`bot.render.news`): each kind its own line, the headline the worst.

Each "News" bullet of issue 14 — failure rate up, every request failed, a model or configuration
gone or new, a configuration key changed (which dimension), a unit changed, too few requests — is
rendered from real `build_news` output on seeded archives and checked line by line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pandas as pd
import pytest

from bot.core.news import News, NewsItem, SeriesResult, Snapshot, build_news
from bot.core.regression import NO_CHANGE, REGRESSION, Trend, Verdict
from bot.render.news import (
    MARKDOWN,
    MAX_ITEMS_SHOWN,
    fallback,
    headline,
    item_line,
    news_blocks,
    news_json,
    news_markdown,
)
from bot.render.slack_text import SECTION_TEXT_LIMIT
from tests.news_support import CTX2K, CTX8K, GEMMA, LLAMA, QWEN, failing, newest, news_of, with_frame
from tests.synth import DEFAULT_MODELS, SynthModel, synth_archive


def _edited(edit: Callable[[pd.DataFrame], pd.DataFrame], **kwargs: object) -> News:
    current = newest(**kwargs)
    return news_of(with_frame(current, edit(current.frame.copy())))


def _only(news: News, kind: str) -> NewsItem:
    items = news.of_kind(kind)  # type: ignore[arg-type]
    assert items, [i.kind for i in news.items]
    return items[0]


def _config_value(frame: pd.DataFrame) -> pd.DataFrame:
    qwen = frame["model"] == QWEN
    frame.loc[qwen, "config"] = frame.loc[qwen, "config"].str.replace("temperature=0.2", "temperature=0.7")
    return frame


def _added_key(frame: pd.DataFrame) -> pd.DataFrame:
    frame["config"] = frame["config"] + ",flash_attn=1"
    return frame


def _unit(unit: str, factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        tp = frame["metric"] == "throughput_tok_s"
        frame.loc[tp, "value"] *= factor
        frame.loc[tp, "unit"] = unit
        return frame
    return edit


def _new_model(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, synth_archive(5, archive=99, models=[SynthModel("phi4:14b", 30.0, 0.03, 300.0)])])


def _one_config_less(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~((frame["model"] == QWEN) & (frame["config"] == CTX8K))]


def _new_config(frame: pd.DataFrame) -> pd.DataFrame:
    extra = synth_archive(5, archive=99, models=[m for m in DEFAULT_MODELS if m.name == GEMMA],
                          configs=["num_ctx=32768,num_gpu=999,temperature=0.2"])
    return pd.concat([frame, extra])


CASES: dict[str, tuple[Callable[[], News], str, str]] = {
    # kind: (news, icon, the rest of its line)
    "every request failed": (
        lambda: _edited(lambda f: failing(f, GEMMA, 1.0)), ":red_circle:",
        f"*Every request failed* · {GEMMA} `{CTX2K}` · 30 of 30 requests · mostly “HTTP 500: out of memory”"),
    "failure rate up": (
        lambda: _edited(lambda f: failing(f, QWEN, 0.5)), ":large_orange_circle:",
        f"*Failure rate up* · {QWEN} `{CTX2K}` · "),
    "model gone": (
        lambda: _edited(lambda f: f[f["model"] != LLAMA]), ":large_orange_circle:",
        f"*Model gone* · {LLAMA} · measured in `nightly/05` (2 configurations), not in this archive"),
    "model new": (
        lambda: _edited(_new_model), ":new:",
        "*New model* · phi4:14b · 2 configurations: nothing earlier to compare with"),
    "configuration gone": (
        lambda: _edited(_one_config_less), ":large_yellow_circle:",
        f"*Configuration gone* · {QWEN} · `{CTX8K}` measured in `nightly/05`, not now"),
    "configuration new": (
        lambda: _edited(_new_config), ":new:",
        f"*New configuration* · {GEMMA} · `num_ctx=32768,num_gpu=999,temperature=0.2`: "
        "nothing earlier to compare with"),
    "configuration changed": (
        lambda: _edited(_config_value), ":warning:",
        f"*Configuration changed* · {QWEN} · `temperature` 0.2 → 0.7 · "
        f"`{CTX2K.replace('0.2', '0.7')}` is a different configuration: not compared"),
    "configuration key changed": (
        lambda: _edited(_added_key), ":warning:",
        f"*Configuration key changed* · {GEMMA} · `flash_attn` added (=1) · "
        "compared as the same 2 configurations otherwise"),
    "unit changed": (
        lambda: _edited(_unit("tok/min", 60.0)), ":information_source:",
        f"*Unit changed* · {GEMMA} `{CTX2K}` · Throughput: tok/s → tok/min, converted and compared"),
    "too few requests": (
        lambda: news_of(newest(n_requests=1, failure_rate=0.0)), ":grey_question:",
        f"*Too few requests* · {GEMMA} `{CTX2K}` · 1 usable request (was 29) · "
        "judged with a wide interval: rerun to confirm"),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_kind_of_news_is_its_own_line_and_the_headline_names_the_worst(kind: str) -> None:
    make, icon, rest = CASES[kind]
    news = make()
    item = _only(news, kind)
    line = item_line(item, baseline=news.baseline)
    assert line.startswith(f"{icon} {rest}"), line
    top = headline(news)
    assert ":white_check_mark:" not in top and "No significant change" not in top
    worst = news.worst
    assert worst is not None and top.startswith(item_line(worst, baseline=news.baseline).split(" ", 1)[0])
    assert "since `nightly/05`" in top


def test_a_unit_that_does_not_convert_is_refused_in_its_line() -> None:
    news = _edited(_unit("GB", 1.0))
    line = item_line(_only(news, "unit changed"), baseline=news.baseline)
    assert line == (f":warning: *Unit changed* · {GEMMA} `{CTX2K}` · Throughput: tok/s → GB cannot be converted: "
                    "not compared")
    assert "5863" not in headline(news)


def test_regression_lines_carry_the_interval_figures_and_runs() -> None:
    news = news_of(newest(throughput_factor={LLAMA: 0.6}))
    line = item_line(news.items[0], baseline=news.baseline)
    assert re.fullmatch(f":red_circle: \\*CRITICAL regression\\* · {LLAMA} `{CTX2K}` · "
                        r"Throughput −3\d% \(−3\d…−[34]\d%\) · 40\.\d → 2\d\.\d tok/s · 30 requests vs 6 earlier runs",
                        line), line
    assert re.match(f":red_circle: \\*Critical regression: {LLAMA} Throughput −3\\d%\\* since `nightly/05`",
                    headline(news))
    assert headline(news).endswith("— 2 regressions")
    assert re.match(f"Critical regression: {LLAMA} Throughput −3\\d% \\(\\+1 more item\\)", fallback(news))


def test_a_low_confidence_regression_says_so() -> None:
    news = news_of(newest(n_requests=1, failure_rate=0.0, throughput_factor={LLAMA: 0.5}))
    regression = next(i for i in news.of_kind("regression") if i.metric == "throughput_tok_s")
    assert "low confidence: 1 request, rerun to confirm" in item_line(regression)


def test_slow_creep_has_its_rate() -> None:
    trend = Trend(REGRESSION, -0.025, (-0.031, -0.019), -0.118, 6, -6.0)
    verdict = Verdict(NO_CHANGE, -0.02, (-0.05, 0.01), baseline=40.0, current=39.2, unit="tok/s", n_current=30,
                      baseline_runs=(0, 1, 2, 3, 4), trend=trend)
    series = SeriesResult(GEMMA, CTX2K, "throughput_tok_s", verdict, ("a",) * 5, 5)
    item = NewsItem("slow creep", "minor", GEMMA, CTX2K, "throughput_tok_s", series=series)
    assert item_line(item) == (f":large_yellow_circle: *Slow creep* · {GEMMA} `{CTX2K}` · "
                               "Throughput −2.5%/run (−1.9…−3.1%) over 6 runs, −12% in total")


def test_only_no_news_at_all_is_a_green_check() -> None:
    quiet = news_of(newest())
    assert quiet.items == ()
    assert headline(quiet) == (":white_check_mark: *No significant change* since `nightly/05` "
                               "(12 comparisons within noise)")
    assert fallback(quiet) == "no significant change"
    better = news_of(newest(ttft_factor={GEMMA: 0.6}))
    assert headline(better).startswith(":large_green_circle: *Improvement: gemma3:4b TTFT −")


def test_the_headline_is_the_worst_of_several() -> None:
    current = newest(throughput_factor={LLAMA: 0.85})
    frame = _one_config_less(failing(current.frame, GEMMA, 1.0))
    news = news_of(with_frame(current, frame))
    top = headline(news)
    assert top.startswith(f":red_circle: *Every request failed: {GEMMA}* since `nightly/05` — ")
    assert "2 configurations with every request failed, 2 regressions, 1 configuration gone" in top


def test_many_items_stay_within_slack_limits_and_point_to_the_thread() -> None:
    models = [SynthModel(f"m{i}:1b", 40.0 + i, 0.02, 200.0) for i in range(30)]
    earlier = [Snapshot(f"a/{i}", synth_archive(3, archive=i, models=models, n_requests=8)) for i in range(3)]
    news = build_news(Snapshot("a/9", synth_archive(3, archive=9, models=models[:2], n_requests=8)), earlier)
    assert len(news.items) == 28  # 28 models gone
    blocks = news_blocks(news, title="Digest: a/9", verdict=headline(news), context=["footer"])
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_TEXT_LIMIT for t in texts)
    assert sum(t.count("*Model gone*") for t in texts) == MAX_ITEMS_SHOWN
    assert f"… and {28 - MAX_ITEMS_SHOWN} more in the report in the thread." in texts[-1]
    assert len(blocks) <= 50


def test_untrusted_text_is_escaped_in_lines_and_report() -> None:
    current = newest()
    frame = current.frame.copy()
    frame.loc[frame["model"] == GEMMA, "model"] = "<!channel> gemma"
    news = news_of(with_frame(current, frame))
    text = "\n".join(item_line(i) for i in news.items) + headline(news)
    assert "<!channel>" not in text and "&lt;!channel&gt; gemma" in text
    md = news_markdown(news, title_text="Digest news: <x>")
    assert "<!channel>" not in md and "<x>" not in md


def test_the_report_has_every_line_and_every_series() -> None:
    news = news_of(newest(throughput_factor={LLAMA: 0.6}))
    md = news_markdown(news, title_text="Digest news: nightly/99 since nightly/05")
    assert md.startswith("# Digest news: nightly/99 since nightly/05\n")
    assert "## News, worst first" in md and "- :red_circle: **CRITICAL regression** · llama3.1:8b" in md
    assert md.count("\n| ") == 1 + len(news.series)  # header + one row per series
    assert "Earlier archives (oldest first): `nightly/00`" in md
    assert item_line(news.items[0], MARKDOWN).startswith(":red_circle: **CRITICAL")


def test_the_json_document() -> None:
    news = _edited(_added_key, throughput_factor={GEMMA: 0.6})
    doc = news_json(news)
    json.dumps(doc, allow_nan=False)
    assert set(doc) == {"current", "baseline", "history", "worst", "compared", "items", "series"}
    assert doc["baseline"] == "nightly/05" and doc["worst"] == "critical" and doc["compared"] == 12
    key = next(i for i in doc["items"] if i["kind"] == "configuration key changed")
    assert key["dimensions"] == {"added": {"flash_attn": "1"}, "removed": {}, "changed": {}}
    assert key["previous_config"] == CTX2K
    regression = next(i for i in doc["items"] if i["kind"] == "regression")
    assert regression["level"] == "critical" and regression["text"].startswith("CRITICAL regression · gemma3:4b")
    series = next(s for s in doc["series"] if s["status"] == "regression")
    assert set(series) >= {"model", "config", "metric", "unit", "status", "severity", "severity_max",
                           "rel_change", "interval", "baseline", "current", "n_current", "baseline_runs",
                           "low_confidence", "trend"}
    assert series["interval"][0] < series["rel_change"] < series["interval"][1]
    assert len(series["baseline_runs"]) == 6


def test_series_that_are_always_small_are_counted_once_in_the_context() -> None:
    from bot.render.news import context_line
    from tests.news_support import history

    news = build_news(newest(n_requests=2, failure_rate=0.0), history(n_requests=2, failure_rate=0.0))
    assert news.items == ()
    line = context_line(news)
    assert line.startswith("Judged against up to 6 earlier archives · 12 series with only 1–2 requests per run, "
                           "as before: judged with wide intervals · newest run vs the last runs")
    assert headline(news).startswith(":white_check_mark: *No significant change*")


def test_a_single_request_regression_where_cold_starts_happened_before_says_so() -> None:
    """The stress case: one request that may be a cold start is judged, and the line says why to rerun."""
    from tests.news_support import history

    news = build_news(newest(n_requests=1, failure_rate=0.0), history(n_requests=2, failure_rate=0.0))
    ttft = [i for i in news.of_kind("regression") if i.metric == "ttft_ms"]
    assert ttft, "the synthetic first request is usually a cold start"
    assert all("1 request, and this series had cold starts before — one would look the same; rerun to confirm"
               in item_line(i) for i in ttft)
