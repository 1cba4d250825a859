"""The generated example archives against the REAL pipeline.

`scripts.examplegen` writes an archive and computes, independently of ingest/analysis, what a careful
analyst must find in it (the `Manifest`). These tests run `run_analysis` on it — and on the bundled
`examples/example-archive.tar.gz` — and hold the JSON document to that truth.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.app import build_pipeline
from bot.flows.pipeline import RunResult
from bot.settings import Settings
from scripts.examplegen import Manifest, files_for_scale, generate_archive, pack_tar_gz
from tests.factories import make_settings
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
BUNDLED = ROOT / "examples" / "example-archive.tar.gz"
SCRIPT = ROOT / "scripts" / "make_example_archive.py"


def _settings(tmp: Path) -> Settings:
    return make_settings(work_dir=tmp / "work", storage_roots=[str(tmp / "roots")])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, RunResult]:
    """A scale-2 archive (two rounds: per-model numbers pool several files) and its analysis."""
    tmp = tmp_path_factory.mktemp("examplegen")
    manifest = generate_archive(tmp / "archive", seed=11, scale=2)
    result = build_pipeline(_settings(tmp)).run(str(tmp / "archive"), use_llm=False, allow_local_paths=True)
    return manifest, result


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, RunResult]:
    tmp = tmp_path_factory.mktemp("bundled")
    # The bundled tarball holds generate_archive(seed=7, scale=1) under 'example-archive/'.
    manifest = generate_archive(tmp / "truth", seed=7, scale=1).prefixed("example-archive/")
    result = build_pipeline(_settings(tmp)).run(str(BUNDLED), use_llm=False, allow_local_paths=True)
    return manifest, result


def _models(data: dict) -> dict[str, dict]:
    return {m["model"]: m for m in data["models"]}


def _config_dict(config: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in config.split(",") if "=" in part)


# ----------------------------------------------------------------------------- the generator
def test_generator_is_deterministic_and_writes_the_promised_file_count(tmp_path: Path) -> None:
    a = generate_archive(tmp_path / "a", seed=3, scale=3)
    b = generate_archive(tmp_path / "b", seed=3, scale=3)
    generate_archive(tmp_path / "c", seed=4, scale=3)
    assert a.files == b.files and len(a.files) == files_for_scale(3)
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in a.files)
    assert any((tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes() for f in a.files)
    assert sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file()) \
        == a.files
    # every kind of mess is there
    assert a.wrong_claim is not None and a.wrong_claim.claimed < a.wrong_claim.actual
    assert sorted(a.skipped.values()) == ["empty", "undecodable"]
    assert len(a.duplicates) == 2
    assert all(m.cold_starts == 3 for m in a.models.values() if m.source_kind == "ollama")
    assert sum(m.failed for m in a.models.values() if m.source_kind == "ollama") >= 1


def test_generator_rejects_a_bad_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_archive(tmp_path, scale=0)


# ------------------------------------------------------------------ pipeline vs. manifest (shared)
def _check_requests_and_models(manifest: Manifest, data: dict) -> None:
    # llama-bench samples are repetitions of a tool's test, counted apart from LLM requests
    assert data["requests"]["total"] == manifest.requests_total
    assert data["requests"]["samples"] == manifest.samples_total
    assert data["requests"]["failed"] == manifest.failed_total
    models = _models(data)
    assert set(models) == set(manifest.models)
    for name, truth in manifest.models.items():
        got = models[name]
        assert got["failed"] == truth.failed, name
        assert got["cold_starts"] == truth.cold_starts, name
        assert got["n"] == truth.n, name
        expected_tps = truth.throughput_median
        if expected_tps is None:
            assert got["throughput_tok_s"]["median"] is None, name
        else:
            assert got["throughput_tok_s"]["median"] == pytest.approx(expected_tps, rel=1e-12, abs=0), name
        if truth.ttft_median_ms is None:
            assert got["ttft_ms"]["median"] is None, name  # llama-bench records no TTFT
        else:
            assert got["ttft_ms"]["median"] == pytest.approx(truth.ttft_median_ms, rel=1e-12, abs=0), name


def _check_inventory(manifest: Manifest, data: dict) -> None:
    inventory = data["inventory"]
    assert inventory["files_total"] == len(manifest.files)
    skipped = {s["path"]: s["reason"] for s in inventory["skipped"]}
    assert set(skipped) == set(manifest.skipped), "exactly the broken files are skipped"
    for path, keyword in manifest.skipped.items():
        assert keyword in skipped[path].lower(), (path, skipped[path])
    assert sorted(tuple(d) for d in inventory["duplicates"]) == sorted(manifest.duplicates)


def _wrong_claim_hit(manifest: Manifest, data: dict) -> dict:
    """The wrong summary value is reported once, pinned to its model and configuration."""
    wrong = manifest.wrong_claim
    assert wrong is not None
    hits = [m for m in data["claims"]["mismatches"]
            if m["source"] == wrong.source and m["metric"] == wrong.metric and m["statistic"] == wrong.statistic
            and m["claimed"] == pytest.approx(wrong.claimed)]
    assert len(hits) == 1, data["claims"]["mismatches"]
    hit = hits[0]
    assert hit["model"] == wrong.model
    assert _config_dict(hit["config"]) == _config_dict(wrong.config)
    return hit


def _check_wrong_claim_against_its_own_run(manifest: Manifest, hit: dict) -> None:
    """…and compared with the raw rows of its own run, whose true mean it states, with the cause."""
    wrong = manifest.wrong_claim
    assert wrong is not None
    assert hit["raw_sources"] == [wrong.raw_source]
    assert hit["actual"] == pytest.approx(wrong.actual, rel=1e-9)
    assert "failed" in hit["explanation"]


def test_generated_archive_models_match_the_truth(generated: tuple[Manifest, RunResult]) -> None:
    manifest, result = generated
    _check_requests_and_models(manifest, result.data)


def test_generated_archive_inventory_lists_skipped_files_and_duplicates(generated: tuple[Manifest, RunResult]) -> None:
    manifest, result = generated
    _check_inventory(manifest, result.data)


def test_generated_archive_wrong_summary_value_is_reported(generated: tuple[Manifest, RunResult]) -> None:
    manifest, result = generated
    hit = _wrong_claim_hit(manifest, result.data)
    assert hit["claimed"] < hit["actual"]


def test_generated_archive_wrong_summary_value_is_checked_against_its_own_run(
        generated: tuple[Manifest, RunResult]) -> None:
    manifest, result = generated
    _check_wrong_claim_against_its_own_run(manifest, _wrong_claim_hit(manifest, result.data))


def test_generated_archive_llama_bench_per_test_medians(generated: tuple[Manifest, RunResult]) -> None:
    """pp512 and tg128 of each llama.cpp model file are separate groups with their own medians: tg tests
    measure generation speed, pp tests prompt processing (two metrics, never pooled)."""
    manifest, result = generated
    groups = result.data["groups"]
    for name, truth in manifest.models.items():
        if truth.source_kind != "llama-bench":
            continue
        for (n_prompt, n_gen), samples in truth.by_test.items():
            metric = "throughput_tok_s" if n_gen else "prompt_throughput_tok_s"
            rows = [g for g in groups if g["model"] == name and g["metric"] == metric]
            assert len(rows) == 1, (name, n_prompt, n_gen, rows)
            assert rows[0]["kind"] == "sample" and rows[0]["n"] == len(samples)
            assert rows[0]["median"] == pytest.approx(float(np.median(samples)), rel=1e-12, abs=0)


def test_generated_archive_compile_benchmark_claims_check_out(generated: tuple[Manifest, RunResult]) -> None:
    """The non-LLM compile benchmark becomes generic measurements its Markdown table is checked against."""
    manifest, result = generated
    generic = result.analysis.generic
    means = generic.loc[generic["definition"].str.startswith("mean")]
    for backend, mean_ms in manifest.compile_means_ms.items():
        rows = means.loc[means["config"].map(lambda c: _config_dict(c).get("backend")) == backend, "value"]
        assert list(rows) == [pytest.approx(mean_ms, rel=1e-12)], backend
    checks = [c for c in result.analysis.claim_checks if c.source.startswith("compile/")]
    assert len(checks) == 4 * len(manifest.compile_means_ms)  # mean/std/min/max per backend
    assert {c.status for c in checks} == {"match"}


def test_generated_archive_reports_no_false_mismatches(generated: tuple[Manifest, RunResult]) -> None:
    """Every other claim the archive makes is right (by its own tool's definitions): exactly one mismatch."""
    manifest, result = generated
    assert manifest.wrong_claim is not None
    mismatches = result.data["claims"]["mismatches"]
    assert [(m["source"], m["statistic"], m["claimed"]) for m in mismatches] == [
        (manifest.wrong_claim.source, manifest.wrong_claim.statistic, manifest.wrong_claim.claimed)]


def test_generated_archive_llama_bench_model_throughput_is_generation_speed(
        generated: tuple[Manifest, RunResult]) -> None:
    manifest, result = generated
    models = _models(result.data)
    for name, truth in manifest.models.items():
        if truth.source_kind == "llama-bench":
            assert models[name]["throughput_tok_s"]["median"] == pytest.approx(truth.throughput_median, rel=1e-12)


# ----------------------------------------------------------------------------- the bundled file
def test_bundled_archive_matches_the_truth(bundled: tuple[Manifest, RunResult]) -> None:
    manifest, result = bundled
    assert BUNDLED.stat().st_size < 60_000
    _check_requests_and_models(manifest, result.data)
    _check_inventory(manifest, result.data)
    _check_wrong_claim_against_its_own_run(manifest, _wrong_claim_hit(manifest, result.data))
    assert manifest.wrong_claim is not None
    assert "## " in result.report_md and manifest.wrong_claim.model in result.report_md


def test_bundled_archive_is_what_the_script_makes_today(tmp_path: Path) -> None:
    """The script is deterministic and the bundled tarball has not drifted from the generator."""
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    for out in (first, second):
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True,
                       cwd=ROOT, timeout=60)
    assert first.read_bytes() == second.read_bytes()
    fresh, bundled = first.read_bytes(), BUNDLED.read_bytes()
    assert gzip.decompress(fresh) == gzip.decompress(bundled), (
        "examples/example-archive.tar.gz is stale: run scripts/make_example_archive.py")
    assert fresh[4:8] == b"\0\0\0\0", "gzip header mtime must be 0"
    assert fresh == bundled, "same tar, different compression: was the bundled file made with another zlib?"


def test_pack_tar_gz_ignores_file_times(tmp_path: Path) -> None:
    generate_archive(tmp_path / "t", seed=5, scale=1)
    pack_tar_gz(tmp_path / "t", tmp_path / "one.tar.gz", arc_prefix="x/")
    for path in (tmp_path / "t").rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    pack_tar_gz(tmp_path / "t", tmp_path / "two.tar.gz", arc_prefix="x/")
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
