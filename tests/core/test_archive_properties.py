"""Groups belong to their files: concatenating archives keeps every group's figures, and adding an
unrelated file never changes another file's groups (a seeded-random property test)."""

from __future__ import annotations

import json
import random
import shutil
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from bot.app import build_pipeline
from bot.core.analysis import analyze
from bot.core.dimensions import UNNAMED_MODEL
from bot.core.ingest import ingest_tree
from tests.factories import make_settings
from tests.paths import REAL_ARCHIVE, REALWORLD, REALWORLD_ARCHIVES, REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tools"


def _group_facts(groups: pd.DataFrame, prefix: str = "") -> dict[tuple[str, ...], tuple[int, int, float]]:
    """Each group as (model, metric, kind, its files) -> (n, failed, median); paths without ``prefix``."""
    out = {}
    for row in groups.to_dict(orient="records"):
        model = str(row["model"])
        if model.startswith(UNNAMED_MODEL) and prefix:
            model = model.replace(f"{UNNAMED_MODEL} {prefix}", f"{UNNAMED_MODEL} ", 1)
        sources = tuple(sorted(s[len(prefix):] if s.startswith(prefix) else s for s in str(row["sources"]).split("; ")))
        key = (model, str(row["metric"]), str(row["kind"]), *sources)
        median = float(row["median"]) if row["median"] == row["median"] else float("nan")
        out[key] = (int(row["n"]), int(row["failed"]), median)
    return out


def _aggregate_facts(aggregates: pd.DataFrame, prefix: str = "") -> list[tuple[str, ...]]:
    rows = []
    for row in aggregates.to_dict(orient="records"):
        source = str(row["source"])[len(prefix):] if str(row["source"]).startswith(prefix) else str(row["source"])
        rows.append((str(row["metric"]), str(row["statistic"]), source, f"{row['value']:.9g}"))
    return sorted(rows)


