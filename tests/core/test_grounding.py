"""The number check: claims, identifiers, units, rounding."""

from __future__ import annotations

import random
import re
import sys

import pytest

from bot.core import grounding
from bot.core.grounding import _whole_words, extract_claims, ground
from bot.core.numbers import format_number
from bot.core.types import Fact
from tests.factories import chimera_reports_facts
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
        "llama3.1:8b-instruct-q8_0 had 3 failed requests out of 63",  # value and row count
        "the llama model had 3 failed requests [F5]",  # named by a part of its name, and cited
        "3 failed requests out of 63 [F5]",  # no model named: the cited fact says whose
        "gemma3:270m had 2 cold starts, loading for 2.41 s or 2,410 ms",
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
        assert ungrounded(f"value {shown} here [{fact.id}]") == [], shown


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


def test_quoting_an_archive_text_a_fact_quotes_states_no_number() -> None:
    """«error_code 429» repeats the archive's words a fact quotes (whole or cut short): no claim.
    The same digits unquoted, or a quote no fact holds, are claims as before."""
    from bot.core.types import Fact, quoted

    facts = [Fact(id="F1", statement=f"m:1b: 130 of 150 requests failed; most common reason (130x): "
                                     f"{quoted('error_code 429: Token rate limit exceeded, retry in 20 s')}",
                  value=130.0, unit="requests", sources=("runs.csv",), model="m:1b", metric="failed_requests",
                  rows=150)]
    assert ungrounded_in("Most failures read «error_code 429: Token rate…» [F1].", facts) == []
    assert ungrounded_in("130 of 150 requests failed with «error_code 429» [F1].", facts) == []
    assert ungrounded_in("Requests failed with error_code 429 [F1].", facts) == ["429"]
    assert ungrounded_in("Requests failed with «error_code 503» [F1].", facts) == ["503"]


def ungrounded_in(text: str, facts: list) -> list[str]:
    return [c.text for c in ground(text, facts) if not c.grounded]


# --- issue 11/12: attribution, kinds, ratios, shares, non-LLM figures, the archive's own claims ---------

CHIMERA = chimera_reports_facts()  # the real archive's facts: F3/F6 gemma3:270m 290.0 tok/s, F5 gemma3:1b 183.9


def problems(text: str, facts: list[Fact] = CHIMERA) -> list[tuple[str, str]]:
    return [(c.text, c.problem) for c in ground(text, facts) if not c.grounded]


@pytest.mark.parametrize("text", [
    "llama3.1:8b-instruct-q8_0: median throughput 290.0 tok/s",
    "llama3.1:8b-instruct-q8_0, the throughput leader at 290.0 tok/s, should be the default.",
    "llama3.1:8b-instruct-q8_0's median is 290.0 tok/s",
    "(llama3.1:8b-instruct-q8_0) 290.0 tok/s",
    "The q8_0 model reaches 290.0 tok/s.",  # named by a distinctive part of its name
    "llama3.1:8b-instruct-q8_0 reaches 290.0 tok/s [F6].",  # citing gemma3:270m's fact does not help
])
def test_another_models_number_is_misattributed_whatever_the_punctuation(text: str) -> None:
    assert problems(text) == [("290.0 tok/s", "misattributed")]


def test_the_right_models_number_passes_with_any_punctuation() -> None:
    for text in ("gemma3:270m: median throughput 290.0 tok/s", "gemma3:270m, the leader at 290.0 tok/s, wins.",
                 "gemma3:270m's median is 290.0 tok/s", "gemma3:270m is fastest, and its median is 290.0 tok/s"):
        assert problems(text) == [], text


@pytest.mark.parametrize("text, expected", [
    ("gemma3:270m served 294 requests.", [("294", "misattributed")]),  # a total as one model's count
    ("Cold starts are rare: only 2 happened.", [("2", "misattributed")]),  # one model's count as the total
    ("93.6% of 76 files were skipped.", [("93.6%", "ungrounded"), ("76", "wrong_kind")]),  # 76 is requests
    ("gemma3:270m had 41 failed requests.", [("41", "wrong_kind")]),  # 41 is all its requests
    ("The model runs best with 1024.", [("1024", "wrong_kind")]),  # a setting is no measurement
])
def test_counts_must_be_of_the_same_things_and_the_same_scope(text: str, expected: list) -> None:
    assert problems(text) == expected


