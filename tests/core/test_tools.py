"""One adapter per benchmark tool, on self-written fixtures (tests/fixtures/tools, expectations in its
EXPECTED.json, computed from the invented per-request values with each tool's own formula) and on
malformed variants: truncated JSON, stray lines, missing keys, zero aggregates, unknown units."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from bot.core.analysis import analyze
from bot.core.context import decode
from bot.core.ingest import ingest_tree
from bot.core.ingest.tools import choose
from bot.core.ingest.tools.base import SourceFile
from bot.core.ingest.tools.ollama import go_duration_ms
from bot.core.types import IngestResult
from tests.ingest_support import ingest_files, skipped, values
from tests.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tools"
EXPECTED = json.loads((FIXTURES / "EXPECTED.json").read_text())


def fixture(tmp_path: Path, tool: str, *names: str) -> IngestResult:
    """Ingest a copy of one tool's fixture folder (or only the named files of it)."""
    root = tmp_path / tool
    if names:
        for name in names:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(FIXTURES / tool / name, target)
    else:
        shutil.copytree(FIXTURES / tool, root)
    return ingest_tree(root)


def rows(result: IngestResult, **where: str) -> list[dict]:
    m = result.stored_measurements()  # every column, the identifiers too
    mask = m["metric"].notna()
    for column, wanted in where.items():
        mask &= m[column] == wanted
    return m.loc[mask].to_dict(orient="records")


def median(result: IngestResult, metric: str, **where: str) -> float:
    import statistics

    return statistics.median(r["value"] for r in rows(result, metric=metric, failed=False, **where))


# --- llama-bench -----------------------------------------------------------------------------------
def test_llama_bench_json_samples_per_test(tmp_path: Path) -> None:
    result = fixture(tmp_path, "llama-bench", "llama-bench.json")
    truth = EXPECTED["llama-bench"]
    tg = rows(result, metric="throughput_tok_s")
    assert {r["kind"] for r in tg} == {"sample"} and len(tg) == truth["tg128@d0"]["n_samples"]
    assert median(result, "throughput_tok_s") == pytest.approx(truth["tg128@d0"]["median_samples_ts"])
    pp = rows(result, metric="prompt_throughput_tok_s")
    by_depth = {}
    for r in pp:
        by_depth.setdefault(decode(r["context"])["n_depth"], []).append(r["value"])
    assert sorted(by_depth) == ["0", "4096"]  # depth is a dimension: two configurations
    assert {r["config"] for r in pp} == {"n_depth=0", "n_depth=4096"}
    import statistics

    assert statistics.median(by_depth["0"]) == pytest.approx(truth["pp512@d0"]["median_samples_ts"])
    assert statistics.median(by_depth["4096"]) == pytest.approx(truth["pp512@d4096"]["median_samples_ts"])
    assert result.inventory.tools["llama-bench.json"] == "llama-bench"


def test_llama_bench_exports_of_the_same_tests_are_counted_once(tmp_path: Path) -> None:
    # JSON, JSONL, JSONL with stderr lines and CSV hold the same three tests (same start times)
    result = fixture(tmp_path, "llama-bench")
    dups = dict((b, a) for a, b in result.inventory.duplicates)
    assert dups == {"llama-bench.jsonl": "llama-bench.json", "llama-bench.stderr-mixed.jsonl": "llama-bench.json",
                    "llama-bench.csv": "llama-bench.json"}
    assert all("the same records as llama-bench.json" in result.inventory.duplicate_reasons[d] for d in dups)
    # the Markdown table has no start times: a re-export cannot be told from a repeated run, so it stays
    assert {r["source"] for r in rows(result)} == {"llama-bench.json", "llama-bench.md"}


def test_llama_bench_stray_stderr_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    result = fixture(tmp_path, "llama-bench", "llama-bench.stderr-mixed.jsonl")
    assert len(rows(result, kind="sample")) == 9
    warning = {w.path: w.reason for w in result.inventory.warnings}["llama-bench.stderr-mixed.jsonl"]
    assert warning.startswith("2 line(s) that are not llama-bench records skipped")


