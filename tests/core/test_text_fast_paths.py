"""The Markdown and ranking readers' shortcuts read what the plain readings read (random lines and texts)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from bot.core.ingest import ingest_tree
from bot.core.ingest.readers import (
    _KEY_VALUE,
    _SEPARATOR,
    NotATable,
    _headings,
    _key_value_column,
    _metric_line,
    _model_in_text,
    _transpose_metric_value,
    _unique,
    markdown_cells,
    read_markdown,
)
from bot.core.ingest.tables import TableBlock
from bot.core.ingest.tools.base import SourceFile

_PIECES = ["TTFT", "Latency", "Tokens/s", "eval_count", "Mean (ms)", "Notes", "x", "é", "5x", "1", "12.5", " ms",
           " s", "tok/s", ":", ": ", "**", "*", "-", " - ", " ", "\t", "\u3000", "\xa0", "(", ")", "%", "_", ".", "/",
           " ## ", "#", "|", "a" * 70, "y" * 85]


def _metric_line_by_pattern(line: str) -> tuple[str, str] | None:
    """`_metric_line` as the pattern alone reads a line (without the tests that spare it)."""
    match = _KEY_VALUE.match(line.split(" ## ")[0])
    if match is None:
        return None
    key, value = match.group(1).strip(), match.group(2).strip()
    column = _key_value_column(key, value)
    return None if column is None else (column, value)


def test_metric_lines_are_what_the_pattern_reads() -> None:
    rng = random.Random(5)
    lines = ["- **TTFT (ms):** 12", "Latency: 5 ms", "Tokens/s: 40 tok/s ## Next", "5x Speed: 3 s", "Notes: 5 s",
             "- - - Latency: 5 ms", "Throughput: " + "9" * 90 + " s", "é: 5 ms", "Eval: 5 ms # c"]
    lines += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12))) for _ in range(30000)]
    for line in lines:
        if ":" in line and "|" not in line:
            assert _metric_line(line) == _metric_line_by_pattern(line), repr(line)


def test_key_shape_is_the_pattern() -> None:
    from bot.core.ingest.readers import _KEY_SHAPE, _has_key_shape

    rng = random.Random(9)
    alphabet = ["a", "Z", "5", " ", "/", "(", ")", "%", "_", ".", "-", "é", "\t", ",", "*", ":", "#", "\x00", "\u3000"]
    keys = ["", "a", "5a", "a" * 61, "a" * 62, "TTFT (ms)", "é", "aé", "a\n"]
    keys += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(30000)]
    for key in keys:
        assert _has_key_shape(key) == (_KEY_SHAPE.fullmatch(key) is not None), repr(key)


def _read_in_one_loop(text: str, source: str) -> list[TableBlock]:
    """`read_markdown` as one loop over the lines (headings, tables and `key: value` lines in turn)."""
    lines = text.splitlines()
    blocks: list[TableBlock] = []
    heading = heading_model = ""
    kv_rows: list[dict[str, Any]] = []
    read_to = 0
    for i, line in enumerate(lines):
        if i < read_to:
            continue
        if "#" in line:
            for title in _headings(line):
                heading = title
                heading_model = _model_in_text(heading) or heading_model
        sep = _SEPARATOR.search(line) if "---" in line and "|" in line else None
        if sep and i > 0 and "|" in lines[i - 1]:
            width = len(markdown_cells(sep.group(0)))
            header = markdown_cells(lines[i - 1])[-width:]
            header += [""] * (width - len(header))
            rows = []
            j = i + 1
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append((markdown_cells(lines[j]) + [""] * width)[:width])
                j += 1
            if rows:
                columns, records = _transpose_metric_value(_unique(header), rows)
                blocks.append(TableBlock(columns=columns, records=records, source=source, label=heading,
                                         model=heading_model, markdown=True))
            read_to = j
            continue
        found = _metric_line(line) if ":" in line and "|" not in line else None
        if found is not None:
            kv_rows.append({"model": heading_model, "label": heading, found[0]: found[1]})
    for row in kv_rows:
        label, model = row.pop("label"), row.pop("model")
        blocks.append(TableBlock(columns=list(row), records=[row], source=source, label=label, model=model,
                                 markdown=True))
    return blocks


def _outcome(read: Any, text: str) -> object:
    try:
        return read(text)
    except (NotATable, ValueError) as exc:
        return type(exc).__name__


def test_markdown_is_read_as_in_one_loop() -> None:
    rng = random.Random(7)
    line_pieces = ["# Results", "## gemma3:4b run", "| Metric | Value |", "|---|---|", "| TTFT | 5 ms |", "|a|b|c|",
                   "| --- | --- | --- |", "| 1 | 2 | 3 |", "- **TTFT (ms):** 12", "Latency: 5 ms", "x: 5 s ## Head",
                   "Eval: 5 ms # llama3:8b", "prose: words", "", "   | 1 | 2 |", "|---|", "Tokens/s: 40"]
    for _ in range(3000):
        lines = []
        for _ in range(rng.randint(1, 25)):
            line = rng.choice(line_pieces)
            if rng.random() < 0.2:
                line += "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 4)))
            lines.append(line)
        text = rng.choice(["\n", "\r\n", "\u2028"]).join(lines)
        expected = _outcome(lambda t: _read_in_one_loop(t, "r.md") or "NotATable", text)
        assert _outcome(lambda t: read_markdown(t, "r.md")[0], text) == expected, repr(text)


def test_markdown_headings_are_those_read_in_turn() -> None:
    # The labels and models of tables and `key: value` lines are the heading in force at their line
    # as every line read in turn finds it. Many headings (some naming models, some several on one
    # line, some in a table's rows or on its separator line), few metric lines.
    rng = random.Random(8)
    pieces = ["# Results", "## gemma3:4b run", "### llama3.1:8b", "# a ## qwen2.5:7b ## c", "#", "# ", "#  ",
              "####### x", "x # y", "Issue #3", "# llama3:8b | x", "## :", "# gemma2:2b: done", "#### é:1b",
              "| Metric | Value |", "|---|---|", "| TTFT | 5 ms |", "| # llama3:8b | 5 |", "|---|--- # x:1b",
              "| a | b |", "Latency: 5 ms", "- **TTFT (ms):** 12", "Eval: 5 ms # mistral7:7b", "x: 5 s ## Head",
              "prose: words", "", "   ## indented:1b"]
    for _ in range(3000):
        lines = [rng.choice(pieces) + ("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 3)))
                                       if rng.random() < 0.15 else "") for _ in range(rng.randint(1, 40))]
        text = rng.choice(["\n", "\r\n"]).join(lines)
        expected = _outcome(lambda t: _read_in_one_loop(t, "r.md") or "NotATable", text)
        assert _outcome(lambda t: read_markdown(t, "r.md")[0], text) == expected, repr(text)


def test_pattern_lines_are_the_lines_holding_a_word() -> None:
    from bot.core.ingest.rankings import _PATTERN_WORDS, _pattern_lines

    rng = random.Random(3)
    pieces = ["best", "fast", "slower", "ſ", "%", "x", " ", "\n", "\n", "\n", "\r\n", "\r", "\u2028", "\x1c", "İ",
              "be", "st", "BEST", "FaSt", "SLOWER", "\u212a", "Σ", "é", "\ud800", "\U0001f600", "\x85"]
    texts = ["", "best", "\nbest\n", "best\n" * 3000, "a" * 5000 + "fast", "Best\r\nx\r\nFAST\r\n", "ΣBEST\nx"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))) for _ in range(20000)]
    for text in texts:
        lowered = text.lower()
        expected = [(i, line) for i, line in enumerate(lowered.splitlines()) if any(w in line for w in _PATTERN_WORDS)]
        folded = SourceFile(rel="r.md", fmt="md", text=text).folded
        assert _pattern_lines(text, folded, text.splitlines()) == expected, repr(text)


def test_folded_bytes_hold_an_ascii_word_as_the_lowered_text_does() -> None:
    # `SourceFile.folded`: the characters beyond ASCII whose lowered form holds an ASCII character are
    # 'İ' (an 'i' then a combining dot) and the Kelvin sign (a 'k'), and no character but 'ſ' lowers to
    # one holding 'ſ' (every code point; surrogates are encoded as they are)
    everything = [chr(code) for code in range(0x80, 0x110000)]
    assert [c for c in everything if any(x.isascii() for x in c.lower())] == ["\u0130", "\u212a"]
    assert "\u0130".lower() == "i\u0307"
    assert [c for c in everything if "ſ" in c.lower()] == ["ſ"]
    # so the words looked for in them are found as in the lowered text
    rng = random.Random(5)
    pieces = ["best", "b", "est", "eval", " rate", " count", " duration", ":", "%", "fast", "slower", "fastest",
              "t/s", "T/S", "t/ſ", "İ", "\u212a", "I", "ı", "E", "Σ", "\ud800", "é", "\n", " "]
    words = ["best", "fast", "slower", "fastest", "%", "eval rate:", "eval count:", "eval duration:", "t/s", "ſ"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        folded = SourceFile(rel="r.md", fmt="md", text=text).folded
        for word in words:
            assert (word.encode() in folded) == (word in text.lower()), (text, word)


def test_a_header_narrower_than_its_separator_leaves_its_missing_columns_unnamed(tmp_path: Path) -> None:
    # It raised ValueError (zip strict) and the whole file was skipped as "internal error".
    (tmp_path / "r.md").write_text("# llama3 results\n\n|model|ttft_ms|\n|---|---|---|\n|llama3|5|7|\n\nTTFT: 6 ms\n")
    found = ingest_tree(tmp_path, workers=1)
    assert found.inventory.skipped == []
    assert sorted(found.claims["value"].tolist()) == [5.0, 6.0]