def _same(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key, (n, failed, median) in left.items():
        other = right[key]
        assert (n, failed) == other[:2], key
        assert median == pytest.approx(other[2], rel=1e-12, nan_ok=True), key


# --- every real archive in one tarball --------------------------------------------------------------
def _archives() -> dict[str, Path]:
    found = {name: REALWORLD / name for name in REALWORLD_ARCHIVES if (REALWORLD / name).is_dir()}
    if REAL_ARCHIVE.is_dir():
        found["chimera-reports"] = REAL_ARCHIVE
    if len(found) < 2:
        pytest.skip("the shared real archives are not present")
    return found


def test_all_real_archives_in_one_tarball_keep_every_groups_figures(tmp_path: Path) -> None:
    archives = _archives()
    tarball = tmp_path / "everything.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, path in archives.items():
            tar.add(path, arcname=name)
    settings = make_settings(storage_roots=[str(tmp_path / "none")], work_dir=tmp_path / "work")
    combined = build_pipeline(settings).run(str(tarball), use_llm=False, allow_local_paths=True).analysis
    for name, path in archives.items():
        alone = analyze(ingest_tree(path))
        prefix = f"{name}/"
        mine = combined.groups.loc[combined.groups["sources"].str.startswith(prefix)]
        assert len(mine) == len(alone.groups) > 0, name
        _same(_group_facts(alone.groups), _group_facts(mine, prefix))
        theirs = combined.aggregates.loc[combined.aggregates["source"].str.startswith(prefix)]
        assert _aggregate_facts(alone.aggregates) == _aggregate_facts(theirs, prefix), name


# --- adding an unrelated file -----------------------------------------------------------------------
def _base_archive(root: Path, rng: random.Random) -> None:
    """A few tools' files and a per-request CSV, in their own folders."""
    for tool in rng.sample(["llama-bench", "vllm", "llmperf", "genai-perf", "aiperf", "ollama"], 3):
        shutil.copytree(FIXTURES / tool, root / "base" / tool)
    rows = ["model,num_ctx,ttft_s,tokens_s,load_s,eval_s,eval_count,error"]
    for _ in range(rng.randint(4, 12)):
        rows.append(f"m:1b,{rng.choice([1024, 4096])},{rng.uniform(0.05, 0.3):.4f},{rng.uniform(40, 60):.3f},"
                    f"{rng.uniform(0.01, 0.05):.4f},1.0,{rng.randint(50, 200)},")
    (root / "base" / "runs").mkdir(parents=True)
    (root / "base" / "runs" / "results.csv").write_text("\n".join(rows) + "\n")


def _unrelated_file(rng: random.Random, index: int) -> tuple[str, str]:
    """A file of another model (or of none), in a folder of its own, in one of the formats we read."""
    kind = rng.choice(["csv", "jsonl", "llama-bench", "vllm", "markdown", "generic"])
    model = f"other-{index}:{rng.choice(['7b', '13b', 'latest'])}"
    folder = f"extra{index}/run{rng.randint(0, 99)}"
    if kind == "csv":
        lines = ["model,ttft_ms,tokens_s,temperature"] + [
            f"{model},{rng.uniform(50, 500):.2f},{rng.uniform(5, 300):.2f},{rng.choice([0.2, 0.8])}" for _ in range(5)]
        return f"{folder}/bench_{index}.csv", "\n".join(lines) + "\n"
    if kind == "jsonl":
        return f"{folder}/req_{index}.jsonl", "\n".join(json.dumps(
            {"model": model, "ttft_s": rng.uniform(0.05, 2), "tokens_s": rng.uniform(5, 90)}) for _ in range(4)) + "\n"
    if kind == "llama-bench":
        record = {"build_commit": "deadbeef", "build_number": 1, "model_filename": f"/m/{model}.gguf",
                  "model_type": "x", "n_prompt": 0, "n_gen": 64, "n_depth": rng.choice([0, 512]),
                  "test_time": f"2026-02-0{rng.randint(1, 9)}T10:00:00Z", "avg_ts": 50.0,
                  "samples_ts": [rng.uniform(40, 60) for _ in range(3)]}
        return f"{folder}/lb_{index}.jsonl", "ggml_init: noise\n" + json.dumps(record) + "\n"
    if kind == "vllm":
        doc = {"date": "20260201-101010", "model_id": model, "request_rate": rng.choice([1.0, "inf"]),
               "burstiness": 1.0, "num_prompts": 10, "completed": 10, "failed": 0,
               "median_ttft_ms": rng.uniform(10, 90), "mean_ttft_ms": rng.uniform(10, 90)}
        return f"{folder}/serve_{index}.json", json.dumps(doc)
    if kind == "markdown":
        table = f"| metric | value |\n|---|---|\n| mean ttft | {rng.randint(1, 900)} ms |\n"
        return f"{folder}/notes_{index}.md", f"# {model}\n\n{table}"
    return f"{folder}/stats_{index}.json", json.dumps({"cases": [{"name": f"c{i}", "mean_time_ms": rng.uniform(1, 9)}
                                                                for i in range(3)]})


@pytest.mark.parametrize("seed", range(12))
def test_adding_an_unrelated_file_never_changes_another_files_groups(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "archive"
    _base_archive(root, rng)
    before = analyze(ingest_tree(root))
    for index in range(rng.randint(1, 3)):
        rel, text = _unrelated_file(rng, index)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    after = analyze(ingest_tree(root))
    base = after.groups.loc[after.groups["sources"].map(lambda s: all(p.startswith("base/") for p in s.split("; ")))]
    assert len(base) == len(after.groups.loc[after.groups["sources"].str.contains("base/")])  # nothing mixed in
    # the same groups, with the same configuration keys and figures
    keys = ["model", "metric", "config", "kind"]
    left = before.groups.set_index(keys)[["n", "failed", "median"]].sort_index()
    right = base.set_index(keys)[["n", "failed", "median"]].sort_index()
    pd.testing.assert_frame_equal(left, right)
    base_aggregates = after.aggregates.loc[after.aggregates["source"].str.startswith("base/")]
    assert _aggregate_facts(before.aggregates) == _aggregate_facts(base_aggregates)
