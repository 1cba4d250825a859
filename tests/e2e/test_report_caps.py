"""Ten thousand model names (issue 12): a report covers at most MAX_REPORT_MODELS models and
MAX_REPORT_CONFIGURATIONS configurations, and every output says how many more were left out.

Before, such an archive made a job take minutes (bench/bench_report_caps.py measures it now) and a
10,000-bar chart. Expected: the analysis, the JSON, the report, the Slack summary and the chart
cover the 100 models with the most measurements, and each says 9,900 more were left out.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bot.core.ingest import ingest_tree
from bot.core.limits import LEFT_OUT_PATH, ReportCaps, cap_report, headline_picks
from bot.core.types import RankingClaim
from bot.flows.deliver import chart_title, report_uploads
from bot.pipeline_app import build_pipeline
from bot.render.charts import chart_png
from tests.factories import make_settings
from tests.row_attacks import many_models_archive
from tests.slack_support import http_bot, upload_done

LEFT_OUT = ("10000 models: the report covers the 100 with the most measurements; 9900 more (89100 measurements) "
            "are left out: model-00100:7b, model-00101:7b, model-00102:7b, model-00103:7b, model-00104:7b and "
            "9895 others (MAX_REPORT_MODELS)")


def test_ten_thousand_models_give_a_bounded_report_that_counts_the_rest(tmp_path):
    many_models_archive(tmp_path / "models.tar.gz", models=10_000)
    settings = make_settings(work_dir=tmp_path / "work", storage_roots=[str(tmp_path)])
    result = build_pipeline(settings).run("models.tar.gz", use_llm=False)

    # every model has 9 measurements (3 requests): ties go by name
    assert [m["model"] for m in result.data["models"]] == sorted(f"model-{i:05d}:7b" for i in range(100))
    assert {"path": LEFT_OUT_PATH, "reason": LEFT_OUT} in result.data["inventory"]["warnings"]
    assert f"> **Left out:** {LEFT_OUT}" in result.report_md
    assert len(result.report_md) < 100_000
    assert len(json.dumps(result.data)) < 1_000_000
    chart = chart_png(result.analysis, title="models.tar.gz")
    assert chart is not None
    assert all(panel.get("bars", 0) <= 12 and panel.get("lines", 0) <= 6 for panel in chart.plan.describe())
    uploads = report_uploads(result)
    assert [u.filename for u in uploads] == ["models.tar.gz-report.md", "models.tar.gz-chart.png"]
    assert chart_title(result) == "models.tar.gz — 10000 models: the report covers the 100 with the most measurements"


def test_the_slack_summary_says_what_was_left_out(standin, tmp_path):
    many_models_archive(tmp_path / "models.tar.gz", models=200)
    with http_bot(standin, None, storage_roots=[str(tmp_path)], work_dir=str(tmp_path / "work")) as bot_:
        status, _body, _ = bot_.command("analyze models.tar.gz --no-llm")
        assert status == 200
        standin.wait_for(upload_done)
    summary = standin.of("chat.update")[-1].params
    texts = summary["blocks"] if isinstance(summary["blocks"], str) else json.dumps(summary["blocks"])
    assert "200 models: the report covers the 100 with the most measurements; 100 more" in texts


def test_configurations_past_the_cap_are_counted_too(tmp_path):
    archive = many_models_archive(tmp_path / "models.tar.gz", models=30)
    settings = make_settings(work_dir=tmp_path / "work", storage_roots=[str(tmp_path)])
    pipeline = build_pipeline(settings)
    with pipeline.archives.open("models.tar.gz", allow_local_paths=False) as tree:
        ingest = ingest_tree(tree.root, files=tree.files, workers=1)
    capped = cap_report(ingest, ReportCaps(max_models=100, max_configurations=10))
    assert capped.measurements["model"].nunique() == 10
    notes = [w.reason for w in capped.inventory.warnings if w.path == LEFT_OUT_PATH]
    # the fastest two (52.5 tok/s) first, then by count (9 each: by name)
    assert notes == ["30 configurations: the report covers 10: the 2 its headline names, then the 8 with the most "
                     "measurements; 20 more (180 measurements) are left out (MAX_REPORT_CONFIGURATIONS)"]
    assert sorted(set(capped.measurements["model"].astype(str))) == sorted(
        [f"model-{i:05d}:7b" for i in range(8)] + ["model-00012:7b", "model-00025:7b"])
    assert cap_report(ingest, ReportCaps()) is ingest  # within the caps: untouched
    assert archive.exists()


def fast_model_among_many(root: Path, *, models: int = 100) -> Path:
    """Review 2 (h6): ``models`` models at 10-16 tok/s with 10 requests each, and best-model at
    1000 tok/s with 9: the fewest measurements, the fastest by far."""
    root.mkdir(parents=True)
    rows = ["model,tokens_per_second"]
    for index in range(models):
        rows += [f"model{index:03d},{10 + (index + attempt) % 7}" for attempt in range(10)]
    rows += ["best-model,1000"] * 9
    (root / "results.csv").write_text("\n".join(rows) + "\n")
    return root


def test_the_caps_keep_the_model_the_headline_names_however_few_its_measurements(tmp_path):
    fast_model_among_many(tmp_path / "arch")
    settings = make_settings(work_dir=tmp_path / "work", storage_roots=[str(tmp_path)])
    result = build_pipeline(settings).run("arch", use_llm=False)
    best = result.data["headline"]["best_throughput"]
    assert (best["model"], best["value"], best["n"]) == ("best-model", 1000.0, 9)
    assert "best-model" in [m["model"] for m in result.data["models"]]
    assert len(result.data["models"]) == 100
    note = ("101 models: the report covers 100: the 1 its headline names, then the 99 with the most measurements; "
            "1 more (10 measurements) are left out: model099 (MAX_REPORT_MODELS)")
    assert {"path": LEFT_OUT_PATH, "reason": note} in result.data["inventory"]["warnings"]
    assert "Fastest configuration: best-model" in result.report_md


def test_the_configuration_cap_keeps_the_headline_and_its_runner_up(tmp_path):
    root = fast_model_among_many(tmp_path / "arch", models=30)
    ingest = ingest_tree(root, workers=1)
    picks = headline_picks(ingest.measurements)
    assert [model for model, _config in picks][:1] == ["best-model"]
    capped = cap_report(ingest, ReportCaps(max_models=100, max_configurations=5))
    kept = set(capped.measurements["model"].astype(str))
    assert len(kept) == 5 and {model for model, _config in picks} <= kept
    assert [w.reason for w in capped.inventory.warnings if w.path == LEFT_OUT_PATH] == [
        "31 configurations: the report covers 5: the 1 its headline names, then the 4 with the most measurements; "
        "26 more (260 measurements) are left out (MAX_REPORT_CONFIGURATIONS)"]


def test_rankings_the_archive_states_about_models_left_out_are_left_out_too(tmp_path):
    ingest = ingest_tree(fast_model_among_many(tmp_path / "arch"), workers=1)
    stated = [RankingClaim("README.md", "fastest_model", "best-model is the fastest", subject="best-model"),
              RankingClaim("README.md", "fastest_model", "model099 is the fastest", subject="model099"),
              RankingClaim("model099.md", "best_config", "best configuration", model="model099"),
              RankingClaim("model000.md", "best_config", "best configuration", model="model000"),
              RankingClaim("README.md", "faster_by", "model000 is 10% faster than model099", subject="model000",
                           other="model099", percent=10.0)]
    capped = cap_report(replace(ingest, rankings=stated), ReportCaps())
    assert [r.text for r in capped.rankings] == ["best-model is the fastest", "best configuration"]
    assert capped.rankings[1].model == "model000"