def test_counts_in_their_scope_pass() -> None:
    for text in ("294 LLM requests were recorded [F1].", "gemma3:270m: 2 of 41 requests failed.",
                 "81 of 294 requests failed; llama3.1:8b-instruct-q5_K_M had 25 of 35 fail.",
                 "gemma3:270m had 12 cold starts.", "27 of 101 files were skipped.",
                 "Raising num_ctx to 4096 changed little for gemma3:270m."):
        assert problems(text) == [], text


@pytest.mark.parametrize("text", [
    "The latency of the most recent model is 0.0512 ms.",
    "Use eager for the lowest latency: it runs at 0.154 ms.",
    "gemma3:270m answers in 0.154 ms.",
])
def test_a_non_llm_benchmark_figure_is_never_an_llm_metric(text: str) -> None:
    assert [p for _, p in problems(text)] in (["non_llm"], ["misattributed"])


def test_a_non_llm_figure_about_its_own_benchmark_passes() -> None:
    assert problems("The onnx backend of the MLP benchmark runs at 0.0512 ms [F66].") == []


@pytest.mark.parametrize("text, ok", [
    ("gemma3:270m reached 290.0 tok/s [F6], about 1.6 times gemma3:1b-it-qat's 183.9 tok/s [F5].", True),
    ("gemma3:270m doubled the throughput of gemma3:1b-it-qat.", False),  # 1.58x
    ("gemma3:270m is twice as fast as gemma3:1b-it-qat [F3][F5].", False),
    ("gemma3:270m is 1.58x faster than gemma3:1b-it-qat.", True),
    ("gemma3:270m is 58% faster than gemma3:1b-it-qat.", True),
    ("gemma3:270m is 90% faster than gemma3:1b-it-qat.", False),
    ("gemma3:1b-it-qat is about 37% slower than gemma3:270m [F3].", True),  # 1 - 183.9/290.0
    ("It has a 10-fold cross-entropy loss.", False),  # nothing to compare
    ("gemma3:270m is three times faster than llama3.1:8b-instruct-q4_0 [F8].", False),  # 3.74x
    ("gemma3:270m is 3.7 times faster than llama3.1:8b-instruct-q4_0 [F8].", True),
])
def test_ratio_words_are_checked_against_the_computed_ratio(text: str, ok: bool) -> None:
    ratio = [p for _, p in problems(text)]
    assert (ratio == []) is ok, ratio
    if not ok:
        assert ratio == ["ratio"]


@pytest.mark.parametrize("text, ok", [
    ("Half of all requests failed.", False),  # 81 of 294 = 27.6%
    ("Most requests failed, mainly because Ollama could not be reached [F26].", False),
    ("About a quarter of all requests failed [F2].", True),
    ("Most requests succeeded [F2].", True),
    ("Most of the requests of llama3.1:8b-instruct-q5_K_M failed [F27].", True),  # 25 of 35
    ("Half of the requests of gemma3:270m failed.", False),  # 2 of 41
    ("Most requests were fast.", False),  # nothing the facts count
    ("gemma3:270m served the most requests.", True),  # a superlative, not a share
])
def test_share_words_are_checked_against_the_counts(text: str, ok: bool) -> None:
    share = [p for _, p in problems(text)]
    assert (share == []) is ok, share


def test_a_claim_the_raw_rows_contradict_never_grounds_and_is_flagged_when_repeated() -> None:
    # F42: SUMMARY.md states gemma3:latest's mean TTFT as 165 ms; the raw rows give 567 ms
    assert problems("gemma3:latest has a mean TTFT of 165 ms.") == [("165 ms", "wrong_claim")]
    assert problems("gemma3:latest has a mean TTFT of 567 ms [F42].") == []
    # quoting the archive's claim as a claim, next to the fact that refutes it, is fine
    assert problems("The summary misstates gemma3:latest's mean TTFT: 165 ms claimed, 567 ms in the raw rows "
                    "[F42].") == []
    assert problems("The summary says gemma3:latest's mean TTFT is 165 ms.") == [("165 ms", "wrong_claim")]


