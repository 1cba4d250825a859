"""JSON / JSONL ingest: Ollama results, llama-bench, vLLM, summaries, generic stats; malformed input."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest_support import ingest_files, skipped, values

LLAMA_BENCH = [
    {"build_commit": "abc", "model_filename": "/models/llama-2-7b.Q4_0.gguf", "model_type": "llama 7B Q4_0",
     "n_prompt": 512, "n_gen": 0, "n_threads": 8, "n_gpu_layers": 99, "avg_ns": 355000000,
     "stddev_ns": 1000000, "avg_ts": 1442.2, "stddev_ts": 4.1, "samples_ts": [1440.0, 1445.1, 1441.5]},
    {"build_commit": "abc", "model_filename": "/models/llama-2-7b.Q4_0.gguf", "model_type": "llama 7B Q4_0",
     "n_prompt": 0, "n_gen": 128, "n_threads": 8, "n_gpu_layers": 99, "avg_ns": 1200000000,
     "stddev_ns": 2000000, "avg_ts": 106.6, "stddev_ts": 0.3, "samples_ts": [106.3, 106.9, 106.6]},
]


def test_ollama_results_json_with_model_key(tmp_path: Path) -> None:
    doc = {"model": "gemma3:270m", "results": [
        {"prompt": "a", "ttft_s": 7.84, "tokens_s": 238.2, "load_s": 0.95, "eval_count": 374},
        {"prompt": "b", "ttft_s": 0.063, "tokens_s": 289.4, "load_s": 0.05, "eval_count": 34},
    ]}
    result = ingest_files(tmp_path, {"g/gemma3_270m_baseline.json": json.dumps(doc)})
    assert values(result, "throughput_tok_s", model="gemma3:270m") == [238.2, 289.4]
    assert values(result, "ttft_ms") == [63.0, 7840.0]


def test_success_false_records_are_failures(tmp_path: Path) -> None:
    doc = {"total_tests": 2, "overall_tokens_per_second": 14.5, "results": [
        {"test_name": "a", "error": "'charmap' codec can't encode", "success": False},
        {"test_name": "b", "generation_time_ms": 2622.9, "tokens": 37, "tokens_per_second": 14.1,
         "success": True},
    ]}
    result = ingest_files(tmp_path, {"baseline_test_results_1.json": json.dumps(doc)})
    m = result.measurements
    assert m.loc[m["failed"], "error"].unique().tolist() == ["'charmap' codec can't encode"]
    assert values(result, "throughput_tok_s") == [14.1]
    # the file's own overall figure is a claim, never a measurement
    assert "overall" in set(result.claims["statistic"])


def test_llama_bench_json_uses_samples(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {"llama-bench.json": json.dumps(LLAMA_BENCH)})
    m = result.measurements
    assert set(m["model"]) == {"llama-2-7b.Q4_0"}
    # tg (generation) and pp (prompt processing) are different metrics, never pooled; n_gen/n_prompt
    # are in every row's context (the configuration key names only what varies within a metric)
    tg = m.loc[m["metric"] == "throughput_tok_s"]
    assert sorted(tg["value"]) == [106.3, 106.6, 106.9]
    assert set(tg["kind"]) == {"sample"} and tg["request_id"].nunique() == 3
    assert all(json.loads(c)["n_gen"] == "128" for c in tg["context"])
    assert sorted(m.loc[m["metric"] == "prompt_throughput_tok_s", "value"]) == [1440.0, 1441.5, 1445.1]


def test_llama_bench_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = "\n".join(json.dumps(row) for row in LLAMA_BENCH) + "\n"
    csv_text = ("build_commit,model_filename,model_type,n_prompt,n_gen,avg_ns,stddev_ns,avg_ts,stddev_ts\n"
                "abc,/m/qwen2.5-7b-q8_0.gguf,qwen2 7B Q8_0,512,0,300000000,100,1700.5,3.2\n"
                "abc,/m/qwen2.5-7b-q8_0.gguf,qwen2 7B Q8_0,0,128,900000000,100,142.25,0.4\n")
    result = ingest_files(tmp_path, {"lb.jsonl": jsonl, "lb.csv": csv_text})
    m = result.measurements
    from_csv = m.loc[m["source"] == "lb.csv"]
    assert set(from_csv["kind"]) == {"aggregate"}  # no samples: the tool's own mean and std, kept apart
    assert sorted(from_csv.loc[from_csv["statistic"] == "mean", "value"]) == [142.25, 1700.5]
    assert sorted(from_csv.loc[from_csv["statistic"] == "std", "value"]) == [0.4, 3.2]
    assert set(from_csv["model"]) == {"qwen2.5-7b-q8_0"}
    assert len(m.loc[m["source"] == "lb.jsonl"]) == 6


def test_vllm_benchmark_serving_result(tmp_path: Path) -> None:
    doc = {"backend": "vllm", "model_id": "meta-llama/Llama-3.1-8B-Instruct", "completed": 3, "num_prompts": 4,
           "request_throughput": 2.1, "output_throughput": 410.0, "mean_ttft_ms": 150.0,
           "median_ttft_ms": 120.0, "p99_ttft_ms": 300.0, "mean_tpot_ms": 12.0, "median_e2el_ms": 2100.0,
           "ttfts": [0.1, 0.12, 0.23, 0.0], "output_lens": [200, 180, 220, 0],
           "input_lens": [50, 60, 55, 52], "errors": ["", "", "", "Server disconnected"]}
    result = ingest_files(tmp_path, {"vllm-result.json": json.dumps(doc)})
    m = result.measurements
    assert set(m.loc[m["kind"] == "request", "model"]) == {"meta-llama/Llama-3.1-8B-Instruct"}
    assert values(result, "ttft_ms") == [100.0, 120.0, 230.0]
    assert m.loc[m["failed"], "error"].unique().tolist() == ["Server disconnected"]
    claims = result.claims
    median = claims.loc[(claims["metric"] == "ttft_ms") & (claims["statistic"] == "median"), "value"]
    assert median.tolist() == [120.0]


def test_vllm_without_per_request_arrays_keeps_aggregates_apart(tmp_path: Path) -> None:
    doc = {"backend": "vllm", "model_id": "m", "completed": 100, "request_throughput": 2.1,
           "output_throughput": 410.0, "mean_ttft_ms": 150.0, "median_ttft_ms": 120.0}
    result = ingest_files(tmp_path, {"v.json": json.dumps(doc)})
    m = result.measurements
    assert set(m["kind"]) == {"aggregate"}
    median = m.loc[(m["metric"] == "ttft_ms") & (m["statistic"] == "median")]
    assert median["value"].tolist() == [120.0]
    assert set(median["n"]) == {100.0}  # the tool's n: completed requests
    # output_throughput is the server's output tokens over the run, not one request's generation
    # speed: it used to be read as throughput_tok_s, which pooled it with per-request rates
    assert m.loc[m["metric"] == "throughput_tok_s"].empty
    assert set(m.loc[m["metric"] == "output_throughput_tok_s", "value"]) == {410.0}
    assert set(m.loc[m["metric"] == "request_throughput_req_s", "statistic"]) == {"rate"}


def test_prompt_suite_summary_is_claims(tmp_path: Path) -> None:
    doc = {"generated_at": "x", "models": [{"model": "gemma3:latest", "completed": 5, "mean_ttft_s": 6.0998,
                                             "mean_tokens_s": 88.905}]}
    result = ingest_files(tmp_path, {"s/summary.json": json.dumps(doc)})
    assert result.measurements.empty
    claim = result.claims.loc[result.claims["metric"] == "ttft_ms"].iloc[0]
    assert (claim["model"], claim["statistic"], claim["value"]) == ("gemma3:latest", "mean", 6099.8)


def test_nested_generic_timings(tmp_path: Path) -> None:
    doc = {"attention": {"torch": {"mean_time_ms": 24.6, "std_time_ms": 73.2}},
           "fusion": {"fused_linear_gelu": {"mean_time_ms": 0.049, "std_time_ms": 0.0097}}}
    result = ingest_files(tmp_path, {"kernels.json": json.dumps(doc)})
    m = result.measurements
    means = m.loc[m["definition"] == "mean time"].set_index("config")["value"].to_dict()
    # the JSON path of each record is its `section` dimension (it was a `case` config key)
    assert means == {"section=attention/torch": 24.6, "section=fusion/fused_linear_gelu": 0.049}


def test_truncated_and_invalid_json_are_skipped_with_reason(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {
        "truncated.json": '{"model": "m", "results": [{"ttft_s": 0.1, "tokens_s"',
        "not_metrics.json": '{"cpu_percent": 12.3, "name": "x"}',
        "deep.json": "[" * 5000 + "]" * 5000,
    })
    reasons = skipped(result)
    assert reasons["truncated.json"].startswith("not a table: invalid JSON")
    assert reasons["not_metrics.json"].startswith("not a table")
    assert "deep.json" in reasons


def test_jsonl_with_bad_lines(tmp_path: Path) -> None:
    text = ('{"model": "m:1b", "tokens_s": 10, "ttft_ms": 100}\n'
            'not json\n'
            '{"model": "m:1b", "tokens_s": 12, "ttft_ms": 90}\n')
    result = ingest_files(tmp_path, {"r.jsonl": text})
    assert values(result, "throughput_tok_s") == [10.0, 12.0]
    assert "1 unreadable JSON line" in result.inventory.warnings[0].reason


def test_vllm_ttft_is_labelled_client_side(tmp_path: Path) -> None:
    doc = {"backend": "vllm", "model_id": "m", "completed": 2, "request_throughput": 1.0,
           "ttfts": [0.1, 0.2], "output_lens": [10, 12], "errors": ["", ""]}
    result = ingest_files(tmp_path, {"v.json": json.dumps(doc)})
    m = result.measurements
    assert set(m.loc[m["metric"] == "ttft_ms", "definition"]) == {
        "client-side: request sent to first streamed token (vLLM benchmark_serving)"}


def test_escaped_nul_characters_are_dropped(tmp_path: Path) -> None:
    doc = '{"model": "m\\u0000:1b", "results": [{"tokens_s": 10, "ttft_s": 0.1, "error": "x\\u0000"}]}'
    result = ingest_files(tmp_path, {"nul.json": doc})
    m = result.measurements
    assert set(m["model"]) == {"m:1b"} and set(m["error"]) == {"x"}
    assert not m["model"].str.contains("\x00").any()
