"""A measurement's context: every dimension it came with, as one canonical JSON text.

Every measurement row carries two JSON objects (see `bot.core.types`):

- ``context``      {dimension: value as text} — the non-metric fields of its record, the file's own
                   metadata that fits the record, and the parts of its path (``folder``, ``file``);
- ``identifiers``  {name: value as text} — ids, timestamps, prompt text and repetition markers: kept
                   for provenance, never grouped on.

Both are written by `encode` (keys sorted, compact, UTF-8 kept), so equal contexts are equal texts.

How a field is judged (`classify_field`, the general rule; a tool adapter may know better and say so):

1. status      a name with ``error`` in it, or ``success``/``status``/``was_cancelled``: decides ok/failed;
2. identifier  every value a timestamp (ISO-8601, ``YYYYMMDD-hhmmss``), or a time-like name
               (``time``/``date``/``stamp``/``_at``/``_ns``) whose values are timestamps or epochs;
               UUIDs or 32-hex ids; free text (a name like ``prompt``/``text``/``message``/``response``,
               or a value with a line break); a repetition marker (``rep``, ``run``, ``iteration``,
               ``trial``, ``seed``, ``index``, ``prompt_index``, …) that takes several values
               (a constant ``seed`` is context);
3. dimension   a requested input even when numeric (``n_*``/``num_*``, ``max_concurrency``,
               ``request_rate``, ``qps``, ``concurrency``, ``burstiness``, ``batch``);
4. metric      a number whose name carries a unit or statistic (``_ms``, ``_s``, ``_mib``, ``_w``,
               ``latency``, ``throughput``, ``duration``, ``mean_``, ``p99``, …) or an outcome count
               (``completed``, ``failed``, ``_count``, ``total_``, ``number_``, ``_chars``, ``_lens``):
               read by the adapter when it knows the metric, otherwise left out (never a dimension);
5. dimension   everything else (strings, booleans, unit-less numbers). Whether it *varies* is decided
               later, over the whole archive (`bot.core.dimensions`).

Path parts: ``folder`` (the file's folder) and ``file`` (its name without extension) are dimensions
of every row, with timestamps, run numbers and ids in them masked as ``*`` (kept as identifiers), so
repeated runs in ``run_20251002-151204/`` and ``run_20251002-151824/`` are one configuration while
``default-hip.jsonl`` and ``lhl-tune.jsonl`` are two.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from operator import contains
from pathlib import PurePosixPath
from typing import Any, Literal

from bot.core.config import format_config_value

_json_text = json.encoder.encode_basestring  # how `json.dumps(..., ensure_ascii=False)` writes a text

FieldClass = Literal["status", "identifier", "dimension", "metric"]

PATH_DIMENSIONS = ("folder", "file")
# Where a record sat (its path, its place in the file) rather than how it was run: named in a
# configuration key only when the record's own fields cannot tell the configurations apart.
LOCATION_DIMENSIONS = (*PATH_DIMENSIONS, "section")
MASK = "*"
EMPTY = "{}"

_STATUS = re.compile(r"error|(^|_)(success|succeeded|status|was_cancelled|ok|passed)$", re.IGNORECASE)
_TEXT_NAME = re.compile(r"prompt|text|message|(^|_)msg|response|banter|variations|completion_text",
                        re.IGNORECASE)
_TIME_NAME = re.compile(r"time|date|stamp|_at$|_ns$", re.IGNORECASE)
_REPETITION = re.compile(r"^(rep|reps|repetition|run|run_id|run_number|run_index|iteration|iter|trial|seed|"
                         r"index|idx|prompt_index|prompt_idx|request_index|session_num|turn_index|line|"
                         r"request_id|x_request_id|x_correlation_id|conversation_id|id|uuid)$", re.IGNORECASE)
_INPUT = re.compile(r"^(n|num)_|^max_(concurrency|tokens|num_seqs|model_len)$|request_rate|qps|concurrency|"
                    r"burstiness|batch", re.IGNORECASE)
_OUTCOME = re.compile(r"completed|started|failed|(^|_)count$|number_|total_|chars$|_lens?$|_tokens$",
                      re.IGNORECASE)
_UNIT = re.compile(
    r"(^|_)(ns|us|ms|s|sec|secs|seconds|ts|tps|mib|mb|gb|kb|w|c|pct|percent)$|latenc|throughput|duration|"
    r"(^|_)rate$|ttft|tpot|itl|e2el|tokens?_s$|tokens?_per|per_s$|per_sec|per_second|elapsed|^samples_|"
    r"percentiles|^(mean|median|avg|average|std|stddev|min|max|p\d+)_|_(mean|median|avg|std|stddev|p\d+)$",
    re.IGNORECASE)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|^\d{8}[-_]\d{4,6}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9a-f]{32}$",
                   re.IGNORECASE)

# Path tokens that mark a repetition or a moment, not a configuration.
_PATH_ID = re.compile(
    r"\d{8}[-_T]?\d{4,6}(?:\.\d+)?"  # 20251002-151204, 20251002T151204
    r"|\d{4}-\d{2}-\d{2}(?:[T_ ]\d{2}[:\-]?\d{2}(?:[:\-]?\d{2})?)?"  # 2025-10-02, 2025-10-02T15:12:04
    r"|(?<![A-Za-z])1[5-9]\d{8}(?:\d{3})?(?!\d)"  # epoch seconds / ms (2017-2033)
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|(?<![A-Za-z])(?:run|rep|iter|iteration|trial|attempt)[-_=]?\d+(?![A-Za-z])",
    re.IGNORECASE)


# --- values -------------------------------------------------------------------------------------
# What ``json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)``
# writes, with one encoder made once (`json.dumps` with options makes an encoder a call, most of its
# cost for a short list); an encoder keeps no state between calls.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def canonical_value(raw: Any) -> str | None:
    """A value as context text, or None when it is missing (a missing value is *unrecorded*).

    Numbers in canonical form (``999.0`` -> ``999``, ``"0.40"`` -> ``0.4``), booleans ``true``/``false``,
    strings stripped, lists and objects as compact JSON.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and math.isnan(raw):
        return None
    if isinstance(raw, (list, tuple, dict)):
        return _CANONICAL_JSON.encode(raw)
    if isinstance(raw, str):
        return _canonical_text(raw)
    return format_config_value(raw)


