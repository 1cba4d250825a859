"""CSV ingest: Ollama-style per-request results, generic tables, and their malformed variants."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest_support import ingest_files, skipped, values

OLLAMA_HEADER = ('"timestamp","model","num_gpu","num_ctx","temperature","ttft_s","tokens_s","load_s",'
                 '"prompt_eval_s","eval_s","prompt_eval_count","eval_count","total_tokens","response_chars","error"\n')


def _ollama_row(model: str, ttft: str, tps: str, load: str, eval_count: str = "100", error: str = "",
                ctx: str = "1024") -> str:
    return (f'"2025-09-30T20:11:33","{model}","999","{ctx}","0.2","{ttft}","{tps}","{load}","0.01","1.2",'
            f'"25","{eval_count}","125","500","{error}"\n')


def test_ollama_rows_become_canonical_measurements(tmp_path: Path) -> None:
    text = OLLAMA_HEADER + _ollama_row("llama3.1:8b-instruct-q4_0", "5.7669", "77.5", "5.5808") + \
        _ollama_row("llama3.1:8b-instruct-q4_0", "0.0865", "77.93", "0.0817")
    result = ingest_files(tmp_path, {"runs/tuning.csv": text})
    assert values(result, "ttft_ms") == [86.5, 5766.9]  # seconds -> ms
    assert values(result, "throughput_tok_s") == [77.5, 77.93]
    assert values(result, "load_ms") == [81.7, 5580.8]
    assert values(result, "output_tokens") == [100.0, 100.0]
    m = result.measurements
    assert set(m["model"]) == {"llama3.1:8b-instruct-q4_0"}
    # every setting is in each row's context; none varies, so the configuration key is empty
    assert set(m["config"]) == {""}
    contexts = {c for c in m["context"]}
    assert len(contexts) == 1
    assert json.loads(contexts.pop()) == {"file": "tuning", "folder": "runs", "num_ctx": "1024", "num_gpu": "999",
                                          "temperature": "0.2"}
    assert {json.loads(i)["timestamp"] for i in result.stored_measurements()["identifiers"]} == {"2025-09-30T20:11:33"}
    assert set(m["unit"][m["metric"] == "ttft_ms"]) == {"ms"}
    assert not m["failed"].any()
    # total_tokens (prompt + output) is not a per-request output count
    assert values(result, "output_tokens") == [100.0, 100.0]


def test_failed_requests_stored_as_zeros_are_failures(tmp_path: Path) -> None:
    text = OLLAMA_HEADER + _ollama_row("m:1b", "0.0", "0.00", "0.0", eval_count="0",
                                       error="Failed to connect to Ollama") + \
        _ollama_row("m:1b", "0.0", "0.00", "0.0", eval_count="0") + \
        _ollama_row("m:1b", "0.1", "50.0", "0.05")
    result = ingest_files(tmp_path, {"r.csv": text})
    m = result.measurements
    failed = m.loc[m["failed"]].drop_duplicates("request_id")
    assert sorted(failed["error"]) == ["Failed to connect to Ollama", "zero output tokens"]
    assert values(result, "throughput_tok_s") == [50.0]  # only the successful one is not failed


def test_success_false_column_marks_failure(tmp_path: Path) -> None:
    text = ("Test Name,Generation Time (ms),Tokens,Tokens per Second,Success\n"
            "a,3089.02,44,14.24,TRUE\n"
            "b,2000,40,20.0,FALSE\n")
    result = ingest_files(tmp_path, {"summary.csv": text})
    assert values(result, "throughput_tok_s") == [14.24]
    assert values(result, "throughput_tok_s", failed=True) == [20.0]
    assert values(result, "latency_ms") == [3089.02]


def test_title_case_and_quoted_values(tmp_path: Path) -> None:
    text = '"Model","Tokens Per Second","Latency (ms)"\n"gemma3:270m","290.5","1,234.5"\n'
    result = ingest_files(tmp_path, {"t.csv": text})
    assert values(result, "throughput_tok_s", model="gemma3:270m") == [290.5]
    assert values(result, "latency_ms") == [1234.5]


def test_mixed_units_in_values_override_the_column_unit(tmp_path: Path) -> None:
    text = "model,ttft_s,tokens_s\nm:1b,870 ms,40\nm:1b,1.2 s,41\nm:1b,0.5,42\n"
    result = ingest_files(tmp_path, {"mixed.csv": text})
    assert values(result, "ttft_ms") == [500.0, 870.0, 1200.0]


def test_ragged_csv_keeps_good_rows_and_says_what_was_dropped(tmp_path: Path) -> None:
    text = "model,tokens_s,ttft_s\nm:1b,10,0.1\nm:1b,11,0.2,EXTRA,FIELDS\nm:1b,12,0.3\n"
    result = ingest_files(tmp_path, {"ragged.csv": text})
    assert values(result, "throughput_tok_s") == [10.0, 12.0]
    warnings = {w.path: w.reason for w in result.inventory.warnings}
    assert "ragged" in warnings["ragged.csv"]


def test_semicolon_delimited(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {"s.csv": "model;tokens_s;ttft_ms\nm:1b;10;100\nm:1b;12;90\n"})
    assert values(result, "ttft_ms") == [90.0, 100.0]


def test_non_utf8_and_empty_and_header_only_are_skipped_with_reasons(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {
        "latin.csv": "model,tokens_s\ncaf\xe9,10\n".encode("latin-1"),
        "empty.csv": b"",
        "header_only.csv": "model,tokens_s\n",
        "prose.csv": "just some words\n",
    })
    reasons = skipped(result)
    assert reasons["latin.csv"].startswith("undecodable bytes")
    assert reasons["empty.csv"] == "empty (0 bytes)"
    assert "header_only.csv" in reasons
    assert reasons["prose.csv"].startswith("not a table")
    assert result.measurements.empty


def test_model_from_sibling_file_and_from_file_name(tmp_path: Path) -> None:
    rows = "num_gpu,num_ctx,temperature,ttft_s,tokens_s,load_s,eval_count,error\n999,1024,0.2,0.1,290,0.05,100,\n"
    result = ingest_files(tmp_path, {
        "g/gemma3_270m_baseline.json":
            '{"model": "gemma3:270m", "results": [{"ttft_s": 0.2, "tokens_s": 280, "eval_count": 5}]}',
        "g/gemma3_270m_param_tuning.csv": rows,
        "h/qwen2_7b_param_tuning.csv": rows.replace("290", "95"),
    })
    m = result.measurements
    assert set(m.loc[m["source"] == "g/gemma3_270m_param_tuning.csv", "model"]) == {"gemma3:270m"}
    assert set(m.loc[m["source"] == "h/qwen2_7b_param_tuning.csv", "model"]) == {"qwen2:7b"}
    assert result.inventory.model_origin["g/gemma3_270m_param_tuning.csv"] == "sibling file: gemma3:270m"


def test_summary_csv_is_kept_as_claims_not_measurements(tmp_path: Path) -> None:
    text = "num_gpu,num_ctx,temperature,mean_tokens_s,mean_ttft_s\n40,1024,0.2,77.29,3.2022\n"
    result = ingest_files(tmp_path, {"tuning_summary.csv": text})
    assert result.measurements.empty
    claims = result.claims
    assert set(claims["metric"]) == {"throughput_tok_s", "ttft_ms"}
    assert set(claims["statistic"]) == {"mean"}
    assert claims.loc[claims["metric"] == "ttft_ms", "value"].item() == 3202.2
    assert result.inventory.claims_only == ["tuning_summary.csv"]


def test_options_json_column_becomes_configuration(tmp_path: Path) -> None:
    text = ('timestamp,model,ttft_s,tokens_s,eval_count,error,options\n'
            '2025,m:1b,0.1,50,10,,"{""temperature"":0.3,""top_p"":0.9}"\n')
    result = ingest_files(tmp_path, {"runs.csv": text})
    context = json.loads(result.measurements["context"].iloc[0])
    assert (context["temperature"], context["top_p"]) == ("0.3", "0.9")


def test_generic_non_llm_timings(tmp_path: Path) -> None:
    text = "backend,compile_time_s,mean_time_ms,std_time_ms\neager,0,0.49,0.14\njit,0.0576,0.63,0.28\n"
    result = ingest_files(tmp_path, {"compile.csv": text})
    m = result.measurements
    assert set(m["kind"]) == {"generic"}
    means = m.loc[m["definition"] == "mean time"].set_index("config")["value"].to_dict()
    assert means == {"backend=eager": 0.49, "backend=jit": 0.63}
    compile_eager = m.loc[(m["definition"] == "compile time") & (m["config"] == "backend=eager")]
    assert compile_eager["failed"].item()  # 0 s: no compilation happened (stored as zero)


def test_values_beyond_float_range_are_not_numbers(tmp_path: Path) -> None:
    text = f"model,ttft_s,tokens_s\nm:1b,1e308,{10**400}\nm:1b,0.1,50\n"
    result = ingest_files(tmp_path, {"huge.csv": text})
    assert values(result, "ttft_ms") == [100.0]  # 1e308 s is inf ms: dropped, not averaged
    assert values(result, "throughput_tok_s") == [50.0]
