"""Markdown ingest: pipe tables (also glued to surrounding text), headings, `key: value` lines — as claims."""

from __future__ import annotations

from pathlib import Path

from tests.ingest_support import ingest_files, skipped

GLUED = ("# Ollama Summary ## Baseline (llama3.1:8b-instruct-q4_0)\n"
         "- Tokens per second: 7.90\n"
         "Best throughput with q4_0 at 76.59 tokens/s. | tag | mean_tokens_s | median_tokens_s | mean_ttft_s |\n"
         "| --- | --- | --- | --- |\n"
         "| q4_0 | 76.59 | 76.88 | 0.097 |\n"
         "| q8_0 | 46.57 | 46.64 | 2.008 | Plots: artifacts/x.png ## Parameter Sweep\n")


def test_glued_table_and_key_value_lines(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {"summary.md": GLUED})
    claims = result.claims
    assert result.measurements.empty
    table = claims.loc[claims["config"] == "tag=q8_0"]
    assert sorted(zip(table["statistic"], table["metric"], table["value"], strict=True)) == [
        ("mean", "throughput_tok_s", 46.57), ("mean", "ttft_ms", 2008.0), ("median", "throughput_tok_s", 46.64)]
    kv = claims.loc[claims["config"] == ""]
    assert kv["model"].tolist() == ["llama3.1:8b-instruct-q4_0"]  # from the heading
    assert kv["value"].tolist() == [7.9]
    # the shown precision travels with the claim: 0.097 s is ±0.5 ms
    assert abs(table.loc[table["metric"] == "ttft_ms", "precision"].item() - 0.5) < 1e-9


def test_metric_value_table_is_read_as_one_record(tmp_path: Path) -> None:
    text = ("## Quick Stats\n\n| Metric | Value |\n|--------|-------|\n| **Model** | gemma3:latest |\n"
            "| **Mean Throughput** | 102.85 tokens/s |\n| **Mean TTFT** | 0.165 s (warm) |\n")
    result = ingest_files(tmp_path, {"SUMMARY.md": text})
    claims = result.claims.set_index("metric")
    assert claims.loc["throughput_tok_s", "value"] == 102.85
    assert claims.loc["ttft_ms", "value"] == 165.0
    assert set(claims["model"]) == {"gemma3:latest"}


def test_markdown_without_numbers_is_skipped(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {"notes.md": "# Lessons\n\nWe learned things.\n"})
    assert skipped(result)["notes.md"].startswith("not a table")


def test_compile_table_claims_have_backend_config(tmp_path: Path) -> None:
    text = ("# Compilation Benchmark\n- DType: float32 | Backend | Success | Mean (ms) | Std (ms) |\n"
            "| --- | --- | --- | --- |\n| eager | yes | 0.493 | 0.140 |\n| onnx | yes | 0.051 | 0.009 |\n")
    result = ingest_files(tmp_path, {"c.md": text})
    claims = result.claims
    assert set(claims["config"]) == {"backend=eager", "backend=onnx"}
    assert claims.loc[(claims["config"] == "backend=onnx") & (claims["statistic"] == "mean"), "value"].item() == 0.051


def test_table_without_closing_pipes_under_a_heading_with_plus_minus_cells(tmp_path: Path) -> None:
    # llama-bench `-o md` style cells ('404.67 ± 3.65': mean ± std), rows without a closing pipe,
    # a header with empty cells, and the model named by the heading above the table
    text = ("## Results for gemma3:1b\n\n"
            "| | tokens/s | ttft (ms)\n"
            "|---|---|---\n"
            "| run a | 404.67 ± 3.65 | 120\n"
            "| run b | 398.10 +/- 2.0 | 125\n")
    result = ingest_files(tmp_path, {"notes.md": text})
    claims = result.claims
    tput = claims.loc[claims["metric"] == "throughput_tok_s"]
    assert sorted(tput["value"]) == [398.1, 404.67]
    assert set(tput["model"]) == {"gemma3:1b"} and set(tput["context"]) == {"Results for gemma3:1b"}
    assert sorted(claims.loc[claims["metric"] == "ttft_ms", "value"]) == [120.0, 125.0]