@lru_cache(maxsize=1024)
def _canonical_text(raw: str) -> str:
    """`canonical_value` of a string. Cached for what repeats (tables repeat their settings row
    after row; a real archive has ~200 distinct texts): a few, as timestamps and ids pass through
    too, never to be asked again (65,536 kept 46,000 of them at 10,000 files, ~15 bytes a row
    for the life of the process)."""
    text = raw.strip()
    if ":" in text:  # no number holds a ':' (timestamps, model tags): `format_config_value` gives it back
        return text
    return format_config_value(text) if text else ""


def encode(values: Mapping[str, Any]) -> str:
    """The canonical JSON text of a context or identifiers mapping (missing values left out)."""
    clean = {str(k): v for k, v in values.items() if v is not None}
    if not clean:
        return EMPTY
    if all(type(v) is str for v in clean.values()):
        # What `json.dumps` below writes for texts, with the string encoder it uses, without making an
        # encoder per call (3x faster; contexts are all texts). (A list: `join` makes one of a generator.)
        return "{" + ",".join([f"{_json_text(k)}:{_json_text(clean[k])}" for k in sorted(clean)]) + "}"
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=65536)
def decode(text: str) -> dict[str, str]:
    """A context text back as {dimension: value} (cached: the same few texts recur on every row).

    Callers must not mutate the result. A malformed or empty text is an empty context.
    """
    if not text or text == EMPTY:
        return {}
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


# --- fields -------------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce(value: Any) -> Any:
    """Numeric strings ('550', ' 0.2 ') as numbers; everything else as it is."""
    if isinstance(value, str):
        text = value.strip()
        # `float` reads no text with a ':' or a space in it: timestamps, model names and sentences
        # (most texts of a table) are not tried (a failed `float` costs an exception).
        if (text and ":" not in text and " " not in text and _FLOAT_START.match(text)
                and text.lower() not in {"inf", "-inf", "nan", "infinity"}):
            try:
                return float(text)
            except ValueError:
                return value
    return value


