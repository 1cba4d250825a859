"""Readers: file text -> TableBlocks. CSV and JSONL through pandas, JSON by walking, Markdown by lines.

Every reader takes untrusted text and either returns blocks or raises `NotATable` with a short
reason; partial problems (ragged lines) are returned as warnings.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import io
import itertools
import json
import operator
import re
import string
from typing import Any

from bot.core.ingest.records import IrregularCsv, Record, csv_records, records_of
from bot.core.ingest.tables import MODEL_COLUMNS, TableBlock
from bot.core.metrics import classify_column, normalize_name


class NotATable(ValueError):
    """The file holds nothing we can read as measurements (the message says why)."""


MAX_JSON_DEPTH = 40
MAX_BLOCKS_PER_FILE = 2000


# --------------------------------------------------------------------------------------- CSV
_SNIFFED = ";\t|"  # the delimiters looked for when the header has no ','


def read_csv(text: str, source: str) -> tuple[list[TableBlock], list[str]]:
    first_line = text[:text.find("\n")] if "\n" in text else text  # (not a copy of the rest)
    delimiter = ","
    if "," not in first_line:  # sniffing costs more than reading a small file: only when needed
        sample = text[:4096]
        # and only when the sample holds one of the delimiters: the sniffer finds none it does not
        # hold, and fails after counting each ASCII character in each line (0.35 ms for a line of
        # 80, 20 ms for a one-column file of 200 rows)
        if any(d in sample for d in _SNIFFED):
            with contextlib.suppress(csv.Error):
                delimiter = csv.Sniffer().sniff(sample, delimiters=_SNIFFED).delimiter
    try:
        columns, records, bad = csv_records(text, delimiter)
    except (IrregularCsv, csv.Error):
        columns, records, bad = _pandas_csv(text, delimiter)
    if not records and len(columns) <= 1:
        raise NotATable("no rows")
    warnings = [f"{bad} ragged line(s) with the wrong number of fields skipped"] if bad else []
    # Tools like Nsight Compute put a units row right under the header: drop fully blank rows.
    # (`value != ""` for each value, in C: a generator's frame per row cost more than the test)
    records = [r for r in records if any(map(operator.ne, r.values(), itertools.repeat("")))]
    return [TableBlock(columns=columns, records=records, source=source)], warnings


def _pandas_csv(text: str, delimiter: str) -> tuple[list[str], list[Record], int]:
    """The layouts `csv_records` leaves to pandas (a header it renames, an implicit index)."""
    import pandas as pd

    bad_lines: list[int] = []

    def on_bad_line(fields: list[str]) -> None:
        bad_lines.append(len(fields))
        return None

    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, engine="python",
            on_bad_lines=on_bad_line, skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        raise NotATable(f"not a readable CSV table ({_short(exc)})") from exc
    return list(frame.columns), frame.to_dict(orient="records"), len(bad_lines)


# -------------------------------------------------------------------------------------- JSON
def read_json(text: str, source: str) -> tuple[list[TableBlock], list[str]]:
    text = _without_escaped_nul(text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        # JSON Lines written with a .json extension.
        if "\n" in text.strip():
            try:
                return read_jsonl(text, source)
            except NotATable:
                pass
        raise NotATable(f"invalid JSON ({_short(exc)})") from exc
    return json_blocks(data, source), []


def json_blocks(data: Any, source: str) -> list[TableBlock]:
    """The tables of a parsed JSON document (what `read_json` finds in its text)."""
    blocks: list[TableBlock] = []
    _walk(data, source=source, path=[], model="", config={}, blocks=blocks, depth=0)
    return blocks


def read_jsonl(text: str, source: str) -> tuple[list[TableBlock], list[str]]:
    text = _without_escaped_nul(text)
    records: list[dict[str, Any]] = []
    bad = 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(item, dict):
            records.append(item)
        else:
            bad += 1
    if not records:
        raise NotATable("no JSON records")
    warnings = [f"{bad} unreadable JSON line(s) skipped"] if bad else []
    blocks: list[TableBlock] = []
    _walk(records, source=source, path=[], model="", config={}, blocks=blocks, depth=0)
    return blocks, warnings


def _without_escaped_nul(text: str) -> str:
    """JSON may spell NUL as \\u0000; no value of ours needs it and PostgreSQL text refuses it."""
    return text.replace("\\u0000", "") if "\\u0000" in text else text


_CONTAINER_KEYS = {"results", "runs", "data", "records", "benchmark", "benchmarks", "tests", "items",
                   "backends", "timing", "timing_stats", "run_results", "metrics", "samples"}


def _walk(node: Any, *, source: str, path: list[str], model: str, config: dict[str, Any],
          blocks: list[TableBlock], depth: int) -> None:
    """Collect into ``blocks`` every table found in ``node`` and below it."""
    if depth > MAX_JSON_DEPTH or len(blocks) >= MAX_BLOCKS_PER_FILE:
        return
    if isinstance(node, dict):
        _walk_object(node, source=source, path=path, model=model, config=config, blocks=blocks, depth=depth)
    elif isinstance(node, list):
        _walk_array(node, source=source, path=path, model=model, config=config, blocks=blocks, depth=depth)


_SAMPLE_KEYS = ("samples_ts", "samples_ns")


def _walk_object(node: dict[str, Any], *, source: str, path: list[str], model: str, config: dict[str, Any],
                 blocks: list[TableBlock], depth: int) -> None:
    """A JSON object: one record of its own scalars; then its nested values, which inherit its
    non-metric scalars as context (a file's top-level ``hardware``, ``backend``, ``date``, …)."""
    if _is_leaf(node):  # (most objects) what the loop below finds for it: its scalars are all of it
        if any(map(classify_column, node)):  # (a meaning is never false)
            columns, records = records_of([node])
            blocks.append(TableBlock(columns=columns, records=records, source=source, label=_label(path),
                                     model=_model_of(node) or model, config=dict(config)))
        return
    model = _model_of(node) or model
    scalars: dict[str, Any] = {}
    children: list[tuple[str, Any]] = []
    for key, value in node.items():  # (one pass: a JSON file is hundreds of small objects)
        if not isinstance(value, (dict, list)):
            scalars[key] = value
        elif key not in _SAMPLE_KEYS:
            children.append((key, value))
    # The scalars are a record when any key names a metric. With children, each scalar's key is
    # judged once: those naming no metric are what the children inherit. Without, the first key that
    # names one decides (an object of 100,000 distinct keys need not have each classified).
    if children:
        context = {k: v for k, v in scalars.items() if classify_column(k) is None}
        is_record = len(context) < len(scalars)
    else:
        context = {}
        is_record = any(classify_column(k) is not None for k in scalars)
    if is_record:
        record = _scalar_record(node, scalars)
        columns, records = records_of([record])
        blocks.append(TableBlock(columns=columns, records=records, source=source,
                                 label=_label(path), model=model, config=dict(config)))
    if not children:  # a leaf object: nothing inherits its scalars
        return
    inherited = dict(config)
    inherited.update(context)
    for key, child in children:
        _walk(child, source=source, path=[*path, str(key)], model=model, config=inherited,
              blocks=blocks, depth=depth + 1)


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})  # what JSON's scalars are parsed as


