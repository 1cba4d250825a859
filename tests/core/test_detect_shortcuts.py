"""The shortcuts of a file's reading before its table is read, held to what they stand for (random and
hostile inputs): a report's folded bytes lowered from the file's own bytes (`files.utf8_of`), a NUL
looked for in them (`files._skip_text`), a file's path joined to a root joined once (`Archive.full`),
and the cheap tests that rule a file out before a detector looks at it (`llama_bench`, `ollama`,
`vllm`, and `generic`'s escaped NUL)."""

from __future__ import annotations

import codecs
import random
import re

from bot.core.ingest.files import _skip_text, decode, utf8_of
from bot.core.ingest.tools import llama_bench, ollama, vllm
from bot.core.ingest.tools.base import SourceFile
from bot.core.ingest.tools.vllm import kind_of

# characters the patterns read as others (re.IGNORECASE: 'ſ' is an 's', the Kelvin sign a 'k', 'ı' an
# 'i'), characters that lower to several, whitespace `str.splitlines` or ``\s`` know, lone surrogates
_ODD = ["ſ", "\u212a", "ı", "İ", "Σ", "é", "\x1c", "\x85", "\u2028", "\u3000", "\xa0", "\t", "\r\n", "\r",
        "\ud800", "\U0001f600", "\x00"]


def _texts(pieces: list[str], count: int, longest: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, longest))) for _ in range(count)]


def test_utf8_of_is_the_decoded_text_encoded_again() -> None:
    rng = random.Random(41)
    pieces = [b"a", b"Z", b"\n", "é".encode(), "€".encode(), "😀".encode(), "İ".encode(), "ſ".encode(),
              "\u212a".encode(), b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\x00", b"\x00\x00", b" ",
              codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, "x".encode("utf-16-le"),
              "é".encode("utf-16-be")]
    samples = [b"", codecs.BOM_UTF8, codecs.BOM_UTF8 * 2, codecs.BOM_UTF16_LE + "İx".encode("utf-16-le"),
               codecs.BOM_UTF16_BE + "Σ".encode("utf-16-be")]
    samples += [b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 20))) for _ in range(20000)]
    valid = [codecs.BOM_UTF8, *(piece.encode() for piece in ["a", "Z", "\n", "é", "😀", "İ", "ſ", "\u212a", "\x00",
                                                                  " ", "\u3000", "\x1c"])]
    samples += [b"".join(rng.choice(valid) for _ in range(rng.randint(1, 20))) for _ in range(5000)]
    decoded = 0
    for data in samples:
        text, _reason = decode(data)
        if text is None:
            continue
        decoded += 1
        utf8 = utf8_of(data)
        if utf8 is not None:
            assert utf8 == text.encode("utf-8", "surrogatepass"), data
        else:
            assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)), data
        assert _skip_text(text, data) == _skip_text(text), data  # (a NUL looked for in the bytes)
        given = SourceFile(rel="r.md", fmt="md", text=text, utf8=utf8)
        assert given.folded == SourceFile(rel="r.md", fmt="md", text=text).folded, data
        assert given.utf8 is None  # let go once folded
    assert decoded > 5000


def _llama_markdown_as_it_was(text: str) -> float:
    return 0.9 if llama_bench._MD_TS.search(text) and llama_bench._MD_HEADER.search(text) else 0.0


def test_what_a_llama_bench_header_needs_is_in_the_folded_bytes() -> None:
    # the characters the header's "t/s" matches (re.IGNORECASE) are those the folded bytes are searched for
    everything = [chr(code) for code in range(0x110000)]
    for letter, found in (("t", ["T", "t"]), ("/", ["/"]), ("s", ["S", "s", "ſ"])):
        pattern = re.compile(re.escape(letter), re.IGNORECASE)
        assert [c for c in everything if pattern.fullmatch(c)] == found
    pieces = ["|", "| ", " ", "t", "T", "/", "s", "S", "t/s", "T/S", "t/ſ", "model", "MODEL", "test", " | ", "x",
              "tok/s", "/s", "k", *_ODD]
    texts = ["| model | size | test | t/s |", "|model|test|t/ſ|", "| MODEL | TEST | T/S", "t/s", "| t\u3000/s"]
    texts += _texts(pieces, 30000, 14, 43)
    texts += ["| model | backend | test | t/s |\n" + text for text in texts[:2000]]
    for text in texts:
        for fmt in ("md", "text"):
            file = SourceFile(rel=f"r.{fmt}", fmt=fmt, text=text)
            assert llama_bench.ADAPTER.detect(file) == _llama_markdown_as_it_was(text), repr(text)
        folded = SourceFile(rel="r.md", fmt="md", text=text).folded
        assert bool(llama_bench._MD_T_SLASH_S.search(folded)) == (b"t/s" in folded or b"t/\xc5\xbf" in folded)


