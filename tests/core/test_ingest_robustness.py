"""Odd, hostile or nonsensical file contents never crash ingest, analysis or rendering.

A seeded generator mixes the keys real tools write with values of every wrong type (None, bools,
lists where numbers belong, 'inf', '12 ms', 10**20, nested junk). Every file must end up read or
skipped with a reason — never as an internal error — and the report must render.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot.core.analysis import analyze
from bot.render.report import build_json, render_markdown
from tests.ingest_support import ingest_files

KEYS = ["model", "ttft_s", "tokens_s", "load_s", "eval_count", "error", "success", "num_ctx", "options",
        "samples_ts", "avg_ts", "n_prompt", "n_gen", "mean_tokens_s", "median_ttft_ms", "ttfts",
        "output_lens", "errors", "request_throughput", "latency_ms", "Tokens per Second", "backend",
        "mean_time_ms", "config_name", "tag", "model_filename", "results", "p95", "status", "temperature"]
VALUES = [None, True, False, 0, -1, 1e308, 0.5, "", "nan", "1,2", "12 ms", "abc", "1e5", 3, "inf", "-",
          [1, 2], {"a": 1}, '{"temperature": 0.3}', "x" * 50, 10**20, "<!channel>", "| pipe |"]


def _value(rng: random.Random, depth: int = 0) -> object:
    r = rng.random()
    if depth < 3 and r < 0.15:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 3 and r < 0.3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return rng.choice(VALUES)


def _record(rng: random.Random) -> dict[str, object]:
    return {rng.choice(KEYS): _value(rng, 1) for _ in range(rng.randint(1, 6))}


def _file(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["json", "jsonl", "csv", "md"])
    if kind == "json":
        doc = rng.choice([_value(rng), [_record(rng) for _ in range(4)],
                          {"model": _value(rng), "results": [_record(rng) for _ in range(3)]}])
        return "f.json", json.dumps(doc)
    if kind == "jsonl":
        return "f.jsonl", "\n".join(json.dumps(_record(rng)) for _ in range(4))
    cols = rng.sample(KEYS, rng.randint(1, 6))
    if kind == "csv":
        rows = [",".join(str(_value(rng, 2)).replace(",", ";") for _ in cols[: rng.randint(0, len(cols) + 1)])
                for _ in range(rng.randint(0, 6))]
        return "f.csv", "\n".join([",".join(cols), *rows])
    rows = ["| " + " | ".join(str(_value(rng, 2)) for _ in cols) + " |" for _ in range(3)]
    return "f.md", "\n".join(["# run gemma3:1b", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                              *rows, "- Tokens per second: 7.9"])


@pytest.mark.parametrize("seed", range(6))
def test_odd_contents_are_read_or_skipped_with_a_reason(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for case in range(40):
        name, text = _file(rng)
        result = ingest_files(tmp_path / str(case), {name: text})
        for skipped in result.inventory.skipped:
            assert skipped.reason and "internal error" not in skipped.reason, (name, text[:300])
        analysis = analyze(result)
        render_markdown(archive="fuzz", analysis=analysis, inventory=result.inventory, narrative=None)
        json.dumps(build_json(archive="fuzz", analysis=analysis, inventory=result.inventory, narrative=None,
                              timings_s={}), allow_nan=False)  # strict JSON for users' tooling