def test_llama_bench_csv_keeps_the_tools_mean_and_std(tmp_path: Path) -> None:
    result = fixture(tmp_path, "llama-bench", "llama-bench.csv")
    tg = {r["statistic"]: r for r in rows(result, metric="throughput_tok_s")}
    assert set(tg) == {"mean", "std"} and {r["kind"] for r in tg.values()} == {"aggregate"}
    assert tg["mean"]["value"] == pytest.approx(EXPECTED["llama-bench"]["tg128@d0"]["avg_ts"])
    assert tg["std"]["value"] == pytest.approx(EXPECTED["llama-bench"]["tg128@d0"]["stddev_ts"], rel=1e-6)
    assert math.isnan(tg["mean"]["n"])  # the CSV does not say how many repetitions


def test_llama_bench_markdown_table_with_plus_minus_cells_and_depth(tmp_path: Path) -> None:
    result = fixture(tmp_path, "llama-bench", "llama-bench.md")
    pp = rows(result, metric="prompt_throughput_tok_s", statistic="mean")
    by_depth = {decode(r["context"])["n_depth"]: r["value"] for r in pp}
    assert by_depth == {"0": 5101.33, "4096": 3008.12}
    context = decode(pp[0]["context"])
    assert (context["build_commit"], context["build_number"], context["backend"]) == ("0a1b2c3d", "7001", "CUDA")
    assert {r["model"] for r in rows(result)} == {"llama 1B Q4_0"}
    assert rows(result, metric="throughput_tok_s", statistic="std")[0]["value"] == 2.0


def test_llama_bench_markdown_in_a_log_file(tmp_path: Path) -> None:
    log = ("main: loading model\n" + (FIXTURES / "llama-bench" / "llama-bench.md").read_text() + "\nexit 0\n")
    result = ingest_files(tmp_path, {"run.log": log})
    assert result.inventory.tools["run.log"] == "llama-bench"
    assert len(rows(result, statistic="mean")) == 3


def test_llama_bench_malformed_variants(tmp_path: Path) -> None:
    record = json.loads((FIXTURES / "llama-bench" / "llama-bench.jsonl").read_text().splitlines()[1])
    zero = {**record, "samples_ts": [0.0, 158.0], "test_time": "2026-01-15T11:00:00Z"}
    no_samples = {k: v for k, v in record.items() if k not in ("samples_ts", "samples_ns")} | {
        "test_time": "2026-01-15T12:00:00Z"}
    bool_flag = {**record, "flash_attn": True, "test_time": "2026-01-15T13:00:00Z"}
    text = "\n".join(json.dumps(r) for r in (zero, no_samples, bool_flag)) + '\n{"build_commit": "0a1b2c3d", "av'
    result = ingest_files(tmp_path, {"lb.jsonl": text, "truncated.json": text[:200]})
    zero_rows = rows(result, metric="throughput_tok_s", failed=True)
    assert [r["error"] for r in zero_rows] == ["zero throughput"]  # a zero sample is a failure, not a value
    assert [r["value"] for r in rows(result, kind="aggregate", statistic="mean")] == [160.0]
    # flash_attn written as true (older llama-bench) and as 1 is the same setting
    assert {decode(r["context"])["flash_attn"] for r in rows(result)} == {"1"}
    assert "1 line(s)" in {w.path: w.reason for w in result.inventory.warnings}["lb.jsonl"]
    assert skipped(result)["truncated.json"].startswith("not a table: invalid JSON")