def _is_leaf(node: dict[str, Any]) -> bool:
    """Whether every value of the object is a JSON scalar: none is a dict or a list (nor a subclass of
    one), so none is walked into or flattened. One pass in C over its values' types (a loop over its
    items and an `isinstance` per value cost most of the walk of a file of small objects)."""
    return _SCALAR_TYPES.issuperset(map(type, node.values()))


def _scalar_record(node: dict[str, Any], scalars: dict[str, Any]) -> dict[str, Any]:
    """The object's scalars (given, one of them naming a metric) as one record."""
    record = dict(scalars)
    # llama-bench JSON keeps samples in a list beside the scalars
    for key in _SAMPLE_KEYS:
        if isinstance(node.get(key), list):
            record[key] = node[key]
    return record


def _walk_array(node: list[Any], *, source: str, path: list[str], model: str, config: dict[str, Any],
                blocks: list[TableBlock], depth: int) -> None:
    """A JSON array of objects: one table when their columns name a metric, else each object alone."""
    if not node or not isinstance(node[0], dict):  # (a list of texts or numbers: not its items' test each)
        return
    dicts = [item for item in node if isinstance(item, dict)]
    if not dicts or len(dicts) != len(node):
        return
    leaves = [_is_leaf(item) for item in dicts]
    # a leaf object is its own flat record (`_flatten` copies its items as they are: read, never written)
    flat = [item if leaf else _flatten(item) for item, leaf in zip(dicts, leaves, strict=True)]
    # The table's columns (as `records_of` finds them: the keys in order of first appearance) are
    # judged before its records are made: most arrays of objects that name no metric (a metrics
    # export's process lists, its per-GPU samples) are walked into, their records never used.
    if not any(map(classify_column, dict.fromkeys(itertools.chain.from_iterable(flat)))):
        for index, item in enumerate(dicts):
            if not leaves[index]:  # a leaf's keys are among the columns: none names a metric, it adds nothing
                _walk(item, source=source, path=[*path, str(index)], model=model, config=config,
                      blocks=blocks, depth=depth + 1)
        return
    columns, records = records_of(flat)
    blocks.append(TableBlock(columns=columns, records=records, source=source, label=_label(path), model=model,
                             config=dict(config)))
    _walk_nested_records(dicts, source=source, path=path, model=model, config=config, blocks=blocks,
                         depth=depth)


