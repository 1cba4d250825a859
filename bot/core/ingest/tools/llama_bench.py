"""llama.cpp ``llama-bench``: JSON, JSONL (stderr lines mixed in are skipped and counted), CSV, and
``-o md`` tables saved in ``.md``/``.log``/``.txt`` files; records nested in a wrapper (e.g. a
script's ``{"bench_raw": {…}, "build": …}``) too, with the wrapper's fields as context.

One record is one test: ``n_prompt>0, n_gen=0`` is ``ppN`` (prompt processing ->
``prompt_throughput_tok_s``), ``n_gen>0, n_prompt=0`` is ``tgN`` (generation -> ``throughput_tok_s``),
both is ``ppN+tgN`` (``combined_throughput_tok_s``); they are never pooled. ``samples_ts`` are the
repetitions (kind ``sample``); without them (CSV, Markdown) ``avg_ts``/``stddev_ts`` are kept as the
tool's aggregates (mean/std, n not recorded). Every other field is context (``n_depth``,
``build_commit``, ``gpu_info``, ``flash_attn``, …); ``test_time`` is an identifier. A failed test
writes no record, so there is nothing to mark failed.

Read and ignored: ``avg_ns``/``stddev_ns``/``samples_ns`` (the same timings as durations), and a
wrapper's own measurements (``tokens_per_sec`` = ``avg_ts``, VRAM/RAM/GTT/power/temperature).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from typing import Any

from bot.core.context import canonical_value, split_fields
from bot.core.ingest.readers import markdown_cells
from bot.core.ingest.tables import model_from_filename
from bot.core.ingest.tools.base import RowWriter, SourceFile, ToolRead, fingerprint, number

NAME = "llama-bench"
TIMING_FIELDS = frozenset({"avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts"})
_MD_HEADER = re.compile(r"^\s*\|?\s*model\s*\|.*\|\s*test\s*\|\s*t/s\s*\|?\s*$", re.IGNORECASE | re.MULTILINE)
# What a header needs, found (or not) 10x faster than the header: its "|" starts a fast scan
_MD_TS = re.compile(r"\|\s*t/s", re.IGNORECASE)
# What that needs in the text's folded bytes (`SourceFile.folded`): "t/s", or "t/ſ" (which the pattern
# reads as "t/s"), found from its "/" (a rare byte, which the pattern's scan skips to): 76 us for the
# real archive's 29 reports, where `_MD_TS` took 142 and ``in`` 160
_MD_T_SLASH_S = re.compile(rb"/(?<=t/)(?:s|\xc5\xbf)")
_SAMPLE_SEPARATORS = re.compile(r"[\s,\[\]]+")  # samples written as text: '[12.5, 13.1]'
_MD_BUILD = re.compile(r"^\s*build:\s*([0-9a-f]+)\s*\((\d+)\)", re.IGNORECASE)
_MD_TEST = re.compile(r"^(?:pp(?P<pp>\d+))?(?:\+?tg(?P<tg>\d+))?(?:\s*@\s*d(?P<depth>\d+))?$")
_PLUS_MINUS = re.compile(r"^\s*([-+]?\d[\d.,]*(?:[eE][-+]?\d+)?)\s*(?:±|\+/-)\s*([-+]?\d[\d.,]*(?:[eE][-+]?\d+)?)\s*$")


def is_record(obj: Any) -> bool:
    return (isinstance(obj, dict) and "avg_ts" in obj and ("n_prompt" in obj or "n_gen" in obj)
            and ("model_filename" in obj or "model_type" in obj or "build_commit" in obj))


def _nested(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(record, wrapper fields) when the object is a record or wraps exactly one."""
    if is_record(obj):
        return obj, {}
    inner = [key for key, value in obj.items() if is_record(value)]
    if len(inner) != 1:
        return None
    wrapper = {k: v for k, v in obj.items() if k != inner[0] and not isinstance(v, (dict, list))}
    return obj[inner[0]], wrapper