# --- vLLM ------------------------------------------------------------------------------------------
def test_vllm_serve_with_per_request_arrays(tmp_path: Path) -> None:
    result = fixture(tmp_path, "vllm", "openai-4.0qps-tiny-1b-instruct-20260115-101500.json")
    truth = EXPECTED["vllm"]["serve"]
    requests = {r["request_id"] for r in rows(result, kind="request")}
    failed = {r["request_id"] for r in rows(result, kind="request", failed=True)}
    assert (len(requests) - len(failed), len(failed)) == (truth["completed"], truth["failed"])
    assert median(result, "ttft_ms", kind="request") == pytest.approx(truth["median_ttft_ms"])
    analysis = analyze(result)
    ttft_claims = {c.statistic: c for c in analysis.claim_checks if c.metric == "ttft_ms"}
    assert {s: c.status for s, c in ttft_claims.items()} == {"mean": "match", "median": "match", "std": "match",
                                                              "p99": "match"}
    system = {r["metric"]: r["value"] for r in rows(result, kind="aggregate", statistic="rate")}
    assert system == {"request_throughput_req_s": truth["request_throughput"],
                      "output_throughput_tok_s": truth["output_throughput"],
                      "total_throughput_tok_s": truth["total_token_throughput"]}
    # the peak output rate is a rate, never 14 s read as 14,000 ms
    assert [r["value"] for r in rows(result, metric="output_throughput_tok_s", statistic="max")] == [14.0]
    assert not rows(result, unit="ms", statistic="max")


def test_vllm_append_result_keeps_each_run_with_its_request_rate(tmp_path: Path) -> None:
    result = fixture(tmp_path, "vllm", "append-result.json")
    medians = {r["config"]: r["value"] for r in rows(result, metric="ttft_ms", statistic="median")}
    assert set(medians) == {"request_rate=4", "request_rate=inf"}  # "inf" kept as text
    first = rows(result, metric="ttft_ms", statistic="median")[0]
    assert first["kind"] == "aggregate" and first["n"] == EXPECTED["vllm"]["serve"]["completed"]


def test_vllm_all_failed_run_is_all_failures(tmp_path: Path) -> None:
    run = json.loads((FIXTURES / "vllm" / "append-result.json").read_text().splitlines()[0])
    run |= {"completed": 0, "failed": 5, "request_throughput": 0.0, "output_throughput": 0.0,
            "total_token_throughput": 0.0, "mean_ttft_ms": 0.0, "median_ttft_ms": 0.0, "p99_ttft_ms": 0.0}
    result = ingest_files(tmp_path, {"failed-run.json": json.dumps(run)})
    aggregates = rows(result, kind="aggregate")
    stats = [r for r in aggregates if r["statistic"] != "count"]
    assert stats and all(r["failed"] for r in stats)  # zero aggregates of an all-failed run are not values
    analysis = analyze(result)
    assert (analysis.total, analysis.failed) == (5, 5)
    assert any("reports 5 of 5 requests failed" in f.statement for f in analysis.facts)
    assert not any(f.metric == "ttft_ms" and f.value == 0 and "not a value" not in f.statement
                   for f in analysis.facts)


def test_vllm_latency_iterations_are_samples_and_percentiles_are_claims(tmp_path: Path) -> None:
    result = fixture(tmp_path, "vllm", "latency.json")
    assert {r["kind"] for r in rows(result, metric="latency_ms")} == {"sample"}
    assert median(result, "latency_ms") == pytest.approx(EXPECTED["vllm"]["latency_median_ms"])
    checks = analyze(result).claim_checks
    assert {c.statistic for c in checks} == {"mean", "p10", "p25", "median", "p75", "p90", "p99"}
    assert {c.status for c in checks} == {"match"}


def test_vllm_throughput_counts_prompt_and_output_tokens(tmp_path: Path) -> None:
    result = fixture(tmp_path, "vllm", "throughput.json")
    total = rows(result, metric="total_throughput_tok_s")
    assert [r["value"] for r in total] == [EXPECTED["vllm"]["throughput_tokens_per_second"]]
    assert "prompt + output" in total[0]["definition"] and total[0]["n"] == 100
    assert not rows(result, metric="throughput_tok_s")  # never generation throughput


