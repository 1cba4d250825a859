"""Shortcuts in the Markdown reader find what the plain per-line rules find (random and hostile lines)."""

from __future__ import annotations

import csv
import random
import re
import time
from collections.abc import Callable
from typing import Any

from bot.core.ingest.readers import (
    _KEY_START,
    _KEY_VALUE,
    _SNIFFED,
    _UNIT_OF,
    _has_unit,
    _key_and_value,
    _metric_line,
    _metric_lines,
    _row_cells,
    _unique,
    markdown_cells,
)

_PIECES = ["TTFT", "Latency", "Tokens/s", "eval_count", "Mean (ms)", "Notes", "x", "é", "5x", "1", "12.5", " ms",
           " s", "s", "tok/s", "tokens/s", ":", ": ", "**", "*", "-", " - ", " ", "  ", "\t", "\u3000", "\xa0", "(",
           ")", "%", "_", ".", "/", " ## ", "#", "|", "a" * 59, "b" * 70, "y" * 85, "ſ", "K", "Throughput", "n_gen",
           "5 ms", "7s", "ms", "avg ts", "p95"]


def _random_lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    lines = ["- **TTFT (ms):** 12", "Latency: 5 ms", "Tokens/s: 40 tok/s ## Next", "5x Speed: 3 s", "Notes: 5 s",
             "- - - Latency: 5 ms", "Throughput: " + "9" * 90 + " s", "é: 5 ms", "Eval: 5 ms # c", "a" * 30 + " " * 40
             + ": 5 s", "a" * 61 + ": 5 s", "a" * 62 + ": 5 s", "Foo * : 5 s", "Foo\t : 5 ms", "Foo  x: 5 s",
             "*-Latency: 5 ms", "-*Latency: 5 ms", "**Latency**: 5 ms", "Latency - : 5 ms", "Latency ## x: 5 ms"]
    lines += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12))) for _ in range(count)]
    return lines


def test_metric_lines_are_the_lines_metric_line_reads() -> None:
    lines = _random_lines(11, 40000)
    expected = [(i, *found) for i, line in enumerate(lines)
                if ":" in line and "|" not in line and (found := _metric_line(line)) is not None]
    assert _metric_lines(lines) == expected
    assert len(expected) > 500  # (the random lines do hold metrics)


def test_key_start_finds_the_key_of_every_line_the_pattern_reads() -> None:
    # `_KEY_START` stands in for `_KEY_VALUE`'s start: wherever that matches, so does `_KEY_START`, with
    # the same key (less spaces) and its ':' at the same place.
    for line in _random_lines(12, 40000):
        full = _KEY_VALUE.match(line)
        if full is None:
            continue
        start = _KEY_START.match(line)
        assert start is not None, repr(line)
        assert start.group(1).strip() == full.group(1).strip(), repr(line)
        assert line[start.end() - 1] == ":" and ":" not in line[:start.end() - 1], repr(line)


def test_key_and_value_are_what_the_pattern_reads() -> None:
    # `_key_and_value` reads a line's key and value without `_KEY_VALUE` where the pattern's first try
    # holds; the values of 0, 1, 79, 80 and 81 characters within stars and spaces, the lines with a '|'
    # or a '\n' after the ':' and those with nothing after its runs are the edges of that try.
    def by_pattern(text: str) -> tuple[str, str] | None:
        match = _KEY_VALUE.match(text)
        return None if match is None else (match.group(1).strip(), match.group(2).strip())

    edges = [f"- **Latency**:{' ' * spaces}{'*' * stars}{'x' * size}{'*' * after}{' ' * end}" for spaces in (0, 1)
             for stars in (0, 2) for size in (0, 1, 79, 80, 81) for after in (0, 1, 3) for end in (0, 2)]
    edges += ["a: ***", "a:", "a: ", "a: *", "a:* *", "a: x\n", "a: 5 | 6", "A b  :  ** 5 ms **  ", "Foo - : 5",
              "a" + " " * 70 + ": 5", "a" * 61 + ": 5", "Foo\t:\u3000 5 s\xa0", "x: 5\n\n"]
    lines = _random_lines(13, 100000) + edges
    assert [_key_and_value(line) for line in lines] == [by_pattern(line) for line in lines]
    assert sum(by_pattern(line) is not None for line in lines) > 3000


