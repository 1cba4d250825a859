"""Narrative benchmark: prompt tokens, LLM calls per report and end-to-end narrate() time.

The model is the Ollama stand-in streaming at the original agent's measured speed (about 42 tok/s,
870 ms to the first token), so the figure is what one structured call costs, compared with the
original agent's two sequential calls taking 56 s in total.

Facts come from the real archive (../shared/data/chimera-reports, analysed with use_llm=False) when
the pipeline and the archive are available; otherwise from a realistic synthetic
list, and the output says so.

    python bench/bench_narrative.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bot.adapters.ollama import OllamaChat
from bot.core.prompts.budget import TokenEstimator
from bot.core.prompts.narrative import build_prompt
from bot.core.types import Fact
from bot.flows.narrate import narrate
from bot.settings import Settings
from tests.standins.ollama_server import OllamaStandIn, Reply, realistic_facts

ARCHIVE = ROOT.parent / "shared" / "data" / "chimera-reports"
ORIGINAL_CALLS = 2
ORIGINAL_TOTAL_S = 56.0
TTFT_S = 0.870
TOK_PER_S = 42.0


def load_facts() -> tuple[list[Fact], str]:
    """(facts, where they came from)."""
    if not ARCHIVE.is_dir():
        return realistic_facts(), f"SYNTHETIC facts ({ARCHIVE} not found)"
    try:
        from bot.app import build_pipeline
    except ImportError:
        return realistic_facts(), "SYNTHETIC facts (the pipeline is not importable)"
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    result = build_pipeline(settings).run(str(ARCHIVE), use_llm=False, allow_local_paths=True)
    facts = list(getattr(result, "facts", None) or [])
    if not facts:
        return realistic_facts(), "SYNTHETIC facts (the pipeline returned no facts)"
    return facts, f"real archive {ARCHIVE} ({len(facts)} facts)"


_WORDS = ("steady", "clear", "firm", "solid", "plain", "sound", "even", "level", "regular", "orderly",
          "settled", "robust", "constant", "uniform", "reliable", "stable")


def scripted_answer(facts: list[Fact]) -> str:
    """A ~200-word structured answer in which every sentence cites a fact (it passes the quality gate)."""
    top = [f.id for f in sorted(facts, key=lambda f: -f.importance)[:12]]
    cite = [f"[{top[i % len(top)]}]" for i in range(12)]
    summary = " ".join(f"The {_WORDS[i]} figure of this run stands at {cite[i]}, as the {_WORDS[-1 - i]} data shows."
                       for i in range(8))
    recommendations = [f"Act on the {_WORDS[i]} finding at {cite[8 + i]} before the next benchmark round."
                       for i in range(3)]
    risks = [{"risk": f"The {_WORDS[i + 4]} result at {cite[i]} may not hold on other hardware.",
              "mitigation": f"Repeat the run on the {_WORDS[i + 9]} target machines."} for i in range(2)]
    return json.dumps({"summary": summary, "recommendations": recommendations, "risks": risks})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="narrate() runs; the median is shown")
    args = parser.parse_args()

    facts, origin = load_facts()
    answer = scripted_answer(facts)
    with OllamaStandIn() as server:
        settings = Settings(_env_file=None, ollama_host=server.host)  # type: ignore[call-arg]
        prompt = build_prompt(facts, num_ctx=settings.ollama_num_ctx, estimator=TokenEstimator())
        server.script(
            Reply(content=answer, chunk_chars=4, first_token_delay_s=TTFT_S, token_delay_s=1 / TOK_PER_S)
        )
        times: list[float] = []
        narrative = None
        for _ in range(max(1, args.runs)):
            started = time.perf_counter()
            narrative = narrate(facts, chat=OllamaChat(settings))
            times.append(time.perf_counter() - started)
            if narrative.status != "ok":
                sys.exit(f"narrate failed: {narrative.reason}")
        chat_requests = len(server.requests_to("/api/chat"))
    assert narrative is not None
    call = narrative.calls[0]
    median = statistics.median(times)
    print(f"narrative bench — facts: {origin}")
    print(f"  stand-in model speed        {TOK_PER_S:.0f} tok/s, {TTFT_S * 1000:.0f} ms to first token")
    print(f"  facts in prompt / omitted   {len(prompt.fact_ids)} / {len(prompt.omitted_fact_ids)}"
          f" (num_ctx={settings.ollama_num_ctx})")
    print(f"  prompt tokens (estimate)    {prompt.estimated_tokens}"
          f"   (stand-in count, gemma3-like: {call.prompt_eval_count})")
    print(f"  answer tokens               {call.eval_count}")
    print(f"  LLM calls per report        {chat_requests // len(times)}"
          f"   (original agent: {ORIGINAL_CALLS} sequential)")
    print(f"  measured TTFT / throughput  {call.ttft_ms:.0f} ms / {call.throughput_tok_s:.1f} tok/s")
    print(f"  narrate() end to end        median {median:.2f} s over {len(times)} runs"
          f" (min {min(times):.2f}, max {max(times):.2f})")
    print(f"  original agent              {ORIGINAL_TOTAL_S:.0f} s  ->  {ORIGINAL_TOTAL_S / median:.1f}x faster")
    print(f"  ungrounded numbers          {len(narrative.ungrounded)}")


if __name__ == "__main__":
    main()