class LlamaBench:
    name = NAME

    def detect(self, file: SourceFile) -> float:
        if file.fmt in ("json", "jsonl"):
            objs, _ = file.objects()
            return 0.95 if any(_nested(o) is not None for o in objs[:20]) else 0.0
        if file.fmt == "csv":
            if "n_gen" not in file.first_line:  # (a column named so is in the line: most CSVs are not split)
                return 0.0
            header = {h.strip().strip('"') for h in file.first_line.split(",")}
            return 0.95 if {"avg_ts", "n_prompt", "n_gen"} <= header else 0.0
        if file.fmt in ("md", "text"):
            return 0.9 if (_MD_T_SLASH_S.search(file.folded) and _MD_TS.search(file.text)
                           and _MD_HEADER.search(file.text)) else 0.0
        return 0.0

    def read(self, file: SourceFile) -> ToolRead:
        if file.fmt == "csv":
            return _read_records(file, [(r, {}) for r in _csv_records(file.text)], [])
        if file.fmt in ("md", "text"):
            return _read_markdown(file)
        objs, stray = file.objects()
        pairs = [found for found in (_nested(o) for o in objs) if found is not None]
        return _read_records(file, pairs, stray)


ADAPTER = LlamaBench()


def _csv_records(text: str) -> list[dict[str, Any]]:
    return [dict(row) for row in csv.DictReader(io.StringIO(text)) if any((v or "").strip() for v in row.values())]


def test_of(record: Mapping[str, Any]) -> tuple[str, str]:
    """(metric, test label): tg = generation, pp = prompt processing, pp+tg = both."""
    n_prompt = number(record.get("n_prompt")) or 0
    n_gen = number(record.get("n_gen")) or 0
    depth = number(record.get("n_depth")) or 0
    at = f" @ d{int(depth)}" if depth else ""
    if n_gen and not n_prompt:
        return "throughput_tok_s", f"tg{int(n_gen)}{at}"
    if n_prompt and not n_gen:
        return "prompt_throughput_tok_s", f"pp{int(n_prompt)}{at}"
    if n_prompt and n_gen:
        return "combined_throughput_tok_s", f"pp{int(n_prompt)}+tg{int(n_gen)}{at}"
    return "", "empty test"


def _model(record: Mapping[str, Any]) -> str:
    filename = record.get("model_filename")
    if isinstance(filename, str) and filename.strip():
        return model_from_filename(filename)
    return str(record.get("model_type") or "").strip()


def _read_records(file: SourceFile, pairs: list[tuple[dict[str, Any], dict[str, Any]]], stray: list[str]
                  ) -> ToolRead:
    out = ToolRead()
    if stray:
        out.warnings.append(f"{len(stray)} line(s) that are not llama-bench records skipped (tool messages "
                            f"mixed into the output, e.g. {stray[0][:60]!r})")
    if not pairs:
        out.skip = "llama-bench output without records"
        return out
    records = [_flags_as_numbers(r) for r, _ in pairs]
    dims, idents = split_fields(records, skip=TIMING_FIELDS | {"model_filename"})
    wrapper_dims, wrapper_ids = split_fields([w for _, w in pairs])
    writer = RowWriter(file.rel, tool=NAME)
    for row, (record, _wrapper) in enumerate(pairs):
        d = {**wrapper_dims[row], **dims[row]}
        i = {**wrapper_ids[row], **idents[row]}
        _emit(writer, row, record, writer.context(d, i), _identity(record))
    out.measurements = writer.rows
    return out


def _identity(record: dict[str, Any]) -> str:
    """One test run, however it was exported (JSON, JSONL, CSV, nested in a wrapper): its build,
    model, test and start time. Every row of the record carries it."""
    keys = ("build_commit", "model_filename", "model_type", "n_prompt", "n_gen", "n_depth", "test_time")
    if not record.get("test_time"):
        return ""  # without its start time a re-export cannot be told from a repeated run
    return fingerprint([str(canonical_value(record.get(k))) for k in keys])


def _flags_as_numbers(record: dict[str, Any]) -> dict[str, Any]:
    """llama-bench writes flags as JSON booleans in some versions and 0/1 in others (and in CSV):
    one spelling, so ``flash_attn: true`` and ``flash_attn: 1`` are the same setting."""
    return {k: (int(v) if isinstance(v, bool) else v) for k, v in record.items()}


