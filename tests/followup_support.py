"""Shared data for the follow-up tests (core, render and flows): per-request benchmark rows as a
benchmark writes them, those rows ingested the real way, and two stored facts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bot.core.types import Fact
from tests.ingest_support import ingest_files

HEADER = "model,num_ctx,ttft_s,tokens_s,load_s,eval_s,eval_count,error\n"


def raw_rows() -> list[dict[str, object]]:
    """Per-request rows as a benchmark would write them; the first of each block is a cold start."""
    rows: list[dict[str, object]] = []
    for m_index, model in enumerate(("llama3.1:8b-instruct-q8_0", "gemma3:1b")):
        for ctx in (1024, 4096):
            for i in range(7):
                cold = i == 0
                rows.append({
                    "model": model, "num_ctx": ctx,
                    "ttft_s": 2.5 + 0.1 * i if cold else 0.08 + 0.013 * i + 0.02 * m_index + ctx / 100_000,
                    "tokens_s": 40.0 + 3.7 * i + 50 * m_index - ctx / 1024,
                    "load_s": 2.4 if cold else 0.04 + 0.001 * i,
                    "eval_s": 1.1 + 0.17 * i - 0.3 * m_index + ctx / 20_000,
                    "eval_count": 120, "error": "",
                })
        rows.append({"model": model, "num_ctx": 1024, "ttft_s": 0.0, "tokens_s": 0.0, "load_s": 0.0,
                     "eval_s": 0.0, "eval_count": 0, "error": "timeout"})
    return rows


def csv_text(rows: list[dict[str, object]]) -> str:
    return HEADER + "".join(",".join(str(r[c]) for c in HEADER.strip().split(",")) + "\n" for r in rows)


def ingested_measurements(tmp_path: Path) -> pd.DataFrame:
    """`raw_rows` as ``runs/results.csv`` in an archive under ``tmp_path``, read by the real ingest."""
    return ingest_files(tmp_path, {"runs/results.csv": csv_text(raw_rows())}).measurements


FACTS = [
    Fact("Q1", "p95 latency of llama3.1:8b-instruct-q8_0 over 12 successful requests.", 1642.4, "ms",
         ("runs/results.csv",), importance=100, model="llama3.1:8b-instruct-q8_0", metric="latency_ms", rows=12),
    Fact("F1", "Highest median throughput: gemma3:1b at 92.0 tok/s (n=14).", 92.0, "tok/s",
         ("runs/results.csv",), importance=90, model="gemma3:1b", metric="throughput_tok_s", rows=14),
]