def test_vllm_sweep_runs_summaries_and_failures(tmp_path: Path) -> None:
    result = fixture(tmp_path, "vllm", "sweep/exp1/SERVE-mns64-BENCH-rr1/run=0.json",
                     "sweep/exp1/SERVE-mns64-BENCH-rr1/run=1.json", "sweep/exp1/SERVE-mns64-BENCH-rr1/summary.json",
                     "sweep/exp1/summary.csv", "sweep/exp1/SERVE-mns64-BENCH-rr4/run=0.failure.json")
    dups = {b for _, b in result.inventory.duplicates}
    assert len(dups) == 3  # the two runs are in summary.json and summary.csv too: counted once
    medians = rows(result, metric="ttft_ms", statistic="mean")
    assert sorted(r["value"] for r in medians) == [60.0, 61.0]  # two runs of one configuration
    assert {decode(r["context"])["max_num_seqs"] for r in medians} == {"64"}
    assert all("run_number" in json.loads(r["identifiers"]) for r in medians)
    failure = rows(result, source="sweep/exp1/SERVE-mns64-BENCH-rr4/run=0.failure.json")
    assert len(failure) == 1 and failure[0]["failed"] and "CalledProcessError" in failure[0]["error"]
    assert decode(failure[0]["context"])["request_rate"] == "4"
    assert any(f.metric == "failed_runs" for f in analyze(result).facts)


def test_vllm_malformed_variants(tmp_path: Path) -> None:
    run = json.loads((FIXTURES / "vllm" / "append-result.json").read_text().splitlines()[0])
    missing = {k: v for k, v in run.items() if k not in ("completed", "failed")}
    result = ingest_files(tmp_path, {"missing.json": json.dumps(missing), "truncated.json": json.dumps(run)[:300]})
    ttft = rows(result, metric="ttft_ms", statistic="median")
    assert len(ttft) == 1 and math.isnan(ttft[0]["n"]) and not ttft[0]["failed"]  # n unrecorded, value kept
    assert not rows(result, metric="requests_completed")
    assert skipped(result)["truncated.json"].startswith("not a table: invalid JSON")


# --- LLMPerf ---------------------------------------------------------------------------------------
def test_llmperf_individual_rows_with_the_summarys_model(tmp_path: Path) -> None:
    result = fixture(tmp_path, "llmperf")
    truth = EXPECTED["llmperf"]
    requests = rows(result, kind="request", metric="ttft_ms")
    assert {r["model"] for r in requests} == {"synthetic/tiny-1b-instruct"}
    failed = [r for r in requests if r["failed"]]
    assert (len(requests) - len(failed), len(failed)) == (truth["n_ok"], truth["failed"])
    assert failed[0]["error"].startswith("error_code 429")
    assert median(result, "ttft_ms", kind="request") == pytest.approx(truth["ttft_p50_ms"])
    assert median(result, "throughput_tok_s", kind="request") == pytest.approx(truth["throughput_p50"])
    analysis = analyze(result)
    assert analysis.claim_checks and {c.status for c in analysis.claim_checks} == {"match"}
    p50 = next(c for c in analysis.claim_checks if c.metric == "ttft_ms" and c.statistic == "median")
    assert p50.actual == pytest.approx(truth["ttft_p50_ms"]) and p50.n == truth["n_ok"]
    context = decode(requests[0]["context"])
    # the summary's settings are the individual rows' context (its results are not)
    assert context["num_concurrent_requests"] == "2" and context["mean_input_tokens"] == "550"
    assert not any(k.startswith("results_") for k in context)


def test_llmperf_error_rows_with_values_are_failures_and_a_missing_summary_is_said(tmp_path: Path) -> None:
    data = json.loads(next((FIXTURES / "llmperf").glob("*individual*")).read_text())
    data[1] |= {"error_code": -100, "error_msg": "Output too few tokens 90"}  # real timings, still a failure
    result = ingest_files(tmp_path, {"raw/individual/p.json": json.dumps(data)})
    ttft = rows(result, metric="ttft_ms")
    assert sorted(r["value"] for r in ttft if not r["failed"]) == [190.0, 210.0]
    assert [r["error"] for r in ttft if r["failed"] and r["value"] > 0] == [
        "error_code -100: Output too few tokens 90"]
    assert "no LLMPerf summary" in {w.path: w.reason for w in result.inventory.warnings}["raw/individual/p.json"]


