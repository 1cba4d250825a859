"""Real objects for tests: the one settings factory, and analysis results built by the real code.

`make_settings` is how every test gets `Settings` (never a developer's .env). `run_result` runs the
real ingest, analysis and renderers on a small per-request CSV, so a test that scripts the
pipeline (`tests.slack_support.ScriptedRun`) still hands the Slack layer a genuine `RunResult`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bot.core.analysis import analyze
from bot.core.ingest import ingest_tree
from bot.core.narrative import Narrative
from bot.core.types import Fact
from bot.flows.pipeline import RunResult, render_run
from bot.settings import Settings


def make_settings(**values: Any) -> Settings:
    """Settings from ``values`` alone: no .env file is read."""
    return Settings(_env_file=None, **values)

# Five requests per model; a failed one for llama3.1:8b (stored as zeros, as benchmark scripts do).
# gemma3:270m: median throughput 290.1 tok/s; TTFT median 150 ms and p95 400 ms (numpy linear:
# 200 + 0.8 * (450 - 200)).
SAMPLE_CSV = """model,tokens_s,ttft_ms,error
gemma3:270m,288.0,100,
gemma3:270m,290.1,120,
gemma3:270m,292.0,150,
gemma3:270m,289.0,200,
gemma3:270m,295.0,450,
llama3.1:8b,46.0,280,
llama3.1:8b,46.6,290,
llama3.1:8b,47.0,300,
llama3.1:8b,46.9,310,
llama3.1:8b,0,0,timeout
"""
SAMPLE_BEST_THROUGHPUT = 290.1


def run_result(target: str, narrative: str = "gemma3:270m is fastest [F3].", *,
               csv: str = SAMPLE_CSV) -> RunResult:
    """The result the real pipeline gives for an archive holding ``csv`` as ``results.csv``, with a
    narrative whose Slack summary is ``narrative`` (the model's part, scripted)."""
    with tempfile.TemporaryDirectory(prefix="chimera-test-result-") as tmp:
        (Path(tmp) / "results.csv").write_text(csv, encoding="utf-8")
        ingest = ingest_tree(Path(tmp))
    analysis = analyze(ingest)
    story = Narrative(status="ok", model="gemma3:test", summary_md=narrative, short_summary=narrative)
    return render_run(target, ingest, analysis, story, timings={"fetch": 0.0, "ingest": 0.0, "analysis": 0.0})


FIXTURES = Path(__file__).parent / "fixtures"


def chimera_reports_facts() -> list[Fact]:
    """The 73 facts of ../shared/data/chimera-reports, frozen (the bad-sentence corpus cites them)."""
    import json

    doc = json.loads((FIXTURES / "chimera_reports_facts.json").read_text("utf-8"))
    return [Fact(id=d["id"], statement=d["statement"], value=d["value"], unit=d["unit"],
                 sources=tuple(d["sources"]), importance=d["importance"], model=d["model"], config=d["config"],
                 metric=d["metric"], rows=d["rows"], origin=d["origin"]) for d in doc["facts"]]


def bad_sentences() -> list[dict[str, Any]]:
    """The corpus of real and constructed sentences a gate must reject (``expect`` reject) or accept."""
    import json

    corpus: list[dict[str, Any]] = json.loads((FIXTURES / "bad_sentences.json").read_text("utf-8"))
    return corpus
