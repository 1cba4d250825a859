"""The real 101-file archive (../shared/data/chimera-reports): what a careful analyst finds.

Expected values were worked out by hand from the raw files (see the comments), not from our output.
Skipped cleanly when ../shared is absent.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from bot.app import build_pipeline
from bot.cli import main
from bot.flows.pipeline import RunResult
from tests.factories import make_settings
from tests.paths import REAL_ARCHIVE


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    if not REAL_ARCHIVE.is_dir():
        pytest.skip(f"real archive not present at {REAL_ARCHIVE}")
    work = tmp_path_factory.mktemp("work")
    settings = make_settings(storage_roots=[str(work / "none")], work_dir=work)
    return build_pipeline(settings).run(str(REAL_ARCHIVE), use_llm=False, allow_local_paths=True)


def _model(result: RunResult, name: str) -> dict:
    return next(m for m in result.data["models"] if m["model"] == name)


def test_inventory(result: RunResult) -> None:
    inv = result.data["inventory"]
    assert inv["files_total"] == 101
    assert inv["by_format"]["csv"] == 28 and inv["by_format"]["json"] == 44 and inv["by_format"]["md"] == 29


def test_throughput_medians_exclude_failures_and_count_duplicates_once(result: RunResult) -> None:
    # q8_0: ollama_quant_bench.csv (46.04 46.79 46.54 46.85 46.64; its copy under reports/llama3 counted
    # once) + prompt suite 20251002-151824 (45.32 46.82 46.52 46.81 46.52); the other suite runs failed.
    q8 = [46.04, 46.79, 46.54, 46.85, 46.64, 45.32, 46.82, 46.52, 46.81, 46.52]
    model = _model(result, "llama3.1:8b-instruct-q8_0")
    assert model["throughput_tok_s"]["median"] == pytest.approx(statistics.median(q8))
    assert model["throughput_tok_s"]["median"] == pytest.approx(46.6, abs=0.05)
    assert model["n"] == 10 and model["failed"] == 20
    gemma = _model(result, "gemma3:270m")
    assert gemma["throughput_tok_s"]["median"] == pytest.approx(290.0, abs=0.5)
    assert gemma["n"] == 39  # 5 baseline (CSV and JSON twin counted once) + 34 tuning rows that did not fail


def test_failed_requests_are_counted_with_reasons(result: RunResult) -> None:
    requests = result.data["requests"]
    assert requests["failed"] > 0 and requests["succeeded"] + requests["failed"] == requests["total"]
    q4 = _model(result, "llama3.1:8b-instruct-q4_0")
    reasons = " ".join(q4["failure_reasons"])
    assert "Failed to connect to Ollama" in reasons and "WinError 10049" in reasons
    # none of the failures' zeros reaches a statistic
    for model in result.data["models"]:
        if model["throughput_tok_s"]["n"]:
            assert model["throughput_tok_s"]["min"] > 0


def test_cold_starts_identified(result: RunResult) -> None:
    # ollama_quant_bench.csv: q8_0's first request loads the model (TTFT 9.61 s vs ~0.09 s warm)
    q8 = _model(result, "llama3.1:8b-instruct-q8_0")
    assert q8["cold_starts"] >= 1
    assert q8["ttft_warm_ms"]["max"] < 1000
    assert q8["ttft_ms"]["max"] > 9000


def test_undecodable_file_skipped_with_reason(result: RunResult) -> None:
    skipped = {s["path"]: s["reason"] for s in result.data["inventory"]["skipped"]}
    assert skipped["reports/ncu_summary.csv"].startswith("undecodable bytes")
    assert all(reason for reason in skipped.values())


def test_byte_identical_duplicates_listed(result: RunResult) -> None:
    pairs = {tuple(p) for p in result.data["inventory"]["duplicates"]}
    assert ("csv_data/ollama_quant_bench.csv", "reports/llama3/ollama_quant_bench.csv") in pairs
    assert ("csv_data/ollama_param_tuning.csv", "reports/llama3/ollama_param_tuning.csv") in pairs
    assert ("reports/llama3/ollama_benchmark_summary.md", "reports/ollama_benchmark_summary.md") in pairs
    # the CSV and JSON exports of the same gemma3 baseline run hold the same records
    assert ("reports/gemma3/gemma3_270m_baseline.csv", "reports/gemma3/gemma3_270m_baseline.json") in pairs


def test_claims_that_do_not_match_raw_data_are_reported(result: RunResult) -> None:
    mismatches = result.data["claims"]["mismatches"]
    # gemma3/SUMMARY.md states a mean TTFT of 0.165 s for gemma3:latest; gemma3_baseline.csv's five
    # requests average 0.567 s (one cold start of ~2 s included).
    ttft = [m for m in mismatches if m["source"] == "reports/gemma3/SUMMARY.md" and m["metric"] == "ttft_ms"]
    assert ttft and ttft[0]["claimed"] == pytest.approx(165.0) and ttft[0]["actual"] > 500
    assert result.data["claims"]["checked"] > len(mismatches)
    assert any("does not match the raw data" in f["statement"] for f in result.data["facts"])


def test_report_and_json_contract(result: RunResult, tmp_path: Path) -> None:
    data = result.data
    for key in ("inventory", "requests", "models", "facts", "timings_s", "llm", "headline"):
        assert key in data
    assert set(data["timings_s"]) >= {"ingest", "analysis", "report"}
    fact = data["facts"][0]
    assert set(fact) >= {"id", "statement", "value", "unit", "sources"}
    assert data["headline"]["best_throughput"]["model"] == "gemma3:270m"
    assert "Narrative skipped" in result.report_md
    json.dumps(data)  # serialisable as is


def test_cli_end_to_end(real_archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, js = tmp_path / "r.md", tmp_path / "r.json"
    code = main(["analyze", str(real_archive), "--no-llm", "--out", str(out), "--json", str(js)])
    assert code == 0
    data = json.loads(js.read_text())
    assert data["inventory"]["files_total"] == 101
    assert out.read_text().startswith("# Benchmark report")