def test_llmperf_malformed_variants(tmp_path: Path) -> None:
    rows_text = next((FIXTURES / "llmperf").glob("*individual*")).read_text()
    summary = json.loads(next((FIXTURES / "llmperf").glob("*summary*")).read_text())
    # LLMPerf writes some summary figures as strings ("550") and leaves keys out between versions
    summary = {k: (str(v) if k.endswith("_min") else v) for k, v in summary.items() if k != "framework"}
    result = ingest_files(tmp_path, {
        "a/x_individual_responses.json": rows_text, "a/x_summary.json": json.dumps(summary),
        "b/y_individual_responses.json": rows_text[: len(rows_text) // 2],  # truncated
    })
    checks = analyze(result).claim_checks
    assert checks and {c.status for c in checks} == {"match"}
    assert any(c.statistic == "min" and c.metric == "ttft_ms" for c in checks)  # read from "0.19"
    assert skipped(result)["b/y_individual_responses.json"].startswith("not a table: invalid JSON")


# --- GenAI-Perf / AIPerf ---------------------------------------------------------------------------
def test_genai_perf_profile_export(tmp_path: Path) -> None:
    result = fixture(tmp_path, "genai-perf")
    folder = "synthetic_tiny-1b-instruct-openai-chat-concurrency4"
    assert result.inventory.duplicates == [(f"{folder}/profile_export_genai_perf.json",
                                            f"{folder}/profile_export_genai_perf.csv")]
    ttft = {r["statistic"]: r for r in rows(result, metric="ttft_ms")}
    assert ttft["median"]["value"] == EXPECTED["genai-perf"]["ttft_p50_ms"]
    assert ttft["median"]["n"] == EXPECTED["genai-perf"]["request_count"] and ttft["median"]["kind"] == "aggregate"
    assert {r["model"] for r in rows(result)} == {"synthetic/tiny-1b-instruct"}
    assert decode(ttft["median"]["context"])["perf_analyzer.stimulus.concurrency"] == "4"
    per_user = rows(result, metric="throughput_tok_s", statistic="median")
    assert per_user and rows(result, metric="output_throughput_tok_s", statistic="rate")[0]["value"] == 435.0


def test_genai_perf_unknown_unit_is_not_read(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "genai-perf" / "synthetic_tiny-1b-instruct-openai-chat-concurrency4" /
                      "profile_export_genai_perf.json").read_text())
    doc["time_to_first_token"]["unit"] = "fortnights"
    result = ingest_files(tmp_path, {"a/profile_export_genai_perf.json": json.dumps(doc)})
    assert not rows(result, metric="ttft_ms")
    warning = {w.path: w.reason for w in result.inventory.warnings}["a/profile_export_genai_perf.json"]
    assert "unit 'fortnights' not known" in warning


def test_aiperf_requests_and_profile(tmp_path: Path) -> None:
    result = fixture(tmp_path, "aiperf")
    truth = EXPECTED["aiperf"]
    requests = rows(result, kind="request", metric="ttft_ms")
    ok = [r for r in requests if not r["failed"]]
    assert len(ok) == truth["n_ok"]
    failed = rows(result, kind="request", failed=True)
    assert len(failed) == truth["failed"] and failed[0]["error"].startswith("error 503")
    assert median(result, "ttft_ms", kind="request") == pytest.approx(truth["ttft_p50_ms"])
    assert {r["model"] for r in requests} == {"synthetic/tiny-1b-instruct"}  # from the profile beside it
    ids = json.loads(requests[0]["identifiers"])
    assert "x_request_id" in ids and "worker_id" in ids
    analysis = analyze(result)
    assert (analysis.total, analysis.failed) == (4, 1)  # the profile's counts are not added twice


