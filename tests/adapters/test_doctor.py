"""`chimera doctor` checks against the Ollama stand-in."""

from __future__ import annotations

import pytest

from bot.adapters.doctor import Check, model_context_length, run_doctor
from tests.standins.ollama_server import ModelEntry, OllamaStandIn, Reply, closed_port_url, settings_for


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_all_good() -> None:
    with OllamaStandIn(models=[ModelEntry("gemma3:latest", context_length=131072)]) as server:
        checks = run_doctor(settings_for(server.host, ollama_num_ctx=8192))
        assert [r.path for r in server.requests] == ["/api/tags", "/api/show"]
        assert server.requests[1].body["model"] == "gemma3:latest"
    assert [c.name for c in checks] == ["ollama reachable", "model pulled", "context length", "typical prompt fits"]
    assert all(c.ok for c in checks), checks
    assert by_name(checks)["context length"].detail == (
        "OLLAMA_NUM_CTX=8192 fits gemma3:latest's context length 131072"
    )
    typical = by_name(checks)["typical prompt fits"].detail
    assert typical.startswith("a typical report's narrative prompt (71 facts) needs about ")
    assert typical.endswith("; OLLAMA_NUM_CTX=8,192 holds it")


def test_unreachable() -> None:
    host = closed_port_url()
    checks = by_name(run_doctor(settings_for(host)))
    reach = checks["ollama reachable"]
    assert not reach.ok
    assert reach.detail == f"Ollama at {host}: connection refused"
    assert "ollama serve" in reach.fix and "--no-llm" in reach.fix
    assert not checks["model pulled"].ok and "not checked" in checks["model pulled"].detail


def test_model_not_pulled() -> None:
    with OllamaStandIn(models=[ModelEntry("llama3.1:8b")]) as server:
        checks = by_name(run_doctor(settings_for(server.host, ollama_model="gemma3")))
    assert checks["ollama reachable"].ok
    pulled = checks["model pulled"]
    assert not pulled.ok
    assert pulled.detail == "gemma3 is not among the pulled models (llama3.1:8b)"
    assert pulled.fix.startswith("run `ollama pull gemma3`")


def test_num_ctx_beyond_the_models_context_length() -> None:
    with OllamaStandIn(models=[ModelEntry("gemma3:270m", context_length=32768)]) as server:
        checks = by_name(
            run_doctor(settings_for(server.host, ollama_model="gemma3:270m", ollama_num_ctx=65536))
        )
    ctx = checks["context length"]
    assert not ctx.ok
    assert ctx.detail == "OLLAMA_NUM_CTX=65536 exceeds gemma3:270m's context length 32768"
    assert ctx.fix == "set OLLAMA_NUM_CTX to 32768 or less"


@pytest.mark.parametrize("num_ctx, reaching", [(512, "only 0 of 71"), (2048, "only 8 of 71"), (4096, "only 35 of 71")])
def test_a_window_that_does_not_hold_a_typical_report_fails(num_ctx: int, reaching: str) -> None:
    # issue 11: doctor passed 2048 and 4096, where the real archive's prompt (5,195 tokens) does not fit
    with OllamaStandIn() as server:
        checks = by_name(run_doctor(settings_for(server.host, ollama_num_ctx=num_ctx)))
    typical = checks["typical prompt fits"]
    assert not typical.ok
    assert f"with OLLAMA_NUM_CTX={num_ctx:,} {reaching} facts would reach the model" in typical.detail
    assert typical.fix == "set OLLAMA_NUM_CTX to 8,192"


def test_the_probe_sends_the_typical_prompt_and_reads_ollamas_count() -> None:
    with OllamaStandIn() as server:
        checks = by_name(run_doctor(settings_for(server.host, ollama_num_ctx=8192), probe=True))
        (call,) = server.requests_to("/api/chat")
    assert call.body["options"]["num_predict"] == 1 and call.body["options"]["num_ctx"] == 8192
    assert call.body["format"]["properties"]["summary"]["maxLength"] == 1000  # the server must accept the schema
    probe = checks["typical prompt seen whole"]
    assert probe.ok, probe
    assert probe.detail.startswith("Ollama counted ") and "within the estimate of" in probe.detail


@pytest.mark.parametrize("mode", ["num_ctx", "num_ctx-1", "half", "error"])
def test_the_probe_sees_a_prompt_ollama_cut(mode: str) -> None:
    # a model whose tokenizer counts twice what the estimate expects: the typical prompt overflows
    with OllamaStandIn(truncation=mode, replies=[Reply(content=".", prompt_scale=2.0)]) as server:
        checks = by_name(run_doctor(settings_for(server.host, ollama_num_ctx=8192), probe=True))
        assert len(server.truncations) == 1
    probe = checks["typical prompt seen whole"]
    assert not probe.ok
    assert probe.fix == "raise OLLAMA_NUM_CTX"
    assert ("cut the prompt" in probe.detail) or ("refused the prompt as longer than num_ctx=8192" in probe.detail)


def test_model_context_length_reads_the_architecture_key() -> None:
    info = {"general.architecture": "llama", "llama.context_length": 8192, "x.context_length": 1}
    assert model_context_length(info) == 8192
    assert model_context_length({"gemma3.context_length": 4096}) == 4096
    assert model_context_length({}) is None