def _walk_nested_records(records: list[dict[str, Any]], *, source: str, path: list[str], model: str,
                         config: dict[str, Any], blocks: list[TableBlock], depth: int) -> None:
    """Lists of records inside the records of a table (e.g. per-run samples) are tables too."""
    for index, item in enumerate(records):
        for key, child in item.items():
            if isinstance(child, list) and child and isinstance(child[0], dict):
                _walk(child, source=source, path=[*path, str(index), key],
                      model=_model_of(item) or model, config=config, blocks=blocks,
                      depth=depth + 1)


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    """One level of nesting becomes 'parent.child' columns; lists of scalars stay as lists."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            if normalize_name(key) == "options":
                flat[key] = value
                continue
            for sub, subvalue in value.items():
                if not isinstance(subvalue, (dict, list)):
                    flat.setdefault(str(sub) if classify_column(str(sub)) else f"{key}.{sub}", subvalue)
        elif isinstance(value, list):
            if all(not isinstance(x, (dict, list)) for x in value):
                flat[key] = value
        else:
            flat[key] = value
    return flat


def _model_of(node: dict[str, Any]) -> str:
    if node.keys().isdisjoint(MODEL_COLUMNS):  # (most objects: one test in C, not six lookups)
        return ""
    for key in MODEL_COLUMNS:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _label(path: list[str]) -> str:
    parts = [p for p in path if not p.isdigit() and normalize_name(p) not in _CONTAINER_KEYS]
    return "/".join(parts)


# ---------------------------------------------------------------------------------- Markdown
_SEPARATOR = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?")
_HEADING = re.compile(r"(?:^|\s)(#{1,6})\s+([^#|]+?)(?=\s+#{1,6}\s|\s*$)")
_KEY_VALUE = re.compile(r"^\s*[-*]?\s*\**([A-Za-z][A-Za-z0-9 /()%_.\-]{1,60}?)\**\s*:\s*\**([^|]{1,80}?)\**\s*$")


def markdown_cells(line: str) -> list[str]:
    """The cells of one Markdown table row (outer pipes optional), stripped."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    return [cell.strip() for cell in text.split("|")]


def _row_cells(rows: list[str], width: int) -> list[list[str]]:
    """The cells of a table's rows (lines that start with a '|' once stripped), each row cut or
    padded to ``width`` cells (text glued after the row is dropped): ``markdown_cells`` of each, in
    one loop of C calls (the real archive's 545 rows: 0.52 ms -> 0.36 ms; a test compares)."""
    strip = str.strip
    out: list[list[str]] = []
    for line in rows:
        text = line.strip()  # (starts with the '|': it is dropped, and one at the end when after it)
        cells = list(map(strip, (text[1:-1] if len(text) > 1 and text[-1] == "|" else text[1:]).split("|")))
        if len(cells) != width:
            cells = (cells + [""] * width)[:width]
        out.append(cells)
    return out