# --- Ollama ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, ms", [
    ("2m43.501061515s", 163501.061515), ("16.0598ms", 16.0598), ("850µs", 0.85), ("1h2m3.5s", 3723500.0),
    ("6.7326628s", 6732.6628), ("120ns", 0.00012), ("12 apples", None), ("", None),
])
def test_go_durations(text: str, ms: float | None) -> None:
    assert go_duration_ms(text) == (pytest.approx(ms) if ms is not None else None)


def test_ollama_verbose_output(tmp_path: Path) -> None:
    result = fixture(tmp_path, "ollama")
    truth = EXPECTED["ollama"]
    verbose = {r["metric"]: r["value"] for r in rows(result, source="tiny1b-verbose.txt")}
    assert verbose["latency_ms"] == truth["tiny1b-verbose.txt"]["total_duration_ms"]
    assert verbose["load_ms"] == pytest.approx(truth["tiny1b-verbose.txt"]["load_duration_ms"])
    assert verbose["throughput_tok_s"] == truth["tiny1b-verbose.txt"]["eval_rate_tok_s"]
    assert verbose["ttft_ms"] == pytest.approx(250.85)  # load + prompt eval, labelled server-side
    no_load = {r["metric"]: r["value"] for r in rows(result, source="tiny1b-no-load-line.txt")}
    assert "load_ms" not in no_load  # an omitted line is unrecorded, not zero
    assert no_load["throughput_tok_s"] == truth["tiny1b-no-load-line.txt"]["eval_rate_tok_s"]
    ids = json.loads(rows(result, source="tiny1b-verbose.txt")[0]["identifiers"])
    assert ids["prompt"] == "Tell me about the speed of light."


def test_ollama_verbose_markdown_with_ps_table_and_file_name(tmp_path: Path) -> None:
    stats = (FIXTURES / "ollama" / "tiny1b-verbose.txt").read_text().split("\n\n", 1)[1]
    with_ps = ("## Metrics\n```\nNAME           ID              SIZE      PROCESSOR    UNTIL\n"
               "tiny:1b        a42b25d8c10a    2.0 GB    100% GPU     4 minutes from now\n\n"
               + stats.replace("0.27 tokens/s", "41.50 tokens/s") + "```\n")
    result = ingest_files(tmp_path, {"data/Tiny_1b Raspberry Pi 4.md": "## Metrics\n```\n" + stats + "```\n",
                                     "data/tiny_1b 4060Ti_16gb.md": with_ps})
    by_file = {r["source"]: r for r in rows(result, metric="throughput_tok_s")}
    pi = by_file["data/Tiny_1b Raspberry Pi 4.md"]
    gpu = by_file["data/tiny_1b 4060Ti_16gb.md"]
    assert (pi["model"], decode(pi["context"])["hardware"]) == ("tiny:1b", "Raspberry Pi 4")
    assert (gpu["model"], decode(gpu["context"])["processor"]) == ("tiny:1b", "100% GPU")
    assert {pi["config"], gpu["config"]} == {"hardware=Raspberry Pi 4", "hardware=4060Ti_16gb"}
    assert result.inventory.model_origin["data/Tiny_1b Raspberry Pi 4.md"] == "file name: tiny:1b"


def test_ollama_api_json_nanoseconds(tmp_path: Path) -> None:
    doc = [{"model": "tiny:1b", "created_at": "2026-01-15T10:00:00Z", "done": True, "total_duration": 2_500_000_000,
            "load_duration": 1_200_000_000, "prompt_eval_count": 10, "prompt_eval_duration": 125_000_000,
            "eval_count": 200, "eval_duration": 2_000_000_000},
           {"model": "tiny:1b", "created_at": "2026-01-15T10:01:00Z", "done": False, "total_duration": 1,
            "eval_count": 0, "eval_duration": 0}]
    result = ingest_files(tmp_path, {"api.json": json.dumps(doc)})
    first = {r["metric"]: r["value"] for r in rows(result, request_id="api.json#0")}
    assert first == {"latency_ms": 2500.0, "load_ms": 1200.0, "prompt_eval_ms": 125.0, "eval_ms": 2000.0,
                     "prompt_tokens": 10.0, "output_tokens": 200.0, "ttft_ms": 1325.0, "throughput_tok_s": 100.0}
    assert {r["error"] for r in rows(result, request_id="api.json#1")} == {"done=false (the response did not finish)"}