def test_hostile_key_value_lines_take_linear_time() -> None:
    # A line of spaces (or of key characters) before a ':' is read in one pass (an archive's line can
    # be 64 MB): four times the line, about four times the time, never sixteen.
    for make in (lambda n: " " * n + ":", lambda n: "a" + " " * n + ": 5 ms", lambda n: "- " + "*" * n + "a: 5 s",
                 lambda n: "a" * n + ": 5 ms"):
        small, large = make(200_000), make(800_000)
        assert _seconds(_metric_lines, [small]) * 12 > _seconds(_metric_lines, [large]) - 0.05


def _seconds(work: Callable[[Any], object], argument: object) -> float:
    start = time.process_time()
    work(argument)
    return time.process_time() - start


def _unique_by_list(header: list[str]) -> list[str]:
    """`_unique` as it was: each name looked for in the list of the names before it (quadratic)."""
    out: list[str] = []
    for index, name in enumerate(header, start=1):
        name = name or f"column {index}"
        while name in out:
            name = f"{name} ({index})"
        out.append(name)
    return out


def test_has_unit_is_the_unit_pattern_searched() -> None:
    # `_has_unit` searches `_UNIT_OF` backwards; the pieces are the pattern's parts, its neighbours
    # (word characters after a unit, Unicode digits and spaces, line breaks) and near misses.
    rng = random.Random(21)
    pieces = ["1", "9", "٣", "²", " ", "\t", "\u3000", "\xa0", "\n", "\x1c", "s", "m", "ms", "tokens/s", "tok/s", "tok",
              "tokens", "/", "/s", "_", "a", "é", "ſ", "S", "MS", "x1", "5 ms", "3s", "s5", "-", ".", "\ud800"]
    texts = ["", "s", "1s", "1 s", "1sx", "1s_", "1s é", "1 tokens/s", "1 tok/s/", "12\t\tms", "1 m s",
             "1" + " " * 300 + "s"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(100000)]
    hits = 0
    for text in texts:
        for start in {0, 1, len(text) // 2, len(text)}:
            expected = _UNIT_OF.search(text, start) is not None
            assert _has_unit(text, start) == expected, (text, start)
            hits += expected
    assert hits > 20000


def test_row_cells_are_markdown_cells_cut_to_width() -> None:
    rng = random.Random(22)
    pieces = ["|", "|", " ", "\t", "a", "5 ms", "**x**", "\u3000", "\xa0", "é", "\\|", "---", ":", "\x1f", "||"]
    rows = ["|", "||", "| |", "|a|", "|a", " | a | b | ", "|\u3000|", "|a|b|c|d|e|"]
    rows += ["|" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(40000)]
    rows = [rng.choice(["", " ", "\t", "\u3000"]) + row + rng.choice(["", " ", "\xa0"]) for row in rows]
    for width in (1, 2, 3, 5):
        assert _row_cells(rows, width) == [(markdown_cells(row) + [""] * width)[:width] for row in rows]


def test_unique_names_are_the_list_readings() -> None:
    rng = random.Random(4)
    pieces = ["", "a", "b", "a (2)", "a (3)", "column 1", "column 2", "a (2) (3)", "x"]
    for _ in range(5000):
        header = [rng.choice(pieces) for _ in range(rng.randint(0, 9))]
        assert _unique(header) == _unique_by_list(header), header


def test_a_wide_header_of_repeated_names_takes_linear_time() -> None:
    # 20,000 cells named 'a' took 2 s (each name looked for in a list of the names before it).
    header = ["a"] * 100_000
    assert _seconds(_unique, header) < 2.0
    assert _unique(["a", "a", "a"]) == ["a", "a (2)", "a (3)"]



# The name patterns as they were written before their runs were made possessive (backtracking
# over every split of a run around its digits: cubic for `_FASTEST`, quadratic for the others).
_OLD_NAME = r"[A-Za-z][\w.:\-]*\d[\w.:\-]*"
_OLD_SUBJECT = re.compile(rf"^\W*\**({_OLD_NAME})\**\s+is\s+[-+]?\d", re.IGNORECASE)
_OLD_FASTEST = re.compile(rf"\bfastest(?:\s+model)?\s*(?:is|:)\s*\**`?({_OLD_NAME})"
                          rf"|\**`?({_OLD_NAME})`?\**\s+is\s+the\s+fastest", re.IGNORECASE)
_OLD_MODEL = re.compile(r"\b([a-z][a-z0-9.\-]*\d[a-z0-9.\-]*:[a-z0-9][a-z0-9._\-]*"
                        r"|[a-z][a-z0-9.\-]*:(?:\d+(?:\.\d+)?[bm]|latest)[a-z0-9._\-]*)", re.IGNORECASE)
_OLD_MODEL_IN_TEXT = re.compile(r"\b([a-z][a-z0-9.\-]*\d[a-z0-9.\-]*:[a-z0-9][a-z0-9._\-]*)", re.IGNORECASE)


def _found(match: re.Match[str] | None) -> object:
    return None if match is None else (match.span(), match.groups())


def test_name_patterns_find_what_they_found_before() -> None:
    from bot.core.ingest.rankings import _FASTEST, _MODEL, _SUBJECT
    from bot.core.ingest.readers import _MODEL_IN_TEXT

    rng = random.Random(17)
    pieces = ["llama3.1:8b", "gemma3:4b", "qwen2.5", "a1", "b", "1", "12", ".", ":", "-", "_", "`", "*", "**", " ",
              "  ", "\t", " is ", " is the fastest", "fastest", "fastest model is ", "fastest: ", " 5", "x", "é",
              "ſ", "K", "İ", "latest", ":7b", "mistral:latest", "Q4", "٣", "is", "the"]
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))) for _ in range(60000)]
    hits = 0
    for line in lines:
        for new, old in ((_FASTEST, _OLD_FASTEST), (_SUBJECT, _OLD_SUBJECT), (_MODEL_IN_TEXT, _OLD_MODEL_IN_TEXT),
                         (_MODEL, _OLD_MODEL)):
            expected = _found(old.search(line))
            assert _found(new.search(line)) == expected, (new.pattern, line)
            hits += expected is not None
        assert _MODEL.findall(line) == _OLD_MODEL.findall(line), line
    assert hits > 20000