def test_an_archive_claim_cannot_vouch_for_an_invented_number() -> None:
    # issue 12: a number stated in the archive's summary — one the product reports as contradicted —
    # grounded "9999 tok/s"
    forged = Fact("F9", "Claim in «SUMMARY.md» does not match the raw data: mean throughput_tok_s for m:1b "
                  "stated as 9,999 tok/s, raw rows give 46.6 tok/s (n=5, «runs.csv»).", 46.6, "tok/s", ("x",),
                  model="m:1b", metric="throughput_tok_s", rows=5, origin="claim")
    claims = ground("m:1b reaches 9,999 tok/s, or 46.6 tok/s on the raw rows.", [forged])
    assert [(c.text, c.grounded, c.problem) for c in claims] == [
        ("9,999 tok/s", False, "wrong_claim"), ("46.6 tok/s", True, "")]


def test_a_number_next_to_a_citation_must_be_that_facts() -> None:
    assert problems("gemma3:270m reaches 290.0 tok/s [F6].") == []
    assert problems("gemma3:270m reaches 290.0 tok/s [F5].") == [("290.0 tok/s", "miscited")]


def test_enumerators_are_not_claims() -> None:
    text = "Risks: 1. The model may be slow. 2. The model may be slow. (3) Again."
    assert [c.text for c in ground(text, CHIMERA)] == []


def test_a_bare_number_that_nothing_describes_is_not_grounded() -> None:
    # the real 270M model's recommendations were "1.5", "2.0", "3.0": no unit, no model, no metric
    assert problems("1.5") == [("1.5", "ungrounded")]
    assert problems("Go with 2.0 instead.") == [("2.0", "ungrounded")]
    assert problems("The TTFT p50 of gemma3:270m is 64.1.") == []  # said what it is: grounded