# How every text `float` reads starts, once stripped: a sign, then a digit (any script's: `float` reads
# them, and so does ``\d``), a '.', or the 'i' or 'n' of inf/infinity/nan. A text that starts otherwise
# (names, 'g999_c1024_t0.2', most texts of a table) is not tried: a failed `float` raises, ~1 µs each.
_FLOAT_START = re.compile(r"[-+]?[\d.iInN]")


def _is_timestamp(value: Any) -> bool:
    return isinstance(value, str) and bool(_ISO.match(value.strip()))


def _is_epoch(value: Any) -> bool:
    return _is_number(value) and (1e9 <= value < 2.2e9 or 1e12 <= value < 2.2e12 or 1e18 <= value < 2.2e18)


@dataclass(frozen=True)
class _Name:
    """What a field's name alone says (the patterns of the rule, matched once per name)."""

    status: bool
    time: bool
    text: bool
    repetition: bool
    input: bool
    outcome: bool
    unit: bool


@lru_cache(maxsize=8192)
def _name(leaf: str) -> _Name:
    return _Name(status=bool(_STATUS.search(leaf)), time=bool(_TIME_NAME.search(leaf)),
                 text=bool(_TEXT_NAME.search(leaf)), repetition=bool(_REPETITION.match(leaf)),
                 input=bool(_INPUT.search(leaf)), outcome=bool(_OUTCOME.search(leaf)), unit=bool(_UNIT.search(leaf)))