def read_markdown(text: str, source: str, *, lines: list[str] | None = None) -> tuple[list[TableBlock], list[str]]:
    """Pipe tables (also glued to the line before or after), headings and `key: value` lines
    (``lines``: the text's lines, when at hand).

    Everything from Markdown is a *claim*: the archive's own prose about its numbers.
    """
    lines = text.splitlines() if lines is None else lines
    blocks: list[TableBlock] = []
    heading = ""
    heading_model = ""
    # Two passes over the lines: headings and tables first (a heading needs a '#', a table a '|'),
    # then the `key: value` lines (a ':' and no '|', which no table's line has). A `key: value` line
    # takes the heading in force at it (its own, when it has one): each heading is kept with the line
    # it starts at. (One loop for both ran its tests for the three kinds on every line holding a
    # '#', '|' or ':', and a third of a report's lines are `key: value` prose: 10% slower.)
    heading_lines: list[int] = []  # where the heading changes
    headings: list[tuple[str, str]] = []  # (heading, heading_model) from there on
    read_to = 0  # lines before this one were read as a table's rows
    for i in [i for i, line in enumerate(lines) if "#" in line or "|" in line]:
        if i < read_to:
            continue
        line = lines[i]
        if "#" in line:
            titles = _headings(line)
            for title in titles:
                heading = title
                heading_model = _model_in_text(heading) or heading_model
            if titles:
                heading_lines.append(i)
                headings.append((heading, heading_model))
        sep = _SEPARATOR.search(line) if "---" in line and "|" in line else None
        if sep and i > 0 and "|" in lines[i - 1]:
            width = len(markdown_cells(sep.group(0)))
            header = markdown_cells(lines[i - 1])[-width:]  # text glued before the table is dropped
            header += [""] * (width - len(header))  # a short header: its missing columns are unnamed
            j = i + 1
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            rows = _row_cells(lines[i + 1:j], width)
            if rows:
                columns, records = _transpose_metric_value(_unique(header), rows)
                blocks.append(TableBlock(columns=columns, records=records, source=source, label=heading,
                                         model=heading_model, markdown=True))
            read_to = j
    for i, column, value in _metric_lines(lines):
        at = bisect.bisect_right(heading_lines, i)  # the headings at or before line i
        label, model = headings[at - 1] if at else ("", "")
        blocks.append(TableBlock(columns=[column], records=[{column: value}], source=source, label=label,
                                 model=model, markdown=True))
    if not blocks:
        raise NotATable("Markdown without tables or metric lines")
    return blocks, []


def _headings(line: str) -> list[str]:
    """The titles `_HEADING` finds in a line holding a '#'. A plain heading line ('## Title': one run
    of 1 to 6 '#' first, none after it, no '|') is read without the pattern, which tries its
    lookahead at every character of the title (the same title: `\\s` and `str.strip` agree on
    what a space is)."""
    text = line.lstrip()
    title = text.lstrip("#")
    hashes = len(text) - len(title)
    if 1 <= hashes <= 6 and "#" not in title and "|" not in title and title[:1].isspace():
        stripped = title.strip()  # (a title of spaces is '' when the pattern finds it: two spaces or more)
        return [stripped] if stripped or len(title) > 1 else []
    return _pattern_headings(line)


def _pattern_headings(line: str) -> list[str]:
    """``[m.group(2).strip() for m in _HEADING.finditer(line)]``, read in one pass. The pattern's lazy
    title re-tries its lookahead (``\\s+#`` or ``\\s*$``) at every character, so a line with a long
    run of spaces took time growing with the square of its length (80,000 spaces: 63 s); here each
    run of spaces, each '#' and each title is looked at a bounded number of times. How the pattern
    matches, step by step (a test holds this to the pattern on random lines):

    - a run of 1 to 6 '#' at the line's start or after a space (a longer run never matches), then
      a space: its spaces, then the title;
    - the title holds no '#' or '|' and ends at the first place the lookahead holds: only the
      spaces before the next '#' or '|' (when a run of 1 to 6 '#' then a space follows them), or
      the spaces at the end of the line (when no '#' or '|' follows);
    - when no title can start at the first character after the spaces, the pattern gives the title
      its spaces back one at a time (a title of one space: '' once stripped);
    - the next match is searched from where the title ended (the lookahead's space is free to be
      the next heading's leading space)."""
    titles: list[str] = []
    size = len(line)
    end_spaces = len(line.rstrip())  # where the spaces at the line's end start
    pos = 0  # where the search for the next match starts
    h = line.find("#")
    while h != -1:
        if not (h == pos == 0 or (h > pos and line[h - 1].isspace())):
            h = line.find("#", h + 1)
            continue
        after = h + _run_of_hashes(line, h)
        if after - h > 6 or after >= size or not line[after].isspace():
            h = line.find("#", after)  # (the run's other '#' follow a '#': none starts a match)
            continue
        found = _NOT_SPACE.search(line, after)
        s = found.start() if found else size  # past the spaces after the '#'
        found = _HASH_OR_PIPE.search(line, s)
        q = found.start() if found else size  # the title cannot reach past it
        least_end = _least_title_end(line, q, end_spaces)
        for t in range(s, after, -1):  # where the title starts (the spaces are given back one by one)
            if least_end is None:
                break
            if t < size and line[t] not in "#|":
                title_end = max(least_end, t + 1)
                if q == size or title_end < q:
                    titles.append(line[t:title_end].strip())
                    pos = title_end
                    break
        h = line.find("#", max(pos, after))
    return titles


