"""The Ollama adapter through the real `ollama.Client` against the local stand-in."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.adapters.ollama import stream_chat
from bot.errors import LLMCallFailed
from tests.clocks import ManualClock, StepClock
from tests.standins.ollama_server import OllamaStandIn, Reply, closed_port_url, settings_for

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Facts: [F1] x = 1"}]




def test_options_model_keep_alive_and_format_arrive_in_the_request(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(content='{"a": 1}'))
    settings = settings_for(
        ollama.host,
        ollama_num_gpu=999,
        ollama_num_ctx=4096,
        ollama_temperature=0.2,
        ollama_top_p=0.8,
        ollama_top_k=20,
        ollama_repeat_penalty=1.15,
        ollama_keep_alive="30m",
    )
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    result = stream_chat(MESSAGES, settings=settings, format=schema, num_predict=256)

    assert result.content == '{"a": 1}'
    (request,) = ollama.requests_to("/api/chat")
    body = request.body
    assert body["model"] == "gemma3:latest"
    assert body["stream"] is True
    assert body["keep_alive"] == "30m"
    assert body["format"] == schema
    assert body["messages"] == MESSAGES
    assert body["options"] == {
        "num_gpu": 999,
        "num_ctx": 4096,
        "temperature": 0.2,
        "top_p": 0.8,
        "top_k": 20,
        "repeat_penalty": 1.15,
        "num_predict": 256,
    }


def test_num_gpu_is_omitted_when_unset(ollama: OllamaStandIn) -> None:
    stream_chat(MESSAGES, settings=settings_for(ollama.host))
    options = ollama.requests_to("/api/chat")[0].body["options"]
    assert "num_gpu" not in options
    assert options["num_ctx"] == 8192


def test_ttft_and_throughput_come_from_wall_clock_and_the_final_record(ollama: OllamaStandIn) -> None:
    # The wall clock is injected (the default is time.perf_counter): it stands still until the
    # request has reached the stand-in, then moves 0.3 s while the model "thinks" (its reply held).
    clock, thinking = ManualClock(), threading.Event()
    ollama.script(
        Reply(
            content="Throughput is fine.",
            hold=thinking,
            eval_count=84,
            eval_duration=2_000_000_000,
            prompt_eval_count=412,
            prompt_eval_duration=150_000_000,
            load_duration=120_000_000,
            total_duration=2_400_000_000,
        )
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        call = pool.submit(stream_chat, MESSAGES, settings=settings_for(ollama.host), clock=clock)
        ollama.wait_for_requests("/api/chat", 1)
        clock.advance(0.3)
        thinking.set()
        result = call.result(timeout=10)
    m = result.metrics
    assert m.ok and m.attempts == 1
    assert m.throughput_tok_s == pytest.approx(42.0)
    assert m.ttft_ms == pytest.approx(300.0)  # from sending the request to the first content chunk
    assert m.eval_ms == pytest.approx(2000.0)
    assert m.prompt_eval_ms == pytest.approx(150.0)
    assert m.load_ms == pytest.approx(120.0)
    assert m.total_ms == pytest.approx(2400.0)
    assert (m.prompt_eval_count, m.eval_count) == (412, 84)
    assert m.done_reason == "stop"
    assert m.wall_ms >= m.ttft_ms


def test_measured_timings_without_overrides_give_a_plausible_rate(ollama: OllamaStandIn) -> None:
    # 20 chunks at least 10 ms apart: at most ~105 tok/s, measured by the stand-in itself. The
    # stand-in's eval phase lies inside our call, whatever the machine's load, hence the bounds.
    ollama.script(Reply(chunks=["tok "] * 20, token_delay_s=0.01))
    m = stream_chat(MESSAGES, settings=settings_for(ollama.host)).metrics
    assert m.eval_count == 20
    assert m.eval_ms is not None and 150 <= m.eval_ms <= m.wall_ms  # ns read as ms, not as s or µs
    assert m.throughput_tok_s == pytest.approx(20 / (m.eval_ms / 1000))  # from the final record
    assert m.throughput_tok_s < 110


def test_refused_connection_is_unreachable_with_a_fix() -> None:
    host = closed_port_url()
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(host))
    assert info.value.kind == "unreachable"
    assert str(info.value) == (
        f"Ollama at {host} unreachable: connection refused — start it with `ollama serve` "
        "or pass --no-llm"
    )
    assert info.value.metrics is not None and info.value.metrics.attempts == 1


def test_model_not_pulled_is_a_404_with_the_pull_command(ollama: OllamaStandIn) -> None:
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host, ollama_model="gemma3:27b"))
    assert info.value.kind == "not_found"
    assert "`ollama pull gemma3:27b`" in str(info.value)
    assert 'model "gemma3:27b" not found, try pulling it first' in str(info.value)
    assert len(ollama.requests_to("/api/chat")) == 1  # a 404 is not retried


def test_a_5xx_is_retried_and_then_succeeds(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(fault="500"), Reply(content="recovered"))
    result = stream_chat(MESSAGES, settings=settings_for(ollama.host))
    assert result.content == "recovered"
    assert result.metrics.attempts == 2


def test_persistent_5xx_gives_up_after_bounded_retries(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(fault="500"))
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host))
    assert info.value.kind == "server_error"
    assert "HTTP 500" in str(info.value) and "llama runner process has terminated" in str(info.value)
    assert len(ollama.requests_to("/api/chat")) == 3


def test_slow_server_times_out_within_the_total_budget(ollama: OllamaStandIn) -> None:
    # This timeout is httpx's socket read timeout, on the real clock, so no clock is injected. The
    # bound needs no stopwatch either: the stand-in answers (successfully) after 10x the budget, so
    # a timeout error proves the client gave up long before that, and one attempt proves the budget
    # was spent on it (a per-attempt timeout that ignored the total would have retried).
    ollama.script(Reply(fault="slow", slow_s=10.0))
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host, ollama_timeout_s=1.0))
    assert info.value.kind == "timeout"
    assert "did not answer within 1 s" in str(info.value)
    assert info.value.metrics.attempts == 1
    assert len(ollama.requests_to("/api/chat")) == 1


def test_a_trickling_stream_cannot_outlive_the_budget(ollama: OllamaStandIn) -> None:
    # On the injected clock each reading is 0.05 s later: every chunk arrives well within the read
    # timeout, but the 40 chunks would take over 2 s of the 1 s budget. Exact on any machine.
    ollama.script(Reply(chunks=["x"] * 40))
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host, ollama_timeout_s=1.0), clock=StepClock(0.05))
    assert info.value.kind == "timeout"
    assert info.value.metrics.ttft_ms is not None  # cut off mid-stream, after content had arrived
    assert info.value.metrics.attempts == 1 and len(ollama.requests_to("/api/chat")) == 1


def test_broken_stream_is_reported_not_returned_partially(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(chunks=["a", "b", "c", "d"], fault="broken"))
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host))
    assert info.value.kind == "broken_stream"
    assert "broke off" in str(info.value)
    assert len(ollama.requests_to("/api/chat")) == 1


def test_error_record_mid_stream_is_a_failure(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(chunks=["a", "b", "c", "d"], fault="error_record"))
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host))
    assert "an error was encountered while running the model" in str(info.value)


def test_a_record_trickling_byte_by_byte_cannot_outlive_the_budget(ollama: OllamaStandIn) -> None:
    # one byte every 10 ms inside a record that never ends: no read ever waits long enough to
    # trip httpx's read timeout, and no complete record reaches the per-record budget check. On
    # the injected clock (0.05 s per reading) the budget runs out after a few bytes; a client that
    # never gave up would see the stand-in drop the stream after 10 s: a broken stream, not a timeout.
    ollama.script(Reply(chunks=["a", "b"], fault="trickle", token_delay_s=0.01, slow_s=10.0))
    with pytest.raises(LLMCallFailed) as info:
        stream_chat(MESSAGES, settings=settings_for(ollama.host, ollama_timeout_s=1.0), clock=StepClock(0.05))
    assert info.value.kind == "timeout"
    assert info.value.metrics.ttft_ms is not None  # the content came; the open record never ended
    assert info.value.metrics.attempts == 1 and len(ollama.requests_to("/api/chat")) == 1