def classify_field(name: str, values: Sequence[Any]) -> FieldClass:
    """The general rule (module docstring) for one field over the values it takes in its table."""
    leaf = str(name).rsplit(".", 1)[-1]
    said = _name(leaf)
    if said.status:
        return "status"
    if set(map(type, values)) <= _TEXT_OR_NONE:
        values = list(dict.fromkeys(values))  # a text column repeats its values: each judged once
    present = [_coerce(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return _judged(leaf, said, present)


def _classify_texts(name: str, distinct: list[str]) -> FieldClass:
    """`classify_field` of a column of texts, given its distinct texts (the caller has them: one
    `dict.fromkeys` a column, not two). A column of numbers is read by `float` at once."""
    leaf = str(name).rsplit(".", 1)[-1]
    said = _name(leaf)
    if said.status:
        return "status"
    return _judged(leaf, said, _coerced_texts(distinct))


_NUMBER_KINDS = {int, float}  # (not bool: a boolean is no number to the rule)


def _classify_numbers(name: str, present: list[Any]) -> FieldClass:
    """`classify_field` of a column of ints and floats, given those present (not NaN): `_coerce`
    leaves numbers as they are, and no text is among them to be judged on its distinct values."""
    leaf = str(name).rsplit(".", 1)[-1]
    said = _name(leaf)
    if said.status:
        return "status"
    return _judged(leaf, said, present)


def _coerced_texts(texts: list[str]) -> list[Any]:
    """``[_coerce(t) for t in texts]``, a column of numbers read by one ``map(float, …)`` in C.
    Where ``float`` reads every text to a finite number, `_coerce` gives the same: its ``strip``
    takes the spaces ``float`` ignores, a ':' or an inner space ``float`` refuses, and the texts it
    leaves as they are ('inf', 'nan', …) are the non-finite ones (a test compares the two)."""
    numbers: list[float] | None = None
    # (a first text that cannot start a number, as in most columns of names, would fail `float` at
    # once: not tried, as the exception costs more than the test)
    if not texts or _FLOAT_START.match(texts[0].strip()):
        with suppress(ValueError):  # a text among them (timestamps, names, prompts)
            numbers = list(map(float, texts))
    if numbers is None:
        # `_coerce` gives back every text holding a ':' (timestamps, model tags), or a space once
        # stripped (prose), or that does not start as a number does (names): a column of such texts
        # is told in C; any other, text by text
        if (all(map(contains, texts, repeat(":"))) or all(map(contains, map(str.strip, texts), repeat(" ")))
                or not any(map(_FLOAT_START.match, map(str.strip, texts)))):
            return list(texts)
        return [_coerce(text) for text in texts]
    if all(map(math.isfinite, numbers)):
        return numbers
    return [_coerce(text) for text in texts]


def _judged(leaf: str, said: _Name, present: list[Any]) -> FieldClass:
    """`classify_field` past the name's status: over the values present, numeric texts as numbers."""
    kinds = set(map(type, present))
    if _is_identifier(leaf, said, present, kinds):
        return "identifier"
    # (a column of numbers or of texts, most columns, told without a step per value)
    if kinds and kinds <= _NUMBER_KINDS:
        numeric = True
    elif kinds == {str}:
        numeric = set(present) == {"inf"}
    else:
        numeric = bool(present) and all(_is_number(v) or v == "inf"
                                        or (isinstance(v, list) and all(_is_number(x) for x in v)) for v in present)
    if numeric and said.input and not said.outcome:
        return "dimension"
    if numeric and (said.unit or said.outcome):
        return "metric"
    if isinstance(present[0] if present else None, list):
        return "metric" if said.unit else "dimension"
    return "dimension"


# Texts that are equal are the same text (numbers are not: 0.0 == -0.0, 1 == 1.0 == True), so only a
# column of texts (and gaps) is judged on its distinct values: the rule only asks whether all or any
# values are of a kind, which is the first, and how many distinct ones there are.
_TEXT_OR_NONE = {str, type(None)}


def _is_identifier(leaf: str, said: _Name, present: list[Any], kinds: set[type] | None = None) -> bool:
    """Whether the values present make the field an identifier (``kinds``: their types, when known).
    A column of texts or of floats (most columns) is judged by the tests that can hold for it, each
    over the column in C (a generator a test cost ~0.4 µs a value: a table's timestamps were a third
    of its judging); any other column value by value."""
    if not present:
        return False
    kinds = set(map(type, present)) if kinds is None else kinds
    if kinds == {str}:
        return _are_identifier_texts(leaf, said, present)
    if kinds <= _NUMBER_KINDS:  # no text: no timestamp, id or free text; an epoch under a time-like name
        return (said.time and all(map(_is_epoch, present))) or _is_repetition(leaf, said, present)
    if all(_is_timestamp(v) for v in present):
        return True
    if said.time and all(_is_timestamp(v) or _is_epoch(v) for v in present):
        return True
    strings = [v for v in present if isinstance(v, str)]
    if strings and len(strings) == len(present) and all(_UUID.match(v.strip()) for v in strings):
        return True
    if strings and (said.text or any("\n" in v for v in strings)):
        return True
    if said.text and any(isinstance(v, list) and any(isinstance(x, str) for x in v) for v in present):
        return True  # a list of texts (prompt variations)
    return _is_repetition(leaf, said, present)


def _are_identifier_texts(leaf: str, said: _Name, texts: list[str]) -> bool:
    """`_is_identifier` of texts (no epoch, no list among them): the same tests in the same order."""
    stripped = list(map(str.strip, texts))
    if all(map(_ISO.match, stripped)):  # (under a time-like name too: a text is no epoch)
        return True
    if all(map(_UUID.match, stripped)):
        return True
    if said.text or "\n" in "".join(texts):  # (a line break in one text is one in them all)
        return True
    return _is_repetition(leaf, said, texts)


def _is_repetition(leaf: str, said: _Name, present: list[Any]) -> bool:
    """A repetition marker that takes several values (a constant 'seed' is context)."""
    if said.repetition:
        distinct = {repr(v) for v in present}
        return leaf.lower() != "seed" or len(distinct) > 1
    return False


_ABSENT = object()


def split_fields(records: Sequence[Mapping[str, Any]], *, skip: Iterable[str] = ()
                 ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Each record's (dimensions, identifiers) by the general rule, judged per field over all records.

    Fields named in ``skip`` (what the caller reads itself: metrics, model, status) are left out;
    so are fields judged to be a status or an unrecognised metric.
    """
    dim_columns, id_columns = split_columns(records, skip=skip)
    dims: list[dict[str, str]] = [{} for _ in records]
    idents: list[dict[str, str]] = [{} for _ in records]
    for out, columns in ((dims, dim_columns), (idents, id_columns)):
        for key, texts in columns:  # field by field: each record's dict gets its keys in field order
            for found, text in zip(out, texts, strict=True):
                if text is not None:
                    found[key] = text
    return dims, idents


Column = tuple[str, list[str | None]]  # a field's name and its text in each record (None: not recorded)


def split_columns(records: Sequence[Mapping[str, Any]], *, skip: Iterable[str] = ()
                  ) -> tuple[list[Column], list[Column]]:
    """`split_fields` column by column: the (dimension, identifier) fields in the order the records
    name them, each with its text per record. A table's rows repeat their texts: callers that key
    on a row's texts (`bot.core.ingest.tables`) need no dict per row."""
    skipped = set(skip)
    dims: list[Column] = []
    idents: list[Column] = []
    if len(records) == 1:  # a JSON object's own scalars: judged value by value, each pair once
        record_dims, record_ids = record_fields(records[0], skipped)
        return [(name, [text]) for name, text in record_dims], [(name, [text]) for name, text in record_ids]
    # Every name the records hold, in the order they first name it (the keys of all records walked
    # in C: the records of a table mostly share their keys)
    names = [name for name in dict.fromkeys(chain.from_iterable(records)) if name not in skipped]
    for name in names:
        column = [record.get(name, _ABSENT) for record in records]
        texts: list[str | None]
        if set(map(type, column)) == {str}:  # a column of texts (CSV): judged and written on its distinct texts
            distinct = list(dict.fromkeys(column))
            cls = _classify_texts(name, distinct)
            if cls not in ("dimension", "identifier"):
                continue
            written = {raw: _text_field(raw, cls) for raw in distinct}
            texts = list(map(written.__getitem__, column))
        else:
            kinds = set(map(type, column))
            if kinds <= _NUMBER_KINDS:  # a column of numbers (JSON): NaN is not present, nothing else missing
                cls = _classify_numbers(name, [raw for raw in column if raw == raw])
            else:
                cls = classify_field(name, [None if raw is _ABSENT else raw for raw in column])
            if cls not in ("dimension", "identifier"):
                continue
            # Each distinct (type, value) written once (the type too: 1, 1.0 and True are equal,
            # not the same text), in C where every value is hashable; else value by value.
            pairs = list(zip(map(type, column), column, strict=True))
            try:
                unique = dict.fromkeys(pairs)
            except TypeError:  # a list or an object: not hashable
                pass
            else:
                pair_texts = {pair: None if pair[1] is _ABSENT else _field_text(pair[1], cls) for pair in unique}
                (dims if cls == "dimension" else idents).append((str(name), list(map(pair_texts.__getitem__, pairs))))
                continue
            texts = []
            seen: dict[tuple[type, Any], Any] = {}  # each distinct value written once
            for raw in column:
                if raw is _ABSENT:
                    texts.append(None)
                    continue
                memo = (type(raw), raw)  # the type too: 1, 1.0 and True are equal, not the same text
                try:
                    value = seen.get(memo, _ABSENT)
                except TypeError:  # a list or an object: not hashable
                    value = _field_text(raw, cls)
                else:
                    if value is _ABSENT:
                        value = seen[memo] = _field_text(raw, cls)
                texts.append(value)
        (dims if cls == "dimension" else idents).append((str(name), texts))
    return dims, idents


def record_fields(record: Mapping[str, Any], skip: frozenset[str] | set[str]
                  ) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """`split_columns` of one record (a JSON object's own scalars), without a list per field: its
    (dimension, identifier) fields in the record's order, each with its text (None: not recorded).
    Judged value by value, each (name, type, value) once (`_one_field`)."""
    dims: list[tuple[str, str | None]] = []
    idents: list[tuple[str, str | None]] = []
    for name, raw in record.items():
        if name in skip:
            continue
        try:
            if type(raw) is float and raw == 0:
                raise TypeError  # 0.0 and -0.0 are equal keys, not the same text
            cls, text = _one_field(name, type(raw).__name__, raw)
        except TypeError:  # a list or an object: not hashable
            cls = classify_field(name, [raw])
            text = _field_text(raw, cls) if cls in ("dimension", "identifier") else None
        if cls == "dimension":
            dims.append((str(name), text))
        elif cls == "identifier":
            idents.append((str(name), text))
    return dims, idents


@lru_cache(maxsize=16384)
def _one_field(name: str, _type: str, raw: Any) -> tuple[FieldClass, str | None]:
    """How a field taking one value is judged, and its text (the type's name is part of the key: 1,
    1.0 and True are equal, not the same text)."""
    cls = classify_field(name, [raw])
    return cls, (_field_text(raw, cls) if cls in ("dimension", "identifier") else None)


def _field_text(raw: Any, cls: FieldClass) -> str | None:
    value = canonical_value(raw)
    if value is None or cls == "dimension":
        return value
    return short(value)


def _text_field(raw: str, cls: FieldClass) -> str:
    """`_field_text` of a text (`canonical_value` of a text is `_canonical_text`)."""
    value = _canonical_text(raw)
    return value if cls == "dimension" else short(value)


_SHORT_PREFIX = 2  # `short` cuts a text longer than this many times its limit from a prefix that long


def short(text: str, limit: int = 120) -> str:
    """An identifier value kept for provenance, not for reading back in full (prompt texts): the
    text's words joined by one space, cut to ``limit`` characters, the last of them '…', when longer
    (a long text is cleaned from a prefix only, with the same result: see the comment)."""
    text = str(text)
    if limit > 0 and len(text) > _SHORT_PREFIX * limit:
        # A long text (a prompt, a response, a list of them as JSON) is cut from its start: the words
        # of a prefix are the text's first words, the last one maybe cut short, so its cleaned text is
        # a prefix of the whole text's; once that is past ``limit``, so is the whole's, and both are
        # cut alike. (Splitting the whole of a 500-character text was ~3/4 of this function's time.)
        clean = " ".join(text[: _SHORT_PREFIX * limit].split())
        if len(clean) > limit:
            return clean[: limit - 1] + "…"
    clean = " ".join(text.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


# --- paths --------------------------------------------------------------------------------------
# A file's records and tables ask for its path's parts again and again, one file after another:
# a few entries serve them. Not one per file of the archive: at 10,000 files those held ~4 MB of
# texts (~6.5 bytes a measurement row) for the life of the process, to be hit never again.
@lru_cache(maxsize=256)
def path_context(rel: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(dimensions, identifiers) of an archive-relative path: ``folder`` and ``file`` (the name without
    its extension), timestamps, run numbers and ids masked as ``*`` and kept as identifiers."""
    folder, stem = _folder_and_stem(rel)
    dims: list[tuple[str, str]] = []
    idents: list[tuple[str, str]] = []
    for name, text in (("folder", folder), ("file", stem)):
        masked, found = _mask(text)
        dims.append((name, masked))
        if found:
            idents.append((f"{name}_id", ",".join(found)))
    return tuple(dims), tuple(idents)


def _folder_and_stem(rel: str) -> tuple[str, str]:
    """The path's folder ('' for the root) and its file name without the extension, as `pathlib`
    gives them. A plain archive path ('a/b.csv', as archives are listed) is split as text: pathlib
    interns every part of every path, and at 10,000 files that grew the interpreter's table of
    interned strings by ~2 MB, kept for the life of the process; any other path goes through it."""
    if not rel or rel.startswith("/") or rel.endswith("/") or "//" in rel or "." in f"/{rel}/".split("/"):
        path = PurePosixPath(rel)
        folder = "" if str(path.parent) == "." else str(path.parent)
        return folder, path.name[: -len(path.suffix)] if path.suffix and path.suffix != path.name else path.name
    folder, _, name = rel.rpartition("/")
    dot = name.rfind(".")
    return folder, name[:dot] if 0 < dot < len(name) - 1 else name


def _mask(text: str) -> tuple[str, list[str]]:
    found = [m.group(0) for m in _PATH_ID.finditer(text)]
    return (_PATH_ID.sub(MASK, text) if found else text), found


def with_path(rel: str, dims: Mapping[str, str], idents: Mapping[str, str]
              ) -> tuple[dict[str, str], dict[str, str]]:
    """The record's dimensions and identifiers with the file's path parts added. A record field that
    happens to be called ``folder`` or ``file`` is kept as ``field:folder`` / ``field:file``."""
    path_dims, path_ids = path_context(rel)
    out_dims = dict(path_dims)
    for name, value in dims.items():
        out_dims[f"field:{name}" if name in PATH_DIMENSIONS else name] = value
    out_ids = dict(path_ids)
    out_ids.update(idents)
    return out_dims, out_ids