def test_long_names_are_read_in_time() -> None:
    # 'a1' 2,000 times after 'fastest' took 8 s (cubic); a heading of 'a1' 80,000 times before a ':' 68 s.
    from bot.core.ingest.rankings import find_rankings
    from bot.core.ingest.readers import _model_in_text

    assert _seconds(lambda text: find_rankings(text, "r.md"), "fastest " + "a1" * 2000 + " x\n") < 2.0
    assert _seconds(lambda text: find_rankings(text, "r.md"), "a1" * 200_000 + " x is 5% faster\n") < 2.0
    assert _seconds(_model_in_text, "x" + "a1" * 200_000 + ":") < 2.0


def test_the_sniffer_finds_no_delimiter_a_sample_does_not_hold() -> None:
    # `read_csv` does not sniff a sample holding none of `_SNIFFED`: the sniffer would fail on it
    rng = random.Random(17)
    pieces = ["a", "b", "1", "2.5", " ", "\n", "\r\n", '"', "'", ":", "=", "==ERROR==", "x y", "é", ".", "-", "\x00"]
    samples = ["", "\n", "a", "1\n2\n3\n", '"a" "b"\n"c" "d"\n', "a:b:c\nd:e:f\n" * 20, "'x' 'y'\n" * 30]
    samples += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 200))) for _ in range(400)]
    for sample in samples:
        assert not any(d in sample for d in _SNIFFED)
        try:
            found = csv.Sniffer().sniff(sample, delimiters=_SNIFFED).delimiter
        except csv.Error:
            continue
        raise AssertionError(f"{sample!r}: {found!r}")
