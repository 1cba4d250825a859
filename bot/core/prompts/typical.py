"""A typical fact set, for sizing the context window before any archive is analyzed (pure).

`chimera doctor` builds the narrative prompt for these facts to say whether ``OLLAMA_NUM_CTX`` holds
a typical report: shaped like the facts of a real 101-file Ollama benchmark archive (six models,
three parameters, failures, cold starts, claims checked, non-LLM timings; 73 facts, ~5,200 gemma3
tokens as a prompt), with the statements written the way the analysis writes them.
"""

from __future__ import annotations

from bot.core.types import Fact, quoted

_MODELS = (
    ("gemma3:270m", 290.0, 64.1, 1561.0),
    ("gemma3:1b-it-qat", 183.9, 91.2, 3095.0),
    ("gemma3:latest", 102.0, 131.0, 9015.0),
    ("llama3.1:8b-instruct-q4_0", 77.6, 83.9, 1631.0),
    ("llama3.1:8b-instruct-q5_K_M", 65.1, 88.6, 4551.0),
    ("llama3.1:8b-instruct-q8_0", 46.6, 92.2, 6237.0),
)
_TTFT = ("TTFT = load + prompt eval as reported by Ollama (server-side; excludes network and queueing)")
_SOURCE = ("reports/ollama/results.csv",)
_REASON = "Failed to connect to Ollama. Please check that Ollama is downloaded, running and accessible."


def typical_facts() -> list[Fact]:
    """About 73 facts like a real six-model archive's, F1… in importance order."""
    facts: list[tuple[str, float, str, int, str]] = [
        ("294 LLM requests were recorded; 81 failed and are excluded from every statistic.", 294, "requests", 96, ""),
        ("81 of 294 requests failed (27.6%).", 81, "requests", 95, ""),
        ("Highest median throughput: gemma3:270m at 290.0 tok/s (n=39).", 290.0, "tok/s", 94, "gemma3:270m"),
    ]
    for i, (model, tput, ttft, latency) in enumerate(_MODELS):
        n = 39 + i
        facts += [
            (f"{model}: median throughput {tput:.1f} tok/s over {n} successful requests (p95 {tput * 1.04:.1f} "
             f"tok/s, min {tput * 0.73:.1f} tok/s, max {tput * 1.05:.1f} tok/s).", tput, "tok/s", 90, model),
            (f"{model}: warm TTFT p50 {ttft:.1f} ms (n={n - 12}, cold starts excluded; {_TTFT}).", ttft, "ms", 85,
             model),
            (f"{model}: warm TTFT p95 {ttft * 1.6:.0f} ms (n={n - 12}).", ttft * 1.6, "ms", 80, model),
            (f"{model}: {i + 2} of {n + 10} requests failed; most common reason (2x): "
             f"{quoted(_REASON)}",
             i + 2, "requests", 75, model),
            (f"{model}: across configurations, best num_ctx=4096,num_gpu=999,temperature=0.8 ({tput * 1.04:.1f} "
             f"tok/s, n=1) vs worst num_ctx=1024,num_gpu=60,temperature=0.8 ({tput * 0.9:.1f} tok/s, n=1): "
             f"{tput * 0.14:.2f} tok/s (15.6%), not separable from noise (n=1 vs n=1: too few samples to separate "
             "from noise).", tput * 0.14, "tok/s", 72, model),
            (f"{model}: {12 - i} cold start(s) (model load dominating TTFT); their median TTFT is "
             f"{1209 + 900 * i:,} ms.", 12 - i, "requests", 70, model),
            (f"{model}: latency p50 {latency:,.0f} ms, p95 {latency * 2.8:,.0f} ms (derived: ttft + eval).", latency,
             "ms", 55, model),
        ]
        for param, best, worst in (("num_ctx", "4096", "1024"), ("num_gpu", "999", "60")):
            facts.append((f"{model}: across {param} levels, best {param}={best} ({tput * 1.01:.1f} tok/s, n=12) vs "
                          f"worst {param}={worst} ({tput * 0.99:.1f} tok/s, n=10): {tput * 0.02:.2f} tok/s (2.0%), "
                          "within the noise (Welch t-test, p=0.26).", tput * 0.02, "tok/s", 45, model))
    facts += [
        ("661 numbers stated in the archive's own summaries were checked against raw rows: 658 match, 3 do not.",
         3, "count", 74, ""),
        (f"Claim in {quoted('reports/gemma3/SUMMARY.md')} does not match the raw data: mean ttft_ms for "
         f"gemma3:latest stated as 165 ms, raw rows give 567 ms (n=5, {quoted('reports/gemma3/gemma3_baseline.csv')}).",
         567.0, "ms", 65, "gemma3:latest"),
        ("27 of 101 files were skipped (reasons listed in the report).", 27, "files", 40, ""),
        ("7 files duplicate another file's content or records and were counted once.", 7, "files", 38, ""),
    ]
    for case in range(10):
        facts.append((f"{quoted(f'reports/compilation/transformer_cuda_bench_2025100{case}-172126.json')}: fastest "
                      f"case backend=onnx at {0.05 + case * 0.31:.3g} ms mean (mean time).", 0.05 + case * 0.31,
                      "ms", 30, ""))
    ordered = sorted(enumerate(facts), key=lambda item: (-item[1][3], item[0]))
    return [Fact(id=f"F{rank}", statement=statement, value=float(value), unit=unit, sources=_SOURCE,
                 importance=importance, model=model)
            for rank, (_, (statement, value, unit, importance, model)) in enumerate(ordered, start=1)]
