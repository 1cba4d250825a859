"""Seeded generator of realistic benchmark archives, and the truth they hold.

`generate_archive(dest, seed=7, scale=1)` writes a self-made archive with every format the ingest
reads and the mess real archives have, and returns a `Manifest` of what a careful analyst must find
in it. The manifest's numbers are computed here, independently of `bot.core.ingest`/`bot.core.analysis`, from
the exact text written to the files (values are rounded to strings first, then parsed back the way
the file will be read), so tests can hold the pipeline to them.

What one *round* (a directory ``runs/<timestamp>/``) holds, ``scale`` rounds per archive:

- per Ollama model, a per-request CSV (``timestamp,model,num_gpu,…,error``, every value quoted):
  a sweep of 4 configurations x 4 requests; the first request is a cold start (model load of
  seconds), a few requests fail and are stored as zeros with an error text;
- per Ollama model, a per-configuration summary CSV (``num_gpu,num_ctx,temperature,mean_tokens_s,
  mean_ttft_s``) with the true means of the successful raw rows — except ONE deliberately wrong
  value in round 0 (the mean with the failed zeros averaged in);
- a llama.cpp ``llama-bench`` JSON (two model files, pp512 and tg128, 5 samples each);
- a vLLM ``benchmark_serving`` result JSON (aggregates plus per-request ``ttfts``/``output_lens``/
  ``input_lens``/``errors``; a few failed requests).

Once per archive: a JSON twin of one CSV (same records), a byte-identical copy of another CSV, a
Markdown summary (pipe table + ``key: value`` lines under a heading naming a model), a non-LLM
compile benchmark (JSON + its Markdown table), a latin-1 file and a 0-byte file.

Files per archive: ``8 * scale + 7`` (scale 12 -> 103, 124 -> 999, 1249 -> 9,999).
Pure: writes only under ``dest``; no clock, no environment, same bytes for the same arguments.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

__all__ = [
    "FILES_PER_ROUND",
    "FIXED_FILES",
    "ClaimTruth",
    "Manifest",
    "ModelTruth",
    "files_for_scale",
    "generate_archive",
    "pack_tar_gz",
]

FILES_PER_ROUND = 8
FIXED_FILES = 7

_BASE_TIME = datetime(2025, 10, 6, 20, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _OllamaModel:
    name: str  # as Ollama writes it
    stem: str  # as the benchmark script names its files
    tokens_s: float  # typical generation throughput on the bench machine (num_ctx=1024)
    cold_load_s: tuple[float, float]  # model load when cold (range)
    prompt_rate: float  # prompt tokens per second (prompt eval)


OLLAMA_MODELS: tuple[_OllamaModel, ...] = (
    _OllamaModel("gemma3:270m", "gemma3_270m", 291.0, (0.9, 1.6), 2400.0),
    _OllamaModel("gemma3:1b-it-qat", "gemma3_1b-it-qat", 184.0, (1.4, 2.6), 1800.0),
    _OllamaModel("llama3.1:8b-instruct-q4_0", "llama3.1_8b-instruct-q4_0", 77.5, (3.5, 6.0), 900.0),
)
# (num_gpu, num_ctx, temperature) swept by every Ollama run; 4 requests each.
OLLAMA_CONFIGS: tuple[tuple[int, int, float], ...] = ((999, 1024, 0.2), (999, 1024, 0.8),
                                                      (999, 4096, 0.2), (999, 4096, 0.8))
REQUESTS_PER_CONFIG = 4
CTX_SLOWDOWN = {1024: 1.0, 4096: 0.955}  # a larger KV cache costs a little throughput

OLLAMA_ERRORS = (
    "HTTPConnectionPool(host='localhost', port=11434): Read timed out. (read timeout=120)",
    "model requires more system memory (5.6 GiB) than is available (4.1 GiB)",
    "[WinError 10061] No connection could be made because the target machine actively refused it",
)

# llama.cpp model files: (path as llama-bench writes it, pp512 tok/s, tg128 tok/s, params, bytes)
LLAMA_BENCH_MODELS = (
    ("/models/gemma-3-4b-it-Q4_K_M.gguf", "gemma3 4B Q4_K - Medium", 2310.0, 96.0, 3880263424, 2489757696),
    ("/models/gemma-3-4b-it-Q8_0.gguf", "gemma3 4B Q8_0", 2480.0, 61.0, 3880263424, 4130402304),
)
LLAMA_BENCH_TESTS = ((512, 0), (0, 128))  # (n_prompt, n_gen): pp512, tg128
LLAMA_BENCH_REPS = 5

VLLM_MODEL = "google/gemma-3-1b-it"
VLLM_PROMPTS = 40

COMPILE_BACKENDS = (("eager", 0.49, None), ("jit", 0.41, 0.058), ("torch_compile", 0.27, 6.42),
                    ("onnx", 0.052, 0.087))  # (backend, mean ms, compile s)


@dataclass
class ModelTruth:
    """What a careful analyst finds for one model, from the values as written."""

    model: str
    source_kind: str  # 'ollama' | 'llama-bench' | 'vllm'
    requests: int = 0  # request records (llama-bench: samples)
    failed: int = 0
    cold_starts: int = 0
    throughput_tok_s: list[float] = field(default_factory=list)  # successful requests only
    ttft_ms: list[float] = field(default_factory=list)  # successful requests only
    # llama-bench only: samples per (n_prompt, n_gen)
    by_test: dict[tuple[int, int], list[float]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.requests - self.failed

    @property
    def throughput_median(self) -> float | None:
        """Median generation throughput (llama-bench: the tg test; prompt processing is another quantity)."""
        if self.source_kind == "llama-bench":
            values = [v for (n_prompt, n_gen), vs in self.by_test.items() if n_gen > 0 and n_prompt == 0
                      for v in vs]
            return _median(values)
        return _median(self.throughput_tok_s)

    @property
    def ttft_median_ms(self) -> float | None:
        return _median(self.ttft_ms)


@dataclass(frozen=True)
class ClaimTruth:
    """A number the archive states about itself, with the true value from its raw rows."""

    source: str
    model: str
    config: str  # canonical key, e.g. 'num_ctx=1024,num_gpu=999,temperature=0.2'
    metric: str
    statistic: str
    claimed: float
    actual: float
    why: str = ""
    raw_source: str = ""  # the file holding the raw rows the claim summarises ('' when several)


@dataclass
class Manifest:
    seed: int
    scale: int
    files: list[str] = field(default_factory=list)  # every file written (archive-relative, sorted)
    models: dict[str, ModelTruth] = field(default_factory=dict)
    wrong_claim: ClaimTruth | None = None
    claims_written: list[ClaimTruth] = field(default_factory=list)  # checkable claims (incl. the wrong one)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> expected reason keyword
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (kept, duplicate), sorted paths
    compile_means_ms: dict[str, float] = field(default_factory=dict)  # backend -> mean time (ms)

    @property
    def requests_total(self) -> int:
        """LLM request records of every model (llama-bench samples are repetitions of a test, not requests)."""
        return sum(m.requests for m in self.models.values() if m.source_kind != "llama-bench")

    @property
    def samples_total(self) -> int:
        """llama-bench samples: one per repetition of each test."""
        return sum(m.requests for m in self.models.values() if m.source_kind == "llama-bench")

    @property
    def failed_total(self) -> int:
        return sum(m.failed for m in self.models.values() if m.source_kind != "llama-bench")

    def prefixed(self, prefix: str) -> Manifest:
        """The same truth with every path under ``prefix`` (e.g. 'example-archive/' in the tarball)."""
        def p(path: str) -> str:
            return prefix + path

        def claim(c: ClaimTruth) -> ClaimTruth:
            return replace(c, source=p(c.source), raw_source=p(c.raw_source) if c.raw_source else "")

        return replace(
            self,
            files=[p(f) for f in self.files],
            wrong_claim=claim(self.wrong_claim) if self.wrong_claim else None,
            claims_written=[claim(c) for c in self.claims_written],
            skipped={p(k): v for k, v in self.skipped.items()},
            duplicates=[(p(a), p(b)) for a, b in self.duplicates],
        )


def files_for_scale(scale: int) -> int:
    return FILES_PER_ROUND * scale + FIXED_FILES


def _median(values: list[float]) -> float | None:
    return float(np.median(np.asarray(values, dtype="float64"))) if values else None


def _mean(values: list[float]) -> float:
    return float(np.mean(np.asarray(values, dtype="float64")))


def _config_key(num_gpu: int, num_ctx: int, temperature: float) -> str:
    return f"num_ctx={num_ctx},num_gpu={num_gpu},temperature={temperature:g}"


# Values are written as text first and every truth is computed from that text parsed back — the way
# a reader of the file sees it — never from the unrounded draw.
def _s(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


class _Writer:
    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.files: list[str] = []

    def text(self, rel: str, text: str) -> None:
        self.data(rel, text.encode("utf-8"))

    def data(self, rel: str, data: bytes) -> None:
        path = self.dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files.append(rel)


def generate_archive(dest: Path, *, seed: int = 7, scale: int = 1) -> Manifest:
    """Write an archive of ``files_for_scale(scale)`` files into ``dest`` (created) and return its truth."""
    if scale < 1:
        raise ValueError("scale must be >= 1")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = _Writer(dest)
    manifest = Manifest(seed=seed, scale=scale)
    for m in OLLAMA_MODELS:
        manifest.models[m.name] = ModelTruth(m.name, "ollama")
    for path, *_ in LLAMA_BENCH_MODELS:
        name = Path(path).name.removesuffix(".gguf")
        manifest.models[name] = ModelTruth(name, "llama-bench")
    manifest.models[VLLM_MODEL] = ModelTruth(VLLM_MODEL, "vllm")

    twin_of = dup_of = empty_rel = ""
    for round_no in range(scale):
        started = _BASE_TIME + timedelta(hours=6 * round_no)
        run_dir = f"runs/{started:%Y-%m-%d_%H%M}"
        for index, model in enumerate(OLLAMA_MODELS):
            # Round 0 of the first model carries the deliberately wrong summary value, so it must
            # have a failed request to average in.
            wrong = round_no == 0 and index == 0
            rel, records = _ollama_run(out, manifest, rng, model, run_dir, started, force_failure=wrong)
            _ollama_summary(out, manifest, model, run_dir, records, wrong=wrong)
            if round_no == 0 and index == 1:
                twin_of = rel
                _json_twin(out, model, rel, records)
            if round_no == 0 and index == 0:
                dup_of = rel
        _llama_bench(out, manifest, rng, run_dir, started)
        _vllm(out, manifest, rng, run_dir, started)
        if round_no == 0:
            empty_rel = f"{run_dir}/interrupted_run.csv"

    # A byte-identical copy someone uploaded again; the copy sorts after the original.
    copy_rel = "upload/" + Path(dup_of).name.replace(".csv", " (1).csv")
    out.data(copy_rel, (dest / dup_of).read_bytes())
    manifest.duplicates.append((dup_of, copy_rel))
    twin_rel = twin_of.removesuffix(".csv") + ".json"
    manifest.duplicates.append((twin_of, twin_rel))
    manifest.duplicates.sort()

    out.data(empty_rel, b"")
    manifest.skipped[empty_rel] = "empty"
    latin1_rel = "notes/notes_labo.md"
    out.data(latin1_rel, _LATIN1_NOTES.encode("latin-1"))
    manifest.skipped[latin1_rel] = "undecodable"

    _markdown_summary(out, manifest)
    _compile_bench(out, manifest, rng)

    manifest.files = sorted(out.files)
    assert len(manifest.files) == files_for_scale(scale), (len(manifest.files), files_for_scale(scale))
    return manifest


_LATIN1_NOTES = (
    "# Notes du labo\n\n"
    "Débit mesuré avec la carte de l'équipe ; température ambiante 24 °C.\n"
    "Résultats à vérifier : la série de jeudi a été interrompue (coupure réseau).\n"
)


# ------------------------------------------------------------------------------------ Ollama
_OLLAMA_HEADER = ("timestamp", "model", "num_gpu", "num_ctx", "temperature", "ttft_s", "tokens_s", "load_s",
                  "prompt_eval_s", "eval_s", "prompt_eval_count", "eval_count", "total_tokens",
                  "response_chars", "error")


def _ollama_run(out: _Writer, manifest: Manifest, rng: np.random.Generator, model: _OllamaModel,
                run_dir: str, started: datetime, *, force_failure: bool) -> tuple[str, list[dict[str, str]]]:
    rel = f"{run_dir}/{model.stem}_benchmark_runs.csv"
    total = len(OLLAMA_CONFIGS) * REQUESTS_PER_CONFIG
    n_fail = int(rng.integers(1 if force_failure else 0, 3))
    # never the first request: that one is the cold start
    failing = {int(i) for i in rng.choice(np.arange(1, total), size=n_fail, replace=False)}
    truth = manifest.models[model.name]
    records: list[dict[str, str]] = []
    clock = started
    for i in range(total):
        num_gpu, num_ctx, temperature = OLLAMA_CONFIGS[i // REQUESTS_PER_CONFIG]
        clock += timedelta(seconds=float(rng.uniform(1.0, 4.0)))
        base = {"timestamp": f"{clock:%Y-%m-%dT%H:%M:%S}", "model": model.name, "num_gpu": str(num_gpu),
                "num_ctx": str(num_ctx), "temperature": f"{temperature:g}"}
        if i in failing:
            record = base | {"ttft_s": "0.0000", "tokens_s": "0.00", "load_s": "0.0000",
                             "prompt_eval_s": "0.0000", "eval_s": "0.0000", "prompt_eval_count": "0",
                             "eval_count": "0", "total_tokens": "0", "response_chars": "0",
                             "error": OLLAMA_ERRORS[int(rng.integers(len(OLLAMA_ERRORS)))]}
            truth.requests += 1
            truth.failed += 1
            records.append(record)
            continue
        cold = i == 0
        tokens_s = _s(model.tokens_s * CTX_SLOWDOWN[num_ctx] * float(rng.lognormal(0.0, 0.012)), 2)
        eval_count = int(rng.integers(60, 520))
        prompt_count = int(rng.integers(18, 42))
        load = float(rng.uniform(*model.cold_load_s)) if cold else float(rng.uniform(0.035, 0.085))
        load_s = _s(load, 4)
        prompt_eval_s = _s(prompt_count / model.prompt_rate * float(rng.lognormal(0.0, 0.1))
                           * (8.0 if cold else 1.0), 4)
        ttft_s = _s(float(load_s) + float(prompt_eval_s), 4)  # Ollama: load + prompt eval
        eval_s = _s(eval_count / float(tokens_s), 4)
        record = base | {"ttft_s": ttft_s, "tokens_s": tokens_s, "load_s": load_s, "prompt_eval_s": prompt_eval_s,
                         "eval_s": eval_s, "prompt_eval_count": str(prompt_count), "eval_count": str(eval_count),
                         "total_tokens": str(prompt_count + eval_count),
                         "response_chars": str(int(eval_count * rng.uniform(3.8, 4.8))), "error": ""}
        truth.requests += 1
        truth.cold_starts += int(cold)
        # the reader multiplies seconds by 1000.0 after parsing the text: so do we
        truth.throughput_tok_s.append(float(tokens_s) * 1.0)
        truth.ttft_ms.append(float(ttft_s) * 1000.0)
        records.append(record)
    lines = [",".join(f'"{h}"' for h in _OLLAMA_HEADER)]
    for record in records:
        lines.append(",".join('"' + record[h].replace('"', '""') + '"' for h in _OLLAMA_HEADER))
    out.text(rel, "\n".join(lines) + "\n")
    return rel, records


def _ollama_summary(out: _Writer, manifest: Manifest, model: _OllamaModel, run_dir: str,
                    records: list[dict[str, str]], *, wrong: bool) -> None:
    """Per-configuration means of the successful rows; when ``wrong``, one mean has the failed zeros in."""
    rel = f"{run_dir}/{model.stem}_benchmark_summary.csv"
    raw_rel = f"{run_dir}/{model.stem}_benchmark_runs.csv"
    lines = ["num_gpu,num_ctx,temperature,mean_tokens_s,mean_ttft_s"]
    wrong_done = False
    for num_gpu, num_ctx, temperature in OLLAMA_CONFIGS:
        rows = [r for r in records if (r["num_gpu"], r["num_ctx"], r["temperature"])
                == (str(num_gpu), str(num_ctx), f"{temperature:g}")]
        ok = [r for r in rows if not r["error"]]
        true_tps = _mean([float(r["tokens_s"]) for r in ok])
        true_ttft = _mean([float(r["ttft_s"]) * 1000.0 for r in ok])
        shown_tps = _s(true_tps, 2)
        config = _config_key(num_gpu, num_ctx, temperature)
        if wrong and not wrong_done and len(ok) < len(rows):
            # the classic mistake: failed requests stored as zeros averaged in
            shown_tps = _s(_mean([float(r["tokens_s"]) for r in rows]), 2)
            manifest.wrong_claim = ClaimTruth(rel, model.name, config, "throughput_tok_s", "mean",
                                              float(shown_tps), true_tps, "failed requests (zeros) averaged in",
                                              raw_source=raw_rel)
            manifest.claims_written.append(manifest.wrong_claim)
            wrong_done = True
        else:
            manifest.claims_written.append(ClaimTruth(rel, model.name, config, "throughput_tok_s", "mean",
                                                      float(shown_tps), true_tps, raw_source=raw_rel))
        shown_ttft = _s(true_ttft / 1000.0, 4)
        manifest.claims_written.append(ClaimTruth(rel, model.name, config, "ttft_ms", "mean",
                                                  float(shown_ttft) * 1000.0, true_ttft, raw_source=raw_rel))
        lines.append(f"{num_gpu},{num_ctx},{temperature:g},{shown_tps},{shown_ttft}")
    if wrong and not wrong_done:
        raise AssertionError("the wrong-claim run has no failed request")  # guarded by force_failure
    out.text(rel, "\n".join(lines) + "\n")


def _json_twin(out: _Writer, model: _OllamaModel, csv_rel: str, records: list[dict[str, str]]) -> None:
    """The same records as the CSV, exported as JSON with typed values."""
    ints = {"num_gpu", "num_ctx", "prompt_eval_count", "eval_count", "total_tokens", "response_chars"}
    results = []
    for record in records:
        item: dict[str, object] = {}
        for key in _OLLAMA_HEADER:
            if key in ints:
                item[key] = int(record[key])
            elif key in {"timestamp", "model", "error"}:
                item[key] = record[key]
            else:
                item[key] = float(record[key])
        results.append(item)
    doc = {"model": model.name, "exported_from": Path(csv_rel).name, "results": results}
    out.text(csv_rel.removesuffix(".csv") + ".json", json.dumps(doc, indent=2) + "\n")


# ------------------------------------------------------------------------------- llama-bench
def _llama_bench(out: _Writer, manifest: Manifest, rng: np.random.Generator, run_dir: str,
                 started: datetime) -> None:
    tests: list[dict[str, object]] = []
    for path, model_type, pp, tg, n_params, size in LLAMA_BENCH_MODELS:
        truth = manifest.models[Path(path).name.removesuffix(".gguf")]
        for n_prompt, n_gen in LLAMA_BENCH_TESTS:
            typical = pp if n_prompt else tg
            tokens = n_prompt or n_gen
            samples = [round(typical * float(rng.lognormal(0.0, 0.01)), 6) for _ in range(LLAMA_BENCH_REPS)]
            samples_ns = [round(tokens / ts * 1e9) for ts in samples]
            truth.by_test.setdefault((n_prompt, n_gen), []).extend(samples)
            truth.throughput_tok_s.extend(samples)
            truth.requests += len(samples)
            tests.append({
                "build_commit": "3f4fc97f", "build_number": 6710, "cpu_info": "AMD Ryzen 9 7940HS",
                "gpu_info": "NVIDIA GeForce RTX 4080 Laptop GPU", "backends": "CUDA",
                "model_filename": path, "model_type": model_type, "model_size": size,
                "model_n_params": n_params, "n_batch": 2048, "n_ubatch": 512, "n_threads": 8,
                "cpu_mask": "0x0", "cpu_strict": False, "poll": 50, "type_k": "f16", "type_v": "f16",
                "n_gpu_layers": 99, "split_mode": "layer", "main_gpu": 0, "no_kv_offload": False,
                "flash_attn": False, "tensor_split": "0.00", "use_mmap": True, "embeddings": False,
                "n_prompt": n_prompt, "n_gen": n_gen, "n_depth": 0,
                "test_time": f"{started + timedelta(minutes=len(tests)):%Y-%m-%dT%H:%M:%SZ}",
                "avg_ns": round(float(np.mean(samples_ns))),
                "stddev_ns": round(float(np.std(samples_ns, ddof=1))),
                "avg_ts": round(float(np.mean(samples)), 6),
                "stddev_ts": round(float(np.std(samples, ddof=1)), 6),
                "samples_ns": samples_ns, "samples_ts": samples,
            })
    out.text(f"{run_dir}/llama-bench.json", json.dumps(tests, indent=2) + "\n")


# -------------------------------------------------------------------------------------- vLLM
def _vllm(out: _Writer, manifest: Manifest, rng: np.random.Generator, run_dir: str, started: datetime) -> None:
    truth = manifest.models[VLLM_MODEL]
    n = VLLM_PROMPTS
    failing = {int(i) for i in rng.choice(n, size=int(rng.integers(1, 3)), replace=False)}
    ttfts: list[float] = []
    output_lens: list[int] = []
    input_lens: list[int] = []
    errors: list[str] = []
    tpots_ms: list[float] = []
    e2els_ms: list[float] = []
    for i in range(n):
        in_len = int(rng.integers(180, 900))
        input_lens.append(in_len)
        if i in failing:
            ttfts.append(0.0)
            output_lens.append(0)
            errors.append("ClientResponseError: 503, message='Service Unavailable'")
            continue
        ttft = round(float(0.018 + in_len / 42000.0 * rng.lognormal(0.0, 0.15)), 6)
        out_len = int(rng.integers(64, 257))
        tpot = float(rng.lognormal(np.log(6.2), 0.05))  # ms per output token after the first
        ttfts.append(ttft)
        output_lens.append(out_len)
        errors.append("")
        tpots_ms.append(tpot)
        e2els_ms.append(ttft * 1000.0 + tpot * (out_len - 1))
    ok_ttft_ms = np.asarray([t * 1000.0 for t, e in zip(ttfts, errors, strict=True) if not e], dtype="float64")
    completed = int(ok_ttft_ms.size)
    duration = float(sum(e2els_ms)) / 1000.0 / 8.0 * float(rng.uniform(1.05, 1.2))  # 8 in flight
    total_in = sum(x for x, e in zip(input_lens, errors, strict=True) if not e)
    total_out = sum(output_lens)
    tpot_a, e2el_a = np.asarray(tpots_ms), np.asarray(e2els_ms)

    def stats(name: str, values: np.ndarray) -> dict[str, float]:
        # vLLM's own definitions: np.mean, np.median, np.std (population), np.percentile
        return {f"mean_{name}_ms": float(np.mean(values)), f"median_{name}_ms": float(np.median(values)),
                f"std_{name}_ms": float(np.std(values)), f"p99_{name}_ms": float(np.percentile(values, 99))}

    doc: dict[str, object] = {
        "date": f"{started:%Y%m%d-%H%M%S}", "backend": "vllm", "model_id": VLLM_MODEL,
        "tokenizer_id": VLLM_MODEL, "num_prompts": n, "request_rate": "inf", "burstiness": 1.0,
        "max_concurrency": 8, "duration": duration, "completed": completed,
        "total_input_tokens": total_in, "total_output_tokens": total_out,
        "request_throughput": completed / duration, "request_goodput": None,
        "output_throughput": total_out / duration, "total_token_throughput": (total_in + total_out) / duration,
        **stats("ttft", ok_ttft_ms), **stats("tpot", tpot_a), **stats("itl", tpot_a), **stats("e2el", e2el_a),
        "input_lens": input_lens, "output_lens": output_lens, "ttfts": ttfts, "errors": errors,
    }
    for stat_name, key in (("mean", "mean_ttft_ms"), ("median", "median_ttft_ms"), ("p99", "p99_ttft_ms"),
                           ("std", "std_ttft_ms")):
        # Every aggregate is right by vLLM's own definitions (its std is the population std, ddof=0).
        value = float(doc[key])  # type: ignore[arg-type]
        manifest.claims_written.append(ClaimTruth(f"{run_dir}/vllm_serving.json", VLLM_MODEL, "", "ttft_ms",
                                                  stat_name, value, value,
                                                  "population std (ddof=0), as vLLM computes it"
                                                  if stat_name == "std" else "",
                                                  raw_source=f"{run_dir}/vllm_serving.json"))
    truth.requests += n
    truth.failed += len(failing)
    truth.ttft_ms.extend(float(t) * 1000.0 for t, e in zip(ttfts, errors, strict=True) if not e)
    out.text(f"{run_dir}/vllm_serving.json", json.dumps(doc, indent=2) + "\n")


# ---------------------------------------------------------------------------- Markdown, compile
def _markdown_summary(out: _Writer, manifest: Manifest) -> None:
    rel = "reports/nightly_summary.md"
    lines = ["# Nightly benchmark summary", "",
             f"Host: bench-01 (RTX 4080 Laptop, 12 GB), Ollama 0.12.3, {manifest.scale} round(s) of sweeps.", "",
             "| Model | Requests | Failed | Median tok/s | Median TTFT (ms) |",
             "|---|---:|---:|---:|---:|"]
    for m in OLLAMA_MODELS:
        t = manifest.models[m.name]
        tps, ttft = t.throughput_median, t.ttft_median_ms
        assert tps is not None and ttft is not None
        lines.append(f"| {m.name} | {t.requests} | {t.failed} | {tps:.2f} | {ttft:.1f} |")
        manifest.claims_written.append(ClaimTruth(rel, m.name, "", "throughput_tok_s", "median",
                                                  float(f"{tps:.2f}"), tps))
        manifest.claims_written.append(ClaimTruth(rel, m.name, "", "ttft_ms", "median", float(f"{ttft:.1f}"), ttft))
    focus = manifest.models[OLLAMA_MODELS[1].name]
    tps, ttft = focus.throughput_median, focus.ttft_median_ms
    assert tps is not None and ttft is not None
    lines += ["", f"## {focus.model}", "",
              f"- model: {focus.model}",
              f"- Median throughput: {tps:.2f} tok/s",
              f"- Median TTFT: {ttft:.1f} ms",
              f"- Cold starts: {focus.cold_starts} (first request of each run loads the model)", "",
              "Failed requests are excluded from the medians above."]
    manifest.claims_written.append(ClaimTruth(rel, focus.model, "", "throughput_tok_s", "median",
                                              float(f"{tps:.2f}"), tps))
    manifest.claims_written.append(ClaimTruth(rel, focus.model, "", "ttft_ms", "median", float(f"{ttft:.1f}"), ttft))
    out.text(rel, "\n".join(lines) + "\n")


def _compile_bench(out: _Writer, manifest: Manifest, rng: np.random.Generator) -> None:
    """A non-LLM benchmark: compile backends of a small model, mean/std/min/max time per backend."""
    stem = "compile/transformer_block_bench_20251006-223000"
    backends: dict[str, object] = {}
    table = ["# Compilation benchmark: transformer_block (cpu, float32, batch 8)", "",
             "| Backend | Compile Time (s) | Mean (ms) | Std (ms) | Min (ms) | Max (ms) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, mean_ms, compile_s in COMPILE_BACKENDS:
        times = mean_ms * rng.lognormal(0.0, 0.12, size=20)
        stats = {"mean_time_ms": float(np.mean(times)), "std_time_ms": float(np.std(times, ddof=1)),
                 "min_time_ms": float(np.min(times)), "max_time_ms": float(np.max(times))}
        manifest.compile_means_ms[name] = stats["mean_time_ms"]
        backends[name] = {
            "backend": name,
            "compilation": None if compile_s is None else {"success": True, "compile_time_s": compile_s},
            "benchmark": {"backend": name, **stats, "runs": 20},
        }
        table.append(f"| {name} | {compile_s if compile_s is not None else 0.0:.4f} | {stats['mean_time_ms']:.3f} | "
                     f"{stats['std_time_ms']:.3f} | {stats['min_time_ms']:.3f} | {stats['max_time_ms']:.3f} |")
    doc = {"generated_at": "2025-10-06T22:30:00+00:00",
           "model": {"name": "transformer_block", "device": "cpu", "dtype": "torch.float32", "batch_size": 8},
           "settings": {"runs": 20, "warmup_runs": 3, "backends": [b[0] for b in COMPILE_BACKENDS]},
           "backends": backends}
    out.text(stem + ".json", json.dumps(doc, indent=1) + "\n")
    out.text(stem + ".md", "\n".join(table) + "\n")


# ------------------------------------------------------------------------------ packing
def pack_tar_gz(src: Path, out_path: Path, *, arc_prefix: str) -> None:
    """Pack ``src`` as a .tar.gz whose bytes depend only on the files' paths and contents.

    Sorted members, fixed mtime/uid/gid/owner names/modes, no pax timestamps, gzip header mtime 0
    and no file name in it. (The compressed bytes also depend on the zlib in use.)
    """
    src = Path(src)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        entries = sorted(src.rglob("*"), key=lambda p: p.relative_to(src).as_posix())
        for path in [src, *entries]:
            rel = path.relative_to(src).as_posix()
            name = arc_prefix.rstrip("/") if rel == "." else f"{arc_prefix.rstrip('/')}/{rel}"
            info = tarfile.TarInfo(name)
            info.mtime = 1759780800  # 2025-10-06T20:00:00Z, fixed
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data = path.read_bytes()
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                   compresslevel=9) as gz:
        gz.write(buffer.getvalue())