_HASH_OR_PIPE = re.compile(r"[#|]")
_NOT_SPACE = re.compile(r"\S")


def _run_of_hashes(line: str, at: int) -> int:
    """How many '#' follow one another from ``at``."""
    end = at
    while end < len(line) and line[end] == "#":
        end += 1
    return end - at


def _least_title_end(line: str, q: int, end_spaces: int) -> int | None:
    """Where `_HEADING`'s lookahead first holds for a title that must end by ``q`` (the next '#' or
    '|', or the line's end): at the line's trailing spaces when ``q`` is the end; at the spaces
    before ``q`` when a run of 1 to 6 '#' then a space starts there; None when it holds nowhere."""
    if q == len(line):
        return end_spaces
    if line[q] == "|":
        return None
    hashes = _run_of_hashes(line, q)
    if hashes > 6 or q + hashes >= len(line) or not line[q + hashes].isspace():
        return None
    start = q
    while start > 0 and line[start - 1].isspace():
        start -= 1
    return start


# How every line `_KEY_VALUE` reads starts, up to the ':' after its key, all runs possessive (one
# pass, no backtracking: a line of spaces is not tried again one space shorter at a time). The key
# found is `_KEY_VALUE`'s when that matches, perhaps with more spaces after it: its key ends at the
# first place stars and spaces lead to the ':', this one where the key's characters (a space among
# them) end. Where `_KEY_VALUE` matches, so does this.
_KEY_START = re.compile(r"\s*+[-*]?+\s*+\**+([A-Za-z][A-Za-z0-9 /()%_.\-]{1,60}+)\**+\s*+:")


_SEARCHED_REST = 200  # characters after a key's ':' searched for a unit (a value is at most 80 within them)


def _metric_lines(lines: list[str]) -> list[tuple[int, str, str]]:
    """(index, column, value) of each line `_metric_line` reads as a metric, in order: the lines
    with a ':' and no '|' (~1,800 per read of the real archive, ~120 of them metrics).

    `_metric_line`'s tests one by one were half of reading a report. Most lines are ruled out by
    one C call instead: a metric line starts as `_KEY_START` reads (a bullet, a key of the right
    characters, a ':'), and its key names a metric, or the text after the ':' holds a unit
    (`_UNIT_OF`; the value `_metric_line` tests is part of that text, and a unit ends in an 's').
    Only the lines passing both are read by `_metric_line` (what it finds is the answer; a test
    holds this reading to it on random lines)."""
    found: list[tuple[int, str, str]] = []
    for i in [i for i, line in enumerate(lines) if ":" in line and "|" not in line]:
        line = lines[i]
        start = _KEY_START.match(line)
        if start is None:
            continue
        end = start.end()
        # (a long rest is left to `_metric_line`, whose length test rejects it at C speed: the
        # pattern over a 64 MB rest cost ~7x that)
        if (classify_column(start.group(1).strip()) is None and len(line) - end <= _SEARCHED_REST
                and (line.find("s", end) < 0 or not _has_unit(line, end))):
            continue
        metric = _metric_line(line)
        if metric is not None:
            found.append((i, *metric))
    return found


