"""The number check: claims, identifiers, units, rounding."""

from __future__ import annotations

import pytest

from bot.grounding import extract_claims, format_value, ground
from tests.standins.ollama_server import realistic_facts

FACTS = realistic_facts()


def texts(claims) -> list[str]:
    return [c.text for c in claims]


def ungrounded(text: str) -> list[str]:
    return [c.text for c in ground(text, FACTS) if not c.grounded]


@pytest.mark.parametrize(
    "text",
    [
        "gemma3:270m beats llama3.1:8b-instruct-q8_0 and llama3.1:8b",
        "the q8_0 and q4_K_M quantisations, fp16, an H100",
        "set num_ctx=4096, num_gpu=999 and temperature=0.2",
        "see [F3] and [F1, F4]; F12 too",
        "p50 and p95 latency on 2025-11-14 at 10:30",
        "1. Use the small model\n2) Keep it warm",
        "an 8-bit model, a 270M-parameter model, a 4bit quant",
    ],
)
def test_identifiers_are_not_claims(text: str) -> None:
    assert extract_claims(text) == []


def test_numbers_with_units_are_claims() -> None:
    text = "46.6 tok/s, 0.87 s (870ms), 1,234.5 ms, 12%, 2.3x faster, 1.2k tok/s and 3 failures"
    claims = extract_claims(text)
    assert texts(claims) == ["46.6 tok/s", "0.87 s", "870ms", "1,234.5 ms", "12%", "2.3x", "1.2k tok/s", "3"]
    assert [c.unit for c in claims] == ["tok/s", "s", "ms", "ms", "%", "x", "tok/s", ""]
    assert claims[3].value == 1234.5
    assert claims[6].value == 1200.0


def test_words_starting_like_units_are_not_units() -> None:
    (claim,) = extract_claims("ran 400 steps")
    assert claim.unit == "" and claim.text == "400"


@pytest.mark.parametrize(
    "text",
    [
        "gemma3:270m runs at 290.1 tok/s",  # exact to the shown precision
        "gemma3:270m runs at 290 tokens per second",  # coarser rounding
        "TTFT p50 is 0.87 s",  # seconds vs a fact in ms
        "TTFT p50 is 870 ms",
        "TTFT p50 is 870",
        "p95 of 1,234.5 ms or 1.23 s",
        "the gap is 11.2% and 11%",
        "3 failed requests out of 63",  # value and row count
        "2 cold starts, loading for 2.41 s or 2,410 ms",
        "the best config uses num_ctx 1024",  # a number from the fact's configuration
        "a drop of -11.2%",
    ],
)
def test_numbers_matching_a_fact_are_grounded(text: str) -> None:
    claims = ground(text, FACTS)
    assert claims, "the text holds numbers"
    assert ungrounded(text) == []


def test_grounded_claims_name_the_fact() -> None:
    (claim,) = ground("TTFT is 0.87 s", FACTS)
    assert claim.fact_id == "F3"


@pytest.mark.parametrize(
    "text, bad",
    [
        ("gemma3:270m reaches 57 tok/s", ["57 tok/s"]),
        ("gemma3:270m reaches 290.3 tok/s", ["290.3 tok/s"]),  # shown precision too fine to match
        ("TTFT p50 is 0.9 ms", ["0.9 ms"]),  # wrong unit by a factor 1000
        ("llama is 6.2x slower", ["6.2x"]),  # a ratio no fact states
        ("a 35% improvement over 290.1 tok/s", ["35%"]),
        ("throughput of 46.6 tok/s is 46.6 ms", ["46.6 ms"]),
    ],
)
def test_invented_numbers_are_flagged(text: str, bad: list[str]) -> None:
    assert ungrounded(text) == bad


def test_time_rounding_tolerance_scales_with_the_written_precision() -> None:
    assert ungrounded("TTFT is 0.9 s") == []  # 870.4 ms rounds to 0.9 s
    assert ungrounded("TTFT is 0.88 s") == ["0.88 s"]  # 0.87 is the right two-decimal value


@pytest.mark.parametrize(
    "value, unit, expected",
    [
        (290.14, "tok/s", "290.1 tok/s"),
        (1234.5, "ms", "1,234 ms"),
        (870.4, "ms", "870.4 ms"),
        (11.2, "%", "11.2%"),
        (3, "count", "3"),
        (2.41, "s", "2.41 s"),
        (0.8731, "ratio", "0.873 ratio"),
        (2.3, "x", "2.3x"),
    ],
)
def test_format_value(value: float, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


def test_formatted_values_ground_against_their_own_fact() -> None:
    for fact in FACTS:
        shown = format_value(fact.value, fact.unit)
        assert ungrounded(f"value {shown} here") == [], shown