def _ollama_text_as_it_was(file: SourceFile) -> float:
    folded = file.folded
    if b"eval rate:" not in folded and (b"eval count:" not in folded or b"eval duration:" not in folded):
        return 0.0
    stats = {m.group(1).lower() for m in map(ollama._STAT_LINE.match, file.text.splitlines()) if m}
    return 0.9 if "eval rate" in stats or {"eval count", "eval duration"} <= stats else 0.0


def test_the_ollama_names_looked_for_first_rule_out_what_the_names_did() -> None:
    pieces = ["eval", "val", "e", "E", "EVAL", " rate", " count", " duration", " RATE", ":", ": 1", ": 2.5 tokens/s",
              "\n", "prompt ", "total duration", "v", "al ", " ", "duratıon", *_ODD]
    texts = ["eval rate: 1\n", "EVAL COUNT: 3\nEval Duration: 1s\n", "prompt eval rate: 2\n", "val rate:"]
    texts += _texts(pieces, 30000, 12, 47)
    lines = ["eval rate: 1", "EVAL COUNT: 2", "eval duration: 1s", "Eval Duratıon: 1s", "  eval rate:   3 tokens/s",
             "eval\u3000rate: 1", "prompt eval count: 4", "eval count:", "Eval Count: 5", "eval duration:\t2ms", "x",
             "ſ", "İ", "eval rate: 1 ſ"]
    texts += _texts([*lines, "\n", "\r\n", "\x1c", "\u2028"], 5000, 8, 61)
    for text in texts:
        file = SourceFile(rel="r.md", fmt="md", text=text)
        assert ollama.ADAPTER.detect(file) == _ollama_text_as_it_was(SourceFile(rel="r.md", fmt="md", text=text)), \
            repr(text)


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def test_a_csv_header_without_the_columns_a_tool_needs_is_not_split() -> None:
    names = ["n_gen", "n_prompt", "avg_ts", "model_type", "burstiness", "request_rate", "mean_ttft_ms",
             "num_prompts", "ttfts", "output_lens", "completed", "ttft_s", "x"]
    pieces = [*names, ",", ",", '"', " ", "\t", "\u3000", "\x1c", "\n", "N_GEN", "ttft", "_ms", *_ODD[:6]]
    rng = random.Random(53)
    texts = _texts(pieces, 30000, 12, 59)
    texts += [",".join(rng.sample(names, rng.randint(1, len(names)))) for _ in range(5000)]
    texts += ['"n_gen","n_prompt","avg_ts"', " n_gen ,\u3000n_prompt,avg_ts\n1,2,3", "request_rate, burstiness"]
    for text in texts:
        file = SourceFile(rel="r.csv", fmt="csv", text=text)
        header = {h.strip().strip('"') for h in _first_line(text).split(",")}
        assert llama_bench.ADAPTER.detect(file) == (0.95 if {"avg_ts", "n_prompt", "n_gen"} <= header else 0.0), \
            repr(text)
        header = {h.strip() for h in _first_line(text).split(",")}
        assert vllm.ADAPTER.detect(file) == (0.9 if kind_of(dict.fromkeys(header, 0)) == "serve" else 0.0), repr(text)


def test_a_json_text_without_a_backslash_has_no_escaped_nul() -> None:
    from bot.core.ingest.tools.generic import _no_escaped_nul

    pieces = ["\\", "\\u", "0", "00", "u0000", "\\u0000", "\\\\u0000", '"', "a", "\\U0000", *_ODD]
    for text in ["", "\\u0000", '{"a": "\\u0000"}', '{"a": 1}', *_texts(pieces, 20000, 10, 67)]:
        assert _no_escaped_nul(text) == ("\\u0000" not in text), repr(text)


def test_an_archive_joins_its_root_and_a_path_as_os_path_join() -> None:
    import os

    from bot.core.ingest.files import Archive

    roots = ["", "/", "//", "a", "a/", "/x/y", "/x/y/", "/x//", ".", "..", " ", "é/"]
    rels = ["", "a", "a/b.csv", "/abs.csv", "//x", "./a", "../a", " a", "a/", "é.md", "a\\b"]
    for root in roots:
        archive = Archive(root, rels, 1)
        for rel in rels:
            assert archive.full(rel) == os.path.join(root, rel), (root, rel)