def _metric_line(line: str) -> tuple[str, str] | None:
    """(column, value) of a `key: value` line whose key names a metric (`_key_value_column`), else None."""
    text = line[:line.index(" ## ")] if " ## " in line else line  # up to a glued heading
    key_part, _colon, value_part = text.partition(":")
    # `_KEY_VALUE`'s value is 1 to 80 characters within stars and spaces after the line's first ':'
    # (no character before it can be a ':'): a longer one is not tried, which spares the pattern's
    # slowest failures (20x a match), and `_UNIT_OF` is never run over a long line.
    if len(value_part.strip().strip("*")) > 80:
        return None
    # Most such lines are prose or settings, not metrics (a report has a thousand, nearly all
    # different), and whether `_KEY_VALUE` would find one that names a metric is known without the
    # pattern (3x faster). Its key is the text before the ':' less the bullets, stars and spaces
    # around it (`_bare_key`; the key's own trailing spaces and dashes too, which `normalize_name`,
    # all `classify_column` reads, drops as well): a sentence is no such key (`_has_key_shape`); and
    # a value with a unit holds a `_UNIT_OF` match that the text after the ':' holds too (every unit
    # it finds ends in an 's': a value without one, half of them, has none).
    key = _bare_key(key_part)
    if not _has_key_shape(key):
        return None
    if classify_column(key) is None and ("s" not in value_part or not _has_unit(value_part)):
        return None
    found = _key_and_value(text)
    if found is None:
        return None
    key, value = found
    column = _key_value_column(key, value)
    return None if column is None else (column, value)


def _key_and_value(text: str) -> tuple[str, str] | None:
    """``(m.group(1).strip(), m.group(2).strip())`` of ``m = _KEY_VALUE.match(text)``, None when it does
    not match; read without the pattern for a line (no '\\n') whose text after the ':' has no '|', where
    the pattern's lazy value tried its end (``\\**\\s*$``) at every character (the real archive's
    metric lines: 2.4 us a line, 1.0 here).

    Its key is `_KEY_START`'s, less spaces: neither start nor key can take a ':', so both end at the
    first one, and `_KEY_VALUE`'s lazy key is `_KEY_START`'s possessive one less its trailing spaces
    (`_KEY_START` matches where `_KEY_VALUE` does). Its value comes after the ':' and the spaces, then
    the stars, that follow it (the greedy runs' first try): it is the shortest text, 1 to 80
    characters, after which only stars then spaces are left, i.e. the rest less its trailing spaces
    and the stars before them (at least one character). Where that first try fails (nothing after
    the runs, or more than 80 characters), the pattern gives its runs back one by one: such lines
    are left to it. (A test holds this to the pattern on random lines.)"""
    start = _KEY_START.match(text)
    if start is not None and "\n" not in text and text.find("|", start.end()) < 0:
        after = text[start.end():].lstrip().lstrip("*")
        size = max(1, len(after.rstrip().rstrip("*")))
        if after and size <= 80:
            return start.group(1).strip(), after[:size].strip()
    match = _KEY_VALUE.match(text)  # the lines the first try does not settle
    return None if match is None else (match.group(1).strip(), match.group(2).strip())


# What `_KEY_VALUE`'s key is, less trailing spaces and dashes
_KEY_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9 /()%_.\-]{0,60}")
_KEY_SHAPE_CHARACTERS = string.ascii_letters + string.digits + " /()%_.-"


def _has_key_shape(key: str) -> bool:
    """Whether `_KEY_SHAPE` matches the whole key, told by string methods (in C, 1.5x faster than
    the pattern; a test holds them to it): at most 61 ASCII characters, the first a letter, every
    one of the pattern's (nothing is left when they are stripped from the ends)."""
    return len(key) <= 61 and key.isascii() and key[:1].isalpha() and not key.strip(_KEY_SHAPE_CHARACTERS)


# Every character `str.strip()` takes for a space (`str.isspace`; a test holds it to that), and the
# stars and dashes of bullets and bold.
_SPACES_STARS_DASHES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                        "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000*-")


def _bare_key(text: str) -> str:
    """The text without the spaces, stars and dashes around it ('- **Tokens/s** ' -> 'Tokens/s').
    One pass: stripping spaces, then stars and dashes, in turns until nothing changes is the same,
    but took time growing with the square of the length on a line like '- - - - …' (an archive's
    line can be 64 MB long)."""
    return text.strip(_SPACES_STARS_DASHES)


