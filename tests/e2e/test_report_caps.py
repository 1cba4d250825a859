"""Ten thousand model names (issue 12): a report covers at most MAX_REPORT_MODELS models and
MAX_REPORT_CONFIGURATIONS configurations, and every output says how many more were left out.

Before, such an archive made a job take minutes (bench/bench_report_caps.py measures it now) and a
10,000-bar chart. Expected: the analysis, the JSON, the report, the Slack summary and the chart
cover the 100 models with the most measurements, and each says 9,900 more were left out.
"""

from __future__ import annotations

import json

from bot.core.ingest import ingest_tree
from bot.core.limits import LEFT_OUT_PATH, ReportCaps, cap_report
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
    assert notes == ["30 configurations: the report covers the 10 with the most measurements; 20 more "
                     "(180 measurements) are left out (MAX_REPORT_CONFIGURATIONS)"]
    assert cap_report(ingest, ReportCaps()) is ingest  # within the caps: untouched
    assert archive.exists()
