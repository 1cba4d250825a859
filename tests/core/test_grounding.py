"""The number check: claims, identifiers, units, rounding."""

from __future__ import annotations

import pytest

from bot.core.grounding import extract_claims, ground
from bot.core.numbers import format_number
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
    assert [c.unit for c in claims] == ["tok/s", "s", "ms", "ms", "%", "x", "tok/s", "count"]
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
        "a gap of +11.2%",
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
    assert format_number(value, unit, style="value") == expected


def test_formatted_values_ground_against_their_own_fact() -> None:
    for fact in FACTS:
        shown = format_number(fact.value, fact.unit, style="value")
        assert ungrounded(f"value {shown} here") == [], shown


# --- adversarial review: numbers the model can write that must not pass as grounded ---------------


@pytest.mark.parametrize(
    "text, bad",
    [
        ("llama reaches 4.66e5 tok/s", ["4.66e5 tok/s"]),  # scientific notation was invisible
        ("TTFT p50 is 1e4 ms", ["1e4 ms"]),
        ("gemma3:270m reaches 99K tok/s", ["99K tok/s"]),  # an upper-case k was invisible
        ("llama reaches 46.6-99 tok/s", ["99 tok/s"]),  # the upper end of a range was invisible
        ("TTFT p50 is _8.7 s_", ["8.7 s"]),  # Markdown italics hid the number
        ("TTFT p50 is __8.7 s__", ["8.7 s"]),
        ("cold starts take 3 hrs", ["3 hrs"]),
        ("llama had 290 failed requests", ["290"]),  # a throughput value is not a count
        ("llama reaches forty-seven tok/s, gemma3:270m ninety-nine tok/s", ["ninety-nine tok/s"]),
        ("llama is three times slower", ["three times"]),
    ],
)
def test_adversarial_numbers_are_flagged(text: str, bad: list[str]) -> None:
    assert ungrounded(text) == bad


@pytest.mark.parametrize(
    "text",
    [
        "llama reaches 4.66e1 tok/s",
        "TTFT p95 is 1.2345e3 ms",
        "throughput between 270.9-301.2 tok/s",
        "TTFT p50 is _870 ms_",
        "llama had 3 failed requests, gemma3:270m 2 cold starts",
        "gemma3:270m was measured on 118 requests",  # a row count
        "gemma3:270m reaches two hundred ninety tok/s",
        "the llama model had three failed requests",
    ],
)
def test_adversarial_spellings_of_true_numbers_stay_grounded(text: str) -> None:
    assert ungrounded(text) == []


def test_an_explicit_sign_must_agree_with_the_fact() -> None:
    from bot.core.types import Fact

    change = Fact("F20", "Throughput change of gemma3:270m vs the previous run", -12.0, "%", ("a.csv",),
                  model="gemma3:270m")
    facts = [*FACTS, change]

    def bad(text: str) -> list[str]:
        return [c.text for c in ground(text, facts) if not c.grounded]

    assert bad("throughput changed by -12%") == []
    assert bad("throughput changed by −12%") == []
    assert bad("throughput fell 12%") == []  # the size of the change, sign in words
    assert bad("throughput changed by +12%") == ["+12%"]
    assert bad("the best config is +11.2% faster") == []
    assert bad("the best config is -11.2% faster") == ["-11.2%"]  # F9 is a positive gap


def test_a_numeric_model_tag_does_not_blind_the_check() -> None:
    from bot.core.types import Fact

    # archive-controlled model names become identifiers; a tag that is just a number must not
    # mask that number everywhere in the text
    odd = Fact("F21", "Median throughput of mixtral:70", 12.5, "tok/s", ("a.csv",), model="mixtral:70")
    facts = [*FACTS, odd]
    claims = ground("mixtral:70 reaches 12.5 tok/s while gemma3:270m reaches 170 tok/s", facts)
    assert [(c.text, c.grounded) for c in claims] == [("12.5 tok/s", True), ("170 tok/s", False)]


def test_a_number_attributed_to_the_wrong_named_model_is_not_grounded() -> None:
    # 290.1 tok/s is gemma3:270m's throughput (F1); next to the llama model's full name it is wrong
    wrong = ground("llama3.1:8b-instruct-q8_0 reaches 290.1 tok/s.", FACTS)
    assert [(c.text, c.grounded) for c in wrong] == [("290.1 tok/s", False)]
    right = ground("llama3.1:8b-instruct-q8_0 reaches 46.6 tok/s; gemma3:270m reaches 290.1 tok/s.", FACTS)
    assert [(c.text, c.grounded, c.fact_id) for c in right] == [
        ("46.6 tok/s", True, "F2"), ("290.1 tok/s", True, "F1")]
    both = ground("gemma3:270m at 290.1 tok/s beats llama3.1:8b-instruct-q8_0 at 46.6 tok/s.", FACTS)
    assert all(c.grounded for c in both)
    unnamed = ground("The llama model reaches 46.6 tok/s.", FACTS)  # no full name: nothing to check
    assert all(c.grounded for c in unnamed)


def test_numbers_quoted_from_the_archive_do_not_ground_a_claim() -> None:
    from bot.core.types import Fact, quoted

    reason = "upstream said 999 tok/s is too slow"

    def fact(text: str) -> Fact:
        return Fact(id="F1", statement=f"m:1b: 2 of 9 requests failed; most common reason (2x): {text}",
                    value=2.0, unit="requests", sources=("runs.csv",), model="m:1b", rows=9)

    def grounded(facts: list[Fact]) -> bool:
        (claim,) = [c for c in ground("The model hit 999 tok/s.", facts) if c.text == "999 tok/s"]
        return claim.grounded

    assert grounded([fact(reason)])  # unmarked archive text would vouch for the number…
    assert not grounded([fact(quoted(reason))])  # …quoted, it does not
