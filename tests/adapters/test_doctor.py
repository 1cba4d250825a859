"""`chimera doctor` checks against the Ollama stand-in."""

from __future__ import annotations

from bot.adapters.doctor import Check, model_context_length, run_doctor
from tests.standins.ollama_server import ModelEntry, OllamaStandIn, closed_port_url, settings_for


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_all_good() -> None:
    with OllamaStandIn(models=[ModelEntry("gemma3:latest", context_length=131072)]) as server:
        checks = run_doctor(settings_for(server.host, ollama_num_ctx=8192))
        assert [r.path for r in server.requests] == ["/api/tags", "/api/show"]
        assert server.requests[1].body["model"] == "gemma3:latest"
    assert [c.name for c in checks] == ["ollama reachable", "model pulled", "context length"]
    assert all(c.ok for c in checks), checks
    assert by_name(checks)["context length"].detail == (
        "OLLAMA_NUM_CTX=8192 fits gemma3:latest's context length 131072"
    )


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


def test_num_ctx_too_small_for_the_narrative() -> None:
    with OllamaStandIn() as server:
        checks = by_name(run_doctor(settings_for(server.host, ollama_num_ctx=512)))
    ctx = checks["context length"]
    assert not ctx.ok
    assert "OLLAMA_NUM_CTX=512 leaves too little room" in ctx.detail
    assert ctx.fix == "set OLLAMA_NUM_CTX to at least 2048 (the model supports 131072)"


def test_model_context_length_reads_the_architecture_key() -> None:
    info = {"general.architecture": "llama", "llama.context_length": 8192, "x.context_length": 1}
    assert model_context_length(info) == 8192
    assert model_context_length({"gemma3.context_length": 4096}) == 4096
    assert model_context_length({}) is None