def test_whole_word_search_finds_what_the_whole_word_pattern_finds() -> None:
    """`_mask` finds names as whole words without compiling a pattern per name: same spans as
    ``(?<![^\\W_])name(?![^\\W_])`` with IGNORECASE, overlaps and Unicode case folding included."""
    rng = random.Random(15)
    alphabet = "aA1_-:. éÉſsSKkK9ß"
    for _ in range(20_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        pattern = rf"(?<![^\W_]){re.escape(name)}(?![^\W_])"
        assert list(_whole_words(name, text)) == [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]


def test_name_search_finds_what_the_name_pattern_finds() -> None:
    """`name_spans` checks `name_pattern`'s lookarounds by hand on lower-cased text: the same spans as
    the pattern's ``finditer``, on ASCII and non-ASCII text and names."""
    rng = random.Random(15)
    alphabet = "aA1_-:./ éÉſsSKkKİı9«»—"
    for _ in range(20_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert grounding.name_spans(name, text) == [m.span() for m in grounding.name_pattern(name).finditer(text)]


def test_only_four_characters_fold_to_ascii() -> None:
    """`_folded` compares ASCII names with lower-cased text: right as long as no other character
    matches an ASCII one under re.IGNORECASE than the four it looks for (İ ı ſ K)."""
    everything = "".join(map(chr, range(128, sys.maxunicode + 1)))
    assert set(re.findall(r"[\x00-\x7f]", everything, re.IGNORECASE)) == grounding._FOLDS_TO_ASCII
    # and lower-casing the text keeps its offsets and adds no ASCII letter, but for those four
    assert {c for c in everything if len(c.lower()) != 1 or c.lower().isascii()} <= grounding._FOLDS_TO_ASCII


def test_word_prefilters_find_what_the_patterns_find() -> None:
    """`_count_nouns` and `_ratio_word_claims` look for their words before running their patterns:
    the same matches as the patterns alone, on ASCII and non-ASCII text."""
    rng = random.Random(15)
    words = ["requests", "Failed", "errors", "runs", "rows", "FILES", "samples", "cold-start", "retries", "calls",
             "twice", "Doubled", "threefold", "half as", "halving", "tenfold", "x", "1", "ſamples", "ıs", " ", "-"]
    for _ in range(5_000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
        spans = [m.span() for m in grounding._COUNT_NOUN.finditer(text)]
        assert [m.span() for m in grounding._count_nouns(text)] == spans
        ratios = [(m.start(), m.end()) for pattern, _ in grounding._RATIO_WORDS for m in pattern.finditer(text)]
        assert [(c.start, c.end) for c in grounding._ratio_word_claims(text, text)] == ratios


@pytest.mark.parametrize(("pattern", "start"), [
    (grounding._NUMBER, grounding._NUMBER_START),
    (grounding._COUNT_NOUN, grounding._COUNT_NOUN_START),
    (grounding._WORD_NUMBER, grounding._WORD_NUMBER_START),
    (grounding._SHARE, grounding._SHARE_START),
    *[(mask, "(?=\\d)") for mask in grounding._MASKS[1:3]],
])
def test_a_patterns_lookahead_changes_none_of_its_matches(pattern: re.Pattern[str], start: str) -> None:
    """The lookaheads the scanning patterns start with only fail early where the pattern fails
    anyway: the same matches (and groups) as without them, on ASCII and non-ASCII text."""
    assert pattern.pattern.startswith(start)
    plain = re.compile(pattern.pattern.removeprefix(start), pattern.flags)
    rng = random.Random(16)
    words = ["requests", "Failed", "errors", "runs", "rows", "FILES", "samples", "cold-start", "retries", "calls",
             "attempts", "successful", "warm", "total", "LLM", "ſamples", "ıs", "twenty-one", "Three", "hundred",
             "thousand", "million", "and", "most", "the majority", "nearly all", "Half", "a third", "one quarter",
             "a minority", "of", "its", "−3", "+4.5e3", "12k", "1,234", "2024-01-02", "10:30", "x=4", "(1)", "K",
             "İ", "é", " ", "-", "\n", ".", ":", "9"]
    for _ in range(5_000):
        text = rng.choice(["", " "]).join(rng.choice(words) for _ in range(rng.randint(0, 7)))
        expected = [(m.span(), m.groupdict()) for m in plain.finditer(text)]
        assert [(m.span(), m.groupdict()) for m in pattern.finditer(text)] == expected, text
    mask = grounding._MASKS[4]
    assert mask.pattern.startswith("(?m)(?=\\()")
    plain = re.compile("(?m)" + mask.pattern.removeprefix("(?m)(?=\\()"))
    for text in ["(1) a\n(2) b", " (12) x", ">(3) y", ":(4)\tz", "a(5) b", "(123) c"]:
        assert [m.span() for m in mask.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_the_only_printable_whitespace_is_the_space() -> None:
    """`_mask` blanks a printable span without " " in one go: right as long as every other
    whitespace character (what the pattern's \\s matches) is unprintable."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert {c for c in everything if c.isspace() and c.isprintable()} == {" "}
    assert set(re.findall(r"\s", everything)) == {c for c in everything if c.isspace()}


def test_a_statement_without_a_unit_after_a_number_states_no_quantity_of_its_dimension() -> None:
    """A claim with a unit is compared only with the statements `_References._may_state` lets
    through for the unit's dimension: every statement where `extract_claims` finds a number with a
    unit of that dimension, names masked or not, units glued to what follows or not, on ASCII and
    non-ASCII text (ſ, K, İ, µ, ², É)."""
    rng = random.Random(17)
    words = ["3", "12.5", "4k", "1e3", "1,234", "−2", "forty-six", "Three", "hundred", "ms", "MS", "s", "Sec",
             "seconds", "min", "h", "hours", "µs", "us", "ns", "%", "percent", "per cent", "tok/s", "T/S", "tps",
             "tokens", "x", "×", "fold", "KB", "Kb", "gib", "MiB", "ſ", "ſec", "İ", "é", "_", "-", ":", ".", "=",
             "q8_0", "gemma3:270m", "num_ctx=4096", "[F3]", "«12 ms»", "2024-01-02", "(1)", "steps", "requests",
             "²", "_x", "a", "É"]
    identifiers = {"q8_0", "gemma3:270m", "gemma3", "270m", "F3"}
    dimensions = set(grounding._DIMENSION_SPELLINGS)
    for _ in range(20_000):
        text = rng.choice(["", " "]).join(rng.choice(words) for _ in range(rng.randint(1, 8)))
        fact = Fact(id="F1", statement=text, value=1.0, unit="ms", sources=())
        refs = grounding._References((fact,), (), frozenset({"num_ctx"}))
        stated = {grounding._UNIT_DIMENSIONS[c.unit][0]
                  for c in extract_claims(grounding.without_quoted(text), identifiers=identifiers)
                  if c.unit in grounding._UNIT_DIMENSIONS}
        assert {d for d in dimensions if refs._may_state(0, d)} >= stated - {"multiple"}, text


@pytest.mark.parametrize("facts", [FACTS, CHIMERA], ids=["realistic", "chimera-reports"])
def test_the_references_a_claim_skips_are_none_it_equals(facts: list[Fact]) -> None:
    """A claim is compared with `_References.for_claim`, which skips statements that cannot hold
    a number equal to it: in the same order, the very references of the whole list it equals."""
    rng = random.Random(18)
    refs = grounding._References(tuple(facts), grounding._index(tuple(facts)).models,
                                 grounding._index(tuple(facts)).keys)
    everything = refs.all()
    assert list(everything) == grounding.references(facts)
    numbers = sorted({abs(r.value) for r in everything} | {0.5, 3.0, 12.5, 1000.0})
    units = ["", "count", "ms", "s", "us", "min", "%", "tok/s", "x", "tokens", "mb", "gib"]
    for _ in range(3_000):
        value = rng.choice(numbers) * rng.choice([1.0, 1.0, 0.001, 1000.0, 0.01, 100.0])
        claim = grounding.Claim(0, 1, "n", value, rng.choice([0.5, 0.05, 0.005]), rng.choice(units),
                                sign=rng.choice([0, 0, 1, -1]))
        equal = [r for r in everything if grounding._equal(claim, r)]
        assert [r for r in refs.for_claim(claim) if grounding._equal(claim, r)] == equal


def test_a_number_beyond_the_float_range_is_a_claim_that_grounds_on_nothing() -> None:
    # a model wrote "1e400 ms": `10.0 ** 400` raised OverflowError out of ground(), and with it out
    # of the narrative's and the follow-up answer's checks
    facts = [Fact("F1", "Median TTFT of m:1b", 12.0, "ms", ("a.csv",), model="m:1b"),
             Fact("F2", "Failed requests of m:1b", 0.0, "ms", ("a.csv",), model="m:1b")]
    for text, value in [("TTFT was 1e400 ms [F1].", float("inf")), ("TTFT was 1e" + "9" * 5000 + " ms [F1].",
                                                                    float("inf")),
                        ("TTFT was 0e999 ms [F2].", 0.0), ("TTFT was 12e-400 ms [F1].", 0.0)]:
        (claim,) = ground(text, facts)
        assert claim.value == value and claim.tolerance == 0.0
        assert claim.fact_id != "F1"  # no figure equals it
    # within the float range, but not once converted: 1e308 h is inf ms, and inf slack took anything
    (hours,) = ground("TTFT was 1e308 h [F1].", facts)
    assert not hours.grounded and hours.fact_id is None
    (ratio,) = ground("m:1b is 1e400x faster [F1].", facts)
    assert not ratio.grounded
    (near,) = ground("TTFT was 1.2e1 ms [F1].", facts)
    assert (near.value, near.tolerance, near.grounded, near.fact_id) == (12.0, 0.5, True, "F1")


def test_a_unit_before_an_identifier_glued_by_an_underscore_is_still_a_reference() -> None:
    # the statement filter read "5 ms_q8_0" as no unit, while the masked text the claims come from
    # ("5 ms_#") has one: the fact was skipped, and a claim it grounds went ungrounded (review)
    facts = [Fact(id="F1", statement="latency p50 was 5 ms_q8_0 overall", value=99.0, unit="ms", sources=("a",),
                  model="llama3:q8_0", metric="latency_ms")]
    (claim,) = ground("llama3:q8_0 answers in 5 ms.", facts)
    assert claim.grounded and claim.fact_id == "F1"