def _emit(writer: RowWriter, row: int, record: Mapping[str, Any], ctx: tuple[str, str], print_: str) -> None:
    metric, test = test_of(record)
    if not metric:
        return
    model = _model(record)
    samples = record.get("samples_ts")
    if isinstance(samples, str) and samples.strip().startswith("["):
        samples = [x for x in _SAMPLE_SEPARATORS.split(samples) if x]
    if isinstance(samples, (list, tuple)) and samples:
        for index, raw in enumerate(samples):
            value = number(raw)
            if value is None:
                continue
            writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="sample",
                       failed=value == 0, error="zero throughput" if value == 0 else "",
                       definition=f"llama-bench {test}: tokens/s of one repetition ({len(samples)} repetitions)",
                       request_id=f"{writer.source}#{row}.{index}", extra_ids={"repetition": str(index)},
                       print_=print_)
        return
    for field_name, statistic in (("avg_ts", "mean"), ("stddev_ts", "std")):
        value = number(record.get(field_name))
        if value is None:
            continue
        zero = statistic == "mean" and value == 0
        writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate",
                   statistic=statistic, failed=zero, error="zero throughput" if zero else "",
                   definition=f"llama-bench {test} {field_name}: {statistic} over its repetitions "
                              "(their number is not recorded)",
                   print_=print_)


# --- `-o md` tables --------------------------------------------------------------------------
def _tables(text: str) -> list[tuple[list[str], list[list[str]], dict[str, str]]]:
    """Every llama-bench table: (header, rows, build fields from the footer that follows it)."""
    lines = text.splitlines()
    tables: list[tuple[list[str], list[list[str]], dict[str, str]]] = []
    i = 0
    while i < len(lines):
        if not _MD_HEADER.match(lines[i]):
            i += 1
            continue
        header = [h.lower() for h in markdown_cells(lines[i])]
        rows: list[list[str]] = []
        j = i + 2  # the separator line follows the header
        while j < len(lines) and "|" in lines[j]:
            cells = markdown_cells(lines[j])
            if len(cells) == len(header):
                rows.append(cells)
            j += 1
        build: dict[str, str] = {}
        for k in range(j, min(j + 5, len(lines))):
            match = _MD_BUILD.match(lines[k])
            if match:
                build = {"build_commit": match.group(1), "build_number": match.group(2)}
                break
        tables.append((header, rows, build))
        i = j
    return tables


def _read_markdown(file: SourceFile) -> ToolRead:
    out = ToolRead()
    writer = RowWriter(file.rel, tool=NAME)
    row = 0
    for header, rows, build in _tables(file.text):
        for cells in rows:
            record = dict(zip(header, cells, strict=True))
            _emit_md_row(writer, row, record, build)
            row += 1
    if not writer.rows:
        out.skip = "llama-bench table without readable rows"
    out.measurements = writer.rows
    return out


def _emit_md_row(writer: RowWriter, row: int, record: dict[str, str], build: dict[str, str]) -> None:
    test = _MD_TEST.match(record.get("test", "").replace(" ", " ").strip())
    speed = _PLUS_MINUS.match(record.get("t/s", "")) or re.match(r"^\s*([-+]?\d[\d.,]*)\s*$", record.get("t/s", ""))
    if test is None or speed is None:
        return
    fields = {"n_prompt": int(test.group("pp") or 0), "n_gen": int(test.group("tg") or 0),
              "n_depth": int(test.group("depth") or 0)}
    dims = {k: canonical_value(v) or "" for k, v in record.items() if k not in ("model", "test", "t/s")}
    dims.update({k: str(v) for k, v in fields.items()})
    dims.update(build)
    ctx = writer.context(dims, {})
    metric, label = test_of(fields)
    if not metric:
        return
    model = record.get("model", "").strip()
    stats = [("mean", speed.group(1))]
    if speed.lastindex and speed.lastindex >= 2:
        stats.append(("std", speed.group(2)))
    for statistic, raw in stats:
        value = number(raw)
        if value is None or (statistic == "mean" and not math.isfinite(value)):
            continue
        zero = statistic == "mean" and value == 0
        writer.add(row=row, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate",
                   statistic=statistic, failed=zero, error="zero throughput" if zero else "",
                   definition=f"llama-bench {label} t/s ({'mean' if statistic == 'mean' else 'standard deviation'} "
                              "over its repetitions; their number is not recorded)")