def _key_value_column(key: str, value: str) -> str | None:
    """The column a `key: value` line fills: the key when it names a metric, else the key with the
    value's unit when that does ('Latency: 5 ms' -> 'Latency (ms)'); None when neither does. (Without
    a unit, 'key ' names what 'key' names: it is not classified again, which spares a first reading
    one `classify_column` of each distinct key.)"""
    if classify_column(key) is not None:
        return key
    unit = _unit_of(value)
    if unit and classify_column(f"{key} {unit}") is not None:
        return f"{key} ({unit})"
    return None


def _unique(header: list[str]) -> list[str]:
    """Header cells as column names: empty or repeated ones numbered ('' '' -> 'column 1', 'column 2')."""
    out: list[str] = []
    taken: set[str] = set()  # (`in` the list was a scan of it: a header of 20,000 cells took 2 s)
    for index, name in enumerate(header, start=1):
        name = name or f"column {index}"
        while name in taken:
            name = f"{name} ({index})"
        out.append(name)
        taken.add(name)
    return out


_UNIT_OF = re.compile(r"\d\s*(ms|s|tokens/s|tok/s)\b")


# `_UNIT_OF` read backwards: the unit's last 's' (which no word character follows), the rest of the
# unit reversed ('ms', 's', 'tokens/s', 'tok/s'), spaces, a digit.
_UNIT_REVERSED = re.compile(r"s(?<!\ws)(?:|m|/snekot|/kot)\s*\d")


def _has_unit(text: str, start: int = 0) -> bool:
    """``_UNIT_OF.search(text, start) is not None``, searched in the text reversed (`_UNIT_REVERSED`):
    that pattern starts with a letter, which the search skips to in C, where `_UNIT_OF`'s first
    digit is tried at every character (the real archive's `key: value` lines: 0.33 ms -> 0.17 ms;
    a test holds the two to the same answer on random texts). Both read the same characters in
    opposite orders: a match of one is a match of the other, reversed."""
    return _UNIT_REVERSED.search(text[:start - 1:-1] if start else text[::-1]) is not None


def _unit_of(value: str) -> str:
    match = _UNIT_OF.search(value)
    return match.group(1) if match else ""


_LEADING_NUMBER = re.compile(r"^\s*([-+]?[\d,]*\.?\d+)")


def _transpose_metric_value(columns: list[str], rows: list[list[str]]) -> tuple[list[str], list[Record]]:
    """A two-column 'Metric | Value' table becomes one row whose columns are the metrics."""
    cols = [normalize_name(c) for c in columns]
    if not (len(cols) == 2 and cols[0] in {"metric", "name", "key"} and cols[1] in {"value", "result"}):
        return columns, [dict(zip(columns, row, strict=True)) for row in rows]
    record: dict[str, Any] = {}
    for name, value in rows:
        name = str(name).replace("*", "").strip()
        value = str(value).strip()
        if name.lower() == "model":
            record["model"] = value
            continue
        if classify_column(name) is None and _unit_of(value):
            name = f"{name} ({_unit_of(value)})"
        # keep only the leading number ("0.165 s (warm)")
        number = _LEADING_NUMBER.match(value)
        record[name] = number.group(1) if number else value
    return list(record), [record]


# A name:tag with a digit in its name, read without going back: `[a-z][a-z0-9.\-]*\d[a-z0-9.\-]*:` went
# back over every split of the name around each digit when no ':' followed (a heading of 160,000
# such characters took 68 s). The name ends at the ':', so it is one run of its characters holding
# an ASCII digit (the lookahead finds it), or two runs around the one other digit (`\d` is any
# Unicode digit, which no run holds): the same names are found, a test compares.
NAME_TAG = r"[a-z](?:(?=[a-z0-9.\-]*?[0-9])[a-z0-9.\-]*+|[a-z0-9.\-]*+(?![0-9])\d[a-z0-9.\-]*+):"
_MODEL_IN_TEXT = re.compile(rf"\b({NAME_TAG}[a-z0-9][a-z0-9._\-]*)", re.IGNORECASE)


def _model_in_text(text: str) -> str:
    if ":" not in text:  # the pattern needs one (tested 10x faster than the pattern fails)
        return ""
    match = _MODEL_IN_TEXT.search(text)
    return match.group(1) if match else ""


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