# --- generic tables and the registry ---------------------------------------------------------------
def test_generic_unit_dictionary(tmp_path: Path) -> None:
    text = ("model,max_output_tokens_per_s,t/s,tokens/sec,latency_fortnights,latency\n"
            "m:1b,85,40,41,3,5\n")
    result = ingest_files(tmp_path, {"u.csv": text})
    assert not rows(result, unit="ms")  # '_per_s' is a rate: 85 never becomes 85,000 ms
    assert values(result, "throughput_tok_s") == [40.0]
    reasons = {w.reason for w in result.inventory.warnings if w.path == "u.csv"}
    assert "column 'latency_fortnights' not read: unknown unit 'fortnights'" in reasons
    assert "column 'latency' not read: no unit stated" in reasons


def test_registry_picks_the_surest_adapter_and_a_tie_goes_generic() -> None:
    serve = SourceFile(rel="r.json", fmt="json", text=json.dumps({"request_rate": 1, "burstiness": 1,
                                                                  "mean_ttft_ms": 5, "num_prompts": 2}))
    adapter, note = choose(serve)
    assert adapter is not None and adapter.name == "vllm" and not note
    text = SourceFile(rel="notes.txt", fmt="text", text="nothing to see")
    assert choose(text) == (None, "")
    both = SourceFile(rel="x.json", fmt="json", text=json.dumps(
        {"request_rate": 1, "burstiness": 1, "mean_ttft_ms": 5, "version": "1", "results_ttft_s_quantiles_p50": 1}))
    adapter, note = choose(both)
    assert adapter is not None and adapter.name == "generic" and "several tools" in note


def test_ollama_stats_found_whatever_the_case_of_their_names() -> None:
    # the detector's cheap test on the lowered text lets through every spelling of a stat's name
    # that counts (a name counts lowered: "İ"/"ı" lower to other letters than "i")
    for duration, found in (("eval duration", True), ("EVAL DURATION", True), ("Eval Duration", True),
                            ("eval durat\u0130on", False), ("eval durat\u0131on", False)):
        file = SourceFile(rel="run.txt", fmt="text", text=f"eval count: 12 token(s)\n{duration}: 1.5s\n")
        adapter, _ = choose(file)
        assert (adapter is not None and adapter.name == "ollama") is found, duration
    no_duration = SourceFile(rel="run.txt", fmt="text", text="eval count: 12 token(s)\nEval Duration 1.5s\n")
    assert choose(no_duration) == (None, "")


def test_a_csv_header_is_the_first_line_only() -> None:
    for text in ("avg_ts,n_prompt,n_gen\n1,2,3\n", "avg_ts,n_prompt,n_gen", "x\navg_ts,n_prompt,n_gen\n"):
        file = SourceFile(rel="r.csv", fmt="csv", text=text)
        assert file.first_line == text.split("\n", 1)[0]
    adapter, _ = choose(SourceFile(rel="r.csv", fmt="csv", text="model,avg_ts,n_prompt,n_gen\nm,1,2,3\n"))
    assert adapter is not None and adapter.name == "llama-bench"


def test_unnamed_models_from_two_files_never_merge(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {"a/results.csv": "tokens_s,ttft_s\n10,0.1\n12,0.2\n",
                                     "b/results.csv": "tokens_s,ttft_s\n100,0.1\n120,0.2\n"})
    analysis = analyze(result)
    assert sorted(m.model for m in analysis.models) == ["(model not stated) a/results.csv",
                                                        "(model not stated) b/results.csv"]
    assert sorted(m.throughput_tok_s["median"] for m in analysis.models) == [11.0, 110.0]
