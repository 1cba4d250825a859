"""Interpretation of one table (from CSV, JSON records or Markdown) into measurements or claims.

This is the generic adapter's reading (benchmark tools with their own semantics have their own
adapters in `bot.core.ingest.tools`). A table is read in one of three ways, decided from its columns:
- per-request LLM results (a raw throughput or TTFT column, or latency with token counts)
  -> measurement rows of kind 'request', with failures marked;
- summaries (LLM metrics that carry a statistic: mean_tokens_s, median_ttft_ms, …) and anything
  from Markdown -> *claims*, never mixed into the raw rows;
- anything else with recognised time columns -> 'generic' measurements (non-LLM benchmarks).

Every row keeps its context (`bot.core.context`): the non-metric columns of its record judged by the
general rule, an ``options`` JSON column read as its settings, what the file says around the table
(``TableBlock.config``: the scalars of enclosing JSON objects), the table's place in the file
(``section``: a JSON path or Markdown heading) and the path parts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from pathlib import PurePosixPath
from typing import Any, cast

from bot.core.config import escape_key, escape_value, format_config_value
from bot.core.context import (
    PATH_DIMENSIONS,
    canonical_value,
    classify_field,
    encode,
    path_context,
    record_fields,
    short,
    split_columns,
    with_path,
)
from bot.core.ingest.rows import Rows
from bot.core.limits import spend_measurements
from bot.core.metrics import METRICS, ColumnMeaning, classify_column, normalize_name
from bot.core.values import is_missing, parse_bool, parse_number, parse_numbers, parse_shown_column, parse_shown_value

LLM_METRICS = {"throughput_tok_s", "prompt_throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "prompt_eval_ms",
               "eval_ms", "prompt_tokens", "output_tokens", "tpot_ms", "itl_ms"}
TIME_METRICS = {name for name, m in METRICS.items() if m.unit == "ms"}

CONFIG_COLUMNS = {
    "num_gpu", "num_ctx", "temperature", "top_p", "top_k", "repeat_penalty", "num_thread",
    "num_batch", "num_predict", "seed", "mirostat", "n_gpu_layers", "n_batch", "n_ubatch",
    "n_threads", "type_k", "type_v", "flash_attn", "batch_size", "concurrency", "max_concurrency",
    "request_rate", "quant", "quantization", "backend", "n_prompt", "n_gen", "min_p", "num_keep",
}
CONFIG_ALIASES = {"temp": "temperature", "ctx": "num_ctx", "gpu_layers": "num_gpu"}
MODEL_COLUMNS = ("model", "model_name", "model_id", "model_filename", "llm", "model_tag")
ERROR_COLUMNS = ("error", "errors", "error_message", "err", "failure_reason", "exception")
SUCCESS_COLUMNS = ("success", "succeeded", "ok", "passed")


@dataclass
class TableBlock:
    """A table found in a file (its columns and one dict per row, `bot.core.ingest.records`), with what
    the file says around it. Callers must not mutate the records: the readings of a block share them."""

    columns: list[str]
    records: list[dict[str, Any]]
    source: str
    label: str = ""  # where in the file: JSON path or Markdown heading
    model: str = ""  # model named around the table (parent JSON key, sibling file, file name)
    # what the file says around the table: scalars of the enclosing JSON objects (file-level metadata)
    config: dict[str, Any] = field(default_factory=dict)
    markdown: bool = False
    ttft_definition: str = ""  # what TTFT means in this table, when the tool is known
    row_offset: int = 0  # first record's index inside the file


@dataclass(slots=True)
class TableRows:
    measurements: Rows = field(default_factory=Rows)
    claims: list[dict[str, Any]] = field(default_factory=list)
    kind: str = ""  # 'request' | 'aggregate' | 'generic' | 'claims' | ''


@lru_cache(maxsize=4096)
def model_from_filename(value: str) -> str:
    """'model_filename' of llama-bench is a path: keep the file's stem."""
    name = PurePosixPath(str(value).replace("\\", "/")).name
    for suffix in (".gguf", ".bin", ".safetensors"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


Record = dict[str, Any]
Contexts = tuple[list[str], list[str]]  # (context JSON, identifiers JSON) of each record
_NOT_CONTEXT = {*MODEL_COLUMNS, *ERROR_COLUMNS, *SUCCESS_COLUMNS, "status", "options", "samples_ts", "samples_ns"}
_SETTING_NAMES = {"tag", "options", "config_name", "config"}  # the columns `_row_config` reads besides CONFIG_COLUMNS


@dataclass(frozen=True)
class _Header:
    """What a table's columns say, judged once per distinct header (a JSON file repeats its headers
    block after block, an archive its CSV headers file after file). Read-only: blocks share it."""

    cols: dict[str, str]  # normalized name -> original name (first one wins)
    meanings: dict[str, ColumnMeaning]  # original name -> the metric it holds
    kind: str  # how a table that is not Markdown is read: 'request' | 'claims' | 'generic' ('' = nothing)
    models: tuple[tuple[str, str], ...]  # (normalized, original) of the model columns, in MODEL_COLUMNS order
    errors: tuple[str, ...]  # the error columns, in ERROR_COLUMNS order
    successes: tuple[str, ...]  # the success columns, in SUCCESS_COLUMNS order
    status: str | None
    options: str | None
    not_context: frozenset[str]  # what the reading takes itself: metrics, model, status, options
    settings: tuple[str, ...]  # the columns a claim's configuration is read from (`_row_config`)
    config_columns: tuple[tuple[str, str], ...]  # (setting, original name) of the CONFIG_COLUMNS it has
    tag: str | None  # the 'tag' column, a setting when no model column names the model (`_row_config`)
    config_names: tuple[str, ...]  # the 'config_name' and 'config' columns: the fallback of `_row_config`
    # What each way of reading the table needs of its columns, worked out once per header rather
    # than once per table (a JSON file is a dozen one-record tables with the same few headers):
    failure_columns: tuple[str, ...]  # the error, success and status columns (`_said_failures`)
    generic: tuple[tuple[str, ColumnMeaning, str, bool], ...]  # (column, meaning, definition, zero fails)
    raw: tuple[tuple[str, ColumnMeaning], ...]  # a request table's columns of raw values (no statistic)
    raw_distinct: bool  # whether each of those holds a different metric (`_requests` has a shortcut then)


@lru_cache(maxsize=4096)
def _header(columns: tuple[str, ...]) -> _Header:
    cols: dict[str, str] = {}
    for col in columns:
        cols.setdefault(normalize_name(col), col)
    meanings: dict[str, ColumnMeaning] = {}
    for norm, original in cols.items():
        if norm in CONFIG_COLUMNS or norm in CONFIG_ALIASES or norm in MODEL_COLUMNS:
            continue
        meaning = classify_column(original)
        if meaning is not None:
            meanings[original] = meaning
    raw_llm = {m.metric for m in meanings.values() if m.statistic == "" and m.metric in LLM_METRICS}
    stat_llm = {m.metric for m in meanings.values() if m.statistic and m.metric in LLM_METRICS}
    is_request = bool({"throughput_tok_s", "ttft_ms"} & raw_llm) or (
        "latency_ms" in raw_llm and "output_tokens" in raw_llm
    )
    kind = "" if not meanings else "request" if is_request else "claims" if stat_llm else "generic"
    errors = tuple(cols[name] for name in ERROR_COLUMNS if name in cols)
    # Per-request statistics (e.g. a 'mean_' column in a raw table) are ignored: only raw values.
    raw = tuple((col, meaning) for col, meaning in meanings.items() if meaning.statistic == "")
    successes = tuple(cols[name] for name in SUCCESS_COLUMNS if name in cols)
    return _Header(
        cols=cols, meanings=meanings, kind=kind,
        models=tuple((name, cols[name]) for name in MODEL_COLUMNS if name in cols),
        errors=errors, successes=successes,
        status=cols.get("status"), options=cols.get("options"),
        not_context=frozenset({*meanings, *(original for norm, original in cols.items() if norm in _NOT_CONTEXT)}),
        settings=tuple(original for norm, original in cols.items()
                       if CONFIG_ALIASES.get(norm, norm) in CONFIG_COLUMNS or norm in _SETTING_NAMES),
        config_columns=tuple((CONFIG_ALIASES.get(norm, norm), original) for norm, original in cols.items()
                             if CONFIG_ALIASES.get(norm, norm) in CONFIG_COLUMNS),
        tag=cols.get("tag") if not any(name in cols for name in MODEL_COLUMNS) else None,
        config_names=tuple(cols[name] for name in ("config_name", "config") if name in cols),
        failure_columns=(*errors, *successes, *((cols["status"],) if "status" in cols else ())),
        generic=tuple((col, meaning, *_generic_reading(meaning)) for col, meaning in meanings.items()),
        raw=raw, raw_distinct=len({meaning.metric for _, meaning in raw}) == len(raw))


def _generic_reading(meaning: ColumnMeaning) -> tuple[str, bool]:
    """(definition, whether a zero is a failed run) of a generic measurement's column."""
    definition = " ".join(x for x in (meaning.statistic, meaning.definition.replace("_", " ")) if x)
    # A timing of exactly zero is a run that did not happen (tools store failures as 0).
    zero_fails = meaning.metric in TIME_METRICS and meaning.statistic != "std"
    return definition or "value", zero_fails


def interpret(block: TableBlock, measurements: Rows | None = None) -> TableRows:
    """The table's measurements or claims. Measurements are appended to ``measurements`` when given
    (a file's rows, table after table), else to a `Rows` of their own."""
    out = TableRows() if measurements is None else TableRows(measurements=measurements)
    if not block.records or not block.columns:
        return out
    header = _header(tuple(block.columns))
    if not header.meanings:
        return out
    if block.markdown or header.kind == "claims":  # (`_claims` reads a one-record table cell by cell)
        out.claims, out.kind = _claims(block, header, default_stat="value"), "claims"
    elif header.kind == "request":
        _requests(block, header, _contexts(block, header), out.measurements)
        out.kind = "request"
    else:
        _generic(block, header, _contexts(block, header), out.measurements)
        out.kind = "generic"
    return out


def _contexts(block: TableBlock, header: _Header) -> Contexts:
    """Each record's context: its own non-metric columns, its options, the block's surroundings, the path.

    The records of a table repeat their dimensions (their identifiers less so): a row is keyed on its
    texts, column by column (`split_columns`, no dict per row), and each distinct set is encoded once."""
    if len(block.records) == 1:  # a JSON object's one record (most blocks of a JSON file)
        return _record_contexts(block, header)
    return _table_contexts(block, header)


def _record_contexts(block: TableBlock, header: _Header) -> Contexts:
    """`_table_contexts` of a one-record table, its fields read one by one (`record_fields`): no
    column lists, no table of options (a real archive has ~170 such tables, most of a JSON file's).
    (Tested against `_table_contexts`: tests/core/test_ingest_tables_shortcuts.py.)"""
    record, source = block.records[0], block.source
    own_dims, own_ids = record_fields(record, header.not_context)
    around_dims, around_ids = _surroundings(block)
    dims = dict(around_dims)
    for name, text in own_dims:  # (the record's texts win over the block's, as `{**around, **own}`)
        if text is not None:
            dims[name] = text
    if header.options is not None:
        dims.update(_option_items(record[header.options]))
    ids = dict(around_ids)
    for name, text in own_ids:
        if text is not None:
            ids[name] = text
    return [_context_text(source, tuple(dims.items()))], [_identifiers_text(source, tuple(ids.items()))]


def _table_contexts(block: TableBlock, header: _Header) -> Contexts:
    """`_contexts` of a table of any size (the general way)."""
    records, source = block.records, block.source
    dim_columns, id_columns = split_columns(records, skip=header.not_context)
    around_dims, around_ids = _surroundings(block)
    size = len(records)
    options_col = header.options
    options: Iterable[tuple[tuple[str, str], ...]] = repeat((), size)
    if options_col is not None:
        options_of: dict[str, tuple[tuple[str, str], ...]] = {}  # an options text read once
        read: list[tuple[tuple[str, str], ...]] = []
        for record in records:
            raw = record[options_col]
            if isinstance(raw, str):
                if raw not in options_of:
                    options_of[raw] = _option_items(raw)
                read.append(options_of[raw])
            else:
                read.append(_option_items(raw))
        options = read
    dim_names = [name for name, _ in dim_columns]
    context_of: list[str] = []
    dim_keys = zip(*(texts for _, texts in dim_columns), strict=True) if dim_columns else repeat((), size)
    # Without an options column, a record that has a text in each dimension column has its context
    # written by a template of the block's (`_context_template`, as `_identifiers_template`): no
    # dicts merged and no cache looked up per distinct record (a tuning table's are all distinct).
    # Making the template costs what a few records' contexts cost: a small table does without.
    template = (_context_template(source, around_dims, dim_names)
                if options_col is None and size >= _TEMPLATE_ROWS else None)
    if template is not None and all(None not in texts for _, texts in dim_columns):
        # (each column's `in` in C: a record without a text in some column is written as below)
        context_of = _formatted(template, [texts for _, texts in dim_columns], size)
    elif template is not None:
        written: dict[tuple[str | None, ...], str] = {}
        for dim_key in dim_keys:
            context = written.get(dim_key)
            if context is None:
                if None in dim_key:  # (texts: `in` finds no None among them)
                    own = {name: text for name, text in zip(dim_names, dim_key, strict=True) if text is not None}
                    context = _context_text(source, tuple({**around_dims, **own}.items()))
                else:
                    context = _filled(template, dim_key)
                written[dim_key] = context
            context_of.append(context)
    else:
        contexts: dict[tuple[tuple[str | None, ...], tuple[tuple[str, str], ...]], str] = {}
        for key in zip(dim_keys, options, strict=True):
            context = contexts.get(key)
            if context is None:
                own = {name: text for name, text in zip(dim_names, key[0], strict=True) if text is not None}
                d = {**around_dims, **own}
                d.update(key[1])
                context = contexts[key] = _context_text(source, tuple(d.items()))
            context_of.append(context)
    id_names = [name for name, _ in id_columns]
    if not id_columns:  # every record's identifiers are the block's and the path's
        return context_of, [_identifiers_text(source, tuple(around_ids.items()))] * size
    # a text in each identifier column of each record: written in C over the columns, from
    # `_COLUMN_ROWS` records (below it, the loop's per-record template costs less)
    if size >= _COLUMN_ROWS and all(None not in texts for _, texts in id_columns):
        return context_of, _formatted(_identifiers_template(source, around_ids, id_names),
                                      [texts for _, texts in id_columns], size)
    identifiers: dict[tuple[str | None, ...], str] = {}
    identifier_of: list[str] = []
    id_template: Template | None = None  # see `_identifiers_template`: made once a record has every column
    for ids_key in zip(*(texts for _, texts in id_columns), strict=True) if id_columns else repeat((), size):
        if size > 1 and ids_key and None not in ids_key:  # (texts: `in` finds no None among them)
            identifier = identifiers.get(ids_key)
            if identifier is None:  # each distinct set of texts made once (they repeat: run, seed)
                id_template = id_template or _identifiers_template(source, around_ids, id_names)
                identifier = identifiers[ids_key] = _filled(id_template, ids_key)
            identifier_of.append(identifier)
            continue
        identifier = identifiers.get(ids_key)
        if identifier is None:
            own_ids = {name: text for name, text in zip(id_names, ids_key, strict=True) if text is not None}
            ids = {**around_ids, **own_ids}
            identifier = identifiers[ids_key] = _identifiers_text(source, tuple(ids.items()))
        identifier_of.append(identifier)
    return context_of, identifier_of


# The blocks of a file (a JSON file's one-record blocks above all) share their contexts: each
# distinct one is encoded once. Keyed by the file, so no entry is used again by another file: 256
# entries hold a file's repeats, where 4,096 kept ~2.4 MB of texts (3.9 B a row) at 10,000 files.
@lru_cache(maxsize=256)
def _context_text(source: str, dims: tuple[tuple[str, str], ...]) -> str:
    return encode(with_path(source, dict(dims), {})[0])


@lru_cache(maxsize=256)
def _identifiers_text(source: str, idents: tuple[tuple[str, str], ...]) -> str:
    return encode(with_path(source, {}, dict(idents))[1])


# A record's context or identifiers text made from the texts of its table's columns: the literal
# texts between its values, and the column whose value goes in each gap (``(literals, columns)``:
# ``literals[0]``, the first column's value, ``literals[1]``, …). Filled by a join of the pieces, not
# by `str.format`, which parses its template anew each time (the join was ~1.7x faster).
Template = tuple[list[str], list[int]]


def _template(fixed: dict[str, str], column: dict[str, int]) -> Template:
    """The `encode` text of ``fixed`` texts and of a value from each ``column`` (by key), as a template."""
    literals = ["{"]
    columns: list[int] = []
    for at, key in enumerate(sorted({*fixed, *column})):
        literals[-1] += ("," if at else "") + _json_text(key) + ":"
        if key in column:
            columns.append(column[key])
            literals.append("")
        else:
            literals[-1] += _json_text(fixed[key])
    literals[-1] += "}"
    return literals, columns


def _filled(template: Template, texts: Sequence[str | None]) -> str:
    """The template's text for one record's ``texts`` (one per column, none None: the caller checks)."""
    literals, columns = template
    pieces = [literals[0]]
    for at, literal in zip(columns, literals[1:], strict=True):
        pieces += (_json_text(cast(str, texts[at])), literal)
    return "".join(pieces)


def _identifiers_template(source: str, around: dict[str, str], names: list[str]) -> Template:
    """`_identifiers_text` of a record that has a text in each of the identifier columns ``names``,
    as a template of their texts.

    A table's identifiers are mostly unique to their record (timestamps, prompt ids): they were
    made one dict, sort and `encode` per record. Whatever the record's texts, its keys are the
    same, so they are sorted once: the record's own texts win over the block's (``around``),
    which win over the path's, as in `with_path`."""
    fixed = dict(path_context(source)[1])
    fixed.update(around)
    return _template(fixed, {name: position for position, name in enumerate(names)})


_TEMPLATE_ROWS = 8  # the records from which a table's contexts are written by a template
_COLUMN_ROWS = 4  # the records from which a request table and its identifiers are read column by column


def _formatted(template: Template, columns: Sequence[Sequence[str | None]], size: int) -> list[str]:
    """`_filled` of each of the ``size`` rows of ``columns`` (a text in each: the caller has checked
    that none is None), each distinct row written once: the rows are keyed, transposed and joined
    by ``zip``, ``dict`` and ``map`` in C, without a step of Python a record (~1 µs each)."""
    literals, order = template
    if not columns:
        return [literals[0]] * size
    keys = list(zip(*columns, strict=True))
    distinct = list(dict.fromkeys(keys))
    encoded = [list(map(_json_text, column)) for column in zip(*distinct, strict=True)]
    pieces: list[Iterable[str]] = [repeat(literals[0])]
    for at, literal in zip(order, literals[1:], strict=True):
        pieces += (encoded[at], repeat(literal))
    # (not strict: the `repeat`s of the literals stop with the rows)
    written = dict(zip(distinct, map("".join, zip(*pieces, strict=False)), strict=True))
    return list(map(written.__getitem__, keys))


def _context_template(source: str, around: dict[str, str], names: list[str]) -> Template | None:
    """`_context_text` of a record (without options) that has a text in each of the dimension
    columns ``names``, as a template of their texts: the record's texts win over the block's
    (``around``), and a field called ``folder`` or ``file`` is renamed ``field:folder``/``field:file``
    beside the path's own, as in `with_path`. None when that renaming would make two fields one (a
    record with a ``folder`` and a ``field:folder``)."""
    renamed = {name: f"field:{name}" if name in PATH_DIMENSIONS else name for name in (*around, *names)}
    if len(set(renamed.values())) != len(renamed):
        return None
    fixed = dict(path_context(source)[0])
    fixed.update((renamed[name], value) for name, value in around.items())
    return _template(fixed, {renamed[name]: position for position, name in enumerate(names)})


_json_text = json.encoder.encode_basestring  # how `encode` writes a text (`bot.core.context`)


def _option_items(raw: Any) -> tuple[tuple[str, str], ...]:
    """A record's options as context: (setting, canonical text), missing values left out."""
    texts = ((k, canonical_value(v)) for k, v in _options(raw).items())
    return tuple((k, v) for k, v in texts if v is not None)


def _surroundings(block: TableBlock) -> tuple[dict[str, str], dict[str, str]]:
    """The block's file-level context: enclosing JSON scalars (judged one by one) and its section.
    Read-only (shared): the blocks of a JSON file share their surroundings, judged once (the
    sections differ block by block: each is added to the judged scalars)."""
    config = block.config
    if not config:  # (a CSV or Markdown table, a JSON file's top-level records)
        dims, idents = _NOTHING_AROUND
    else:
        values = tuple(config.values())
        try:  # the type is part of the key: 1, 1.0 and True are equal but not the same context
            dims, idents = _judged_surroundings(tuple(config), tuple(map(type, values)), values)
        except TypeError:  # an unhashable value
            dims, idents = _judge_surroundings(config.items())
    if block.label:
        dims = {**dims, "section": block.label}
    return dims, idents


_NOTHING_AROUND: tuple[dict[str, str], dict[str, str]] = ({}, {})  # read-only, as every judged surroundings


# (keyed on three flat tuples, the names, the types and the values: a tuple a name cost ~40% more to
# make and hash, every block of a JSON file)
@lru_cache(maxsize=1024)
def _judged_surroundings(names: tuple[str, ...], _types: tuple[type, ...], values: tuple[Any, ...]
                         ) -> tuple[dict[str, str], dict[str, str]]:
    return _judge_surroundings(zip(names, values, strict=True))


def _judge_surroundings(config: Iterable[tuple[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    dims: dict[str, str] = {}
    idents: dict[str, str] = {}
    for name, raw in config:
        if normalize_name(name) in _NOT_CONTEXT or classify_column(name) is not None:
            continue
        kind = classify_field(name, [raw])
        value = canonical_value(raw)
        if value is None or kind not in ("dimension", "identifier"):
            continue
        if kind == "dimension":
            dims[name] = value
        else:  # shortened as a record's own identifiers are: every row of the table carries it
            idents[name] = short(value)
    return dims, idents


def _row_models(block: TableBlock, header: _Header, records: list[Record]) -> list[str]:
    """Each record's model: its first model column that holds one, else the one named around the
    table. A table repeats its model texts: each distinct set is read once."""
    if not header.models:
        return [block.model] * len(records)
    read: dict[tuple[Any, ...], str] = {}
    models: list[str] = []
    for record, key in zip(records, _keys(records, [column for _, column in header.models]), strict=True):
        if all(type(raw) is str for raw in key):
            model = read.get(key)
            if model is None:
                model = read[key] = _row_model(block, header, record)
        else:  # 1, 1.0 and True are equal keys, not the same text
            model = _row_model(block, header, record)
        models.append(model)
    return models


def _keys(records: list[Record], columns: list[str]) -> Iterable[tuple[Any, ...]]:
    """Each record's values of ``columns``, as a tuple (made column by column: no loop a record)."""
    return zip(*([record[column] for record in records] for column in columns), strict=True)


def _row_model(block: TableBlock, header: _Header, record: Record) -> str:
    for name, column in header.models:
        raw = record[column]
        if not is_missing(raw):
            value = str(raw).strip()
            return model_from_filename(value) if name == "model_filename" else value
    return block.model


def _row_config(header: _Header, record: Record) -> str:
    """The configuration a *claim* names (summary tables and Markdown): the settings columns it has,
    as its key text (`Config.key`).

    Measurements carry their whole context instead; a claim's configuration is matched against it."""
    items: dict[str, Any] = {}
    for name, original in header.config_columns:
        if not is_missing(record[original]):
            items[name] = record[original]
    if header.tag is not None and not is_missing(record[header.tag]):
        items["tag"] = record[header.tag]
    if header.options is not None:
        items.update(_options(record[header.options]))
    if not items:  # a named configuration: its 'config_name', else its 'config'
        for original in header.config_names:
            if not is_missing(record[original]):
                items["config"] = record[original]
                break
    return config_key(items)


def _row_configs(header: _Header, records: list[Record]) -> list[str] | None:
    """`_row_config` of each record, made column by column: each distinct text of a settings column
    is written once as its ``name=value`` part of the key (a summary table's rows are mostly distinct
    settings, each cell was asked `is_missing` twice and formatted, row by row), and a record's key
    is the join of its parts in the order of their names, as `config_key` sorts them. A record
    without any part names its 'config_name' or 'config' (`_row_config`). None for a table whose
    keys are not so made: one with an options column (settings that vary record by record), or
    with two columns of one setting ('temp' and 'temperature')."""
    named = [*header.config_columns, *((("tag", header.tag),) if header.tag is not None else ())]
    if header.options is not None or len({name for name, _ in named}) != len(named):
        return None
    if not named:
        keys = [""] * len(records)
    else:
        parts = [_setting_parts(records, name, column) for name, column in sorted(named)]
        if all(None not in part for part in parts):  # no setting missing (most tables): joined in C
            keys = list(map(",".join, zip(*parts, strict=True)))
        else:
            keys = [",".join(filter(None, row)) for row in zip(*parts, strict=True)]  # (parts are None or 'k=v')
    if header.config_names:
        for position, key in enumerate(keys):
            if not key:
                keys[position] = _row_config(header, records[position])
    return keys


def _setting_parts(records: list[Record], name: str, column: str) -> list[str | None]:
    """Each record's ``name=value`` part of its configuration key from ``column``, None where the
    value is missing (`config_key`'s writing of one item; each distinct text written once)."""
    prefix = escape_key(name) + "="

    def part(raw: Any) -> str | None:
        return None if is_missing(raw) else prefix + escape_value(format_config_value(raw))

    values = [record[column] for record in records]
    if set(map(type, values)) == {str}:
        written = {raw: part(raw) for raw in dict.fromkeys(values)}
        return list(map(written.__getitem__, values))
    return [part(raw) for raw in values]


def config_key(items: dict[str, Any]) -> str:
    """``Config.from_items(items).key``, written without making the `Config` (which parses the text
    it is given back into its parts): a claim keeps the text alone, and a summary table names a
    configuration a row (tests/core/test_ingest_tables_shortcuts.py holds the two equal). The
    place for it is `bot.core.config` (not this change's to edit): it mirrors `Config.from_items`."""
    return ",".join(f"{escape_key(name)}={escape_value(format_config_value(items[name]))}"
                    for name in sorted(items) if not is_missing(items[name]))


def _options(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        data = raw
    elif isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
    else:
        return {}
    if not isinstance(data, dict):
        return {}
    return {CONFIG_ALIASES.get(str(k), str(k)): v for k, v in data.items()
            if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def _said_failures(header: _Header, records: list[Record]) -> list[str]:
    """What each record's error, success and status columns say ('' when nothing is wrong). Texts are
    judged once per distinct combination (most rows repeat 'no error'); other values each time (1,
    1.0 and True, or 0.0 and -0.0, are equal but read apart)."""
    if not header.failure_columns:
        return [""] * len(records)
    names = header.failure_columns
    columns = [[record[column] for record in records] for column in names]
    # (a CSV's): no step a record; each distinct key is judged on a record of the failure columns
    # alone, which is all `_columns_failure` reads (errors, successes, status: `failure_columns`)
    if all(set(map(type, column)) == _TEXT for column in columns):
        keys = list(zip(*columns, strict=True))
        said: dict[tuple[Any, ...], str] = {key: _columns_failure(header, dict(zip(names, key, strict=True)))
                                            for key in dict.fromkeys(keys)}
        return list(map(said.__getitem__, keys))
    said = {}
    out: list[str] = []
    for record, key in zip(records, zip(*columns, strict=True), strict=True):
        if all(type(value) is str for value in key):
            found = said.get(key)
            if found is None:
                found = said[key] = _columns_failure(header, record)
        else:
            found = _columns_failure(header, record)
        out.append(found)
    return out


_TEXT = frozenset({str})


def _columns_failure(header: _Header, record: Record) -> str:
    """What the record's error, success and status columns say ('' when they say nothing is wrong)."""
    for column in header.errors:
        raw = record[column]
        if isinstance(raw, (list, tuple)):
            raw = "; ".join(str(x) for x in raw if not is_missing(x))
        if not is_missing(raw) and str(raw).strip().lower() not in {"false", "0", "[]"}:
            return str(raw).strip()[:300]
    for column in header.successes:
        if parse_bool(record[column]) is False:
            return "success=false"
    if header.status is not None:
        status = str(record[header.status]).strip().lower()
        if status in {"error", "failed", "failure", "timeout"}:
            return f"status={status}"
    return ""


def _numbers(records: list[Record], column: str, meaning: ColumnMeaning) -> list[float | None]:
    """The column's values in the metric's canonical unit, read column by column (`parse_numbers`)."""
    if meaning.metric not in METRICS:  # a bug: the file is skipped, and the inventory says so
        raise KeyError(f"unknown metric {meaning.metric!r}")
    return parse_numbers([record[column] for record in records], factor=meaning.factor,
                         is_time=meaning.metric in TIME_METRICS)


def _number(raw: Any, meaning: ColumnMeaning) -> float | None:
    """`_numbers` of one cell (what `parse_numbers` of a column gives each: `parse_number`)."""
    if meaning.metric not in METRICS:  # a bug: the file is skipped, and the inventory says so
        raise KeyError(f"unknown metric {meaning.metric!r}")
    return parse_number(raw, factor=meaning.factor, is_time=meaning.metric in TIME_METRICS)


def _shown_numbers(records: list[Record], column: str, meaning: ColumnMeaning
                   ) -> tuple[list[float | None], list[float]]:
    """`_numbers` of a claims column, and the precision each text shows (0 for a number)."""
    if meaning.metric not in METRICS:  # a bug: the file is skipped, and the inventory says so
        raise KeyError(f"unknown metric {meaning.metric!r}")
    return parse_shown_column([record[column] for record in records], factor=meaning.factor,
                              is_time=meaning.metric in TIME_METRICS)


def _requests(block: TableBlock, header: _Header, contexts: Contexts, out: Rows) -> None:
    """A row per metric a record holds (the first column of a metric wins, e.g. two latency
    spellings), and a NaN throughput row for a failed record without values.

    A record's rows are added to the table's columns at once (a list ``extend`` each, C work) and
    the table's columns to ``out`` at once (`Rows.add_columns`): a `Rows.append` per row cost
    ~0.6 µs, most of a request table's reading past its numbers."""
    records, source = block.records, block.source
    columns = [(meaning.metric, meaning.definition, _numbers(records, col, meaning)) for col, meaning in header.raw]
    said = _said_failures(header, records)
    models = _row_models(block, header, records)
    # (column by column from `_COLUMN_ROWS` records: a record's own fields kept once a record by
    # `Rows`, it reads a table of 5 to 7 records ~7-10% faster than the loop below; below it, the
    # loop, whose fixed cost is lower: 2 records were ~5-8% slower column by column, a JSON file's
    # one-object requests up to 1.5x)
    if len(records) >= _COLUMN_ROWS and header.raw_distinct and all(None not in numbers for _, _, numbers in columns):
        _full_requests(block, columns, said, models, contexts, out)
        return
    context_of, identifier_of = contexts
    request_id: list[str] = []
    row_of: list[int] = []
    model: list[str] = []
    metric_of: list[str] = []
    value_of: list[float] = []
    failed: list[bool] = []
    error_of: list[str] = []
    definition_of: list[str] = []
    context: list[str] = []
    identifiers: list[str] = []
    for position in range(len(records)):
        values: dict[str, float] = {}
        definitions: dict[str, str] = {}
        for metric, definition, numbers in columns:
            value = numbers[position]
            if value is None or metric in values:
                continue  # first column of a metric wins (e.g. two latency spellings)
            values[metric] = value
            definitions[metric] = definition
        error = said[position] or _values_failure(values)
        if not values and not error:
            continue
        if "ttft_ms" in values:
            definitions["ttft_ms"] = block.ttft_definition or _ttft_definition(values)
        if not values:
            values = {"throughput_tok_s": math.nan}
            definitions = {"throughput_tok_s": ""}
        row = block.row_offset + position
        count = len(values)
        spend_measurements(count)  # before the rows are made: past the budget the file stops here
        request_id.extend(repeat(f"{source}#{row}", count))
        row_of.extend(repeat(row, count))
        model.extend(repeat(models[position], count))
        metric_of.extend(values)
        value_of.extend(values.values())
        failed.extend(repeat(bool(error), count))
        error_of.extend(repeat(error, count))
        definition_of.extend(definitions.values())  # in the order of ``values``: set together
        context.extend(repeat(context_of[position], count))
        identifiers.extend(repeat(identifier_of[position], count))
    if metric_of:
        out.add_columns(len(metric_of), spent=True, request_id=request_id, source=source, row=row_of, model=model,
                        metric=metric_of, value=value_of, failed=failed, error=error_of, kind="request",
                        definition=definition_of, context=context, identifiers=identifiers, statistic="",
                        n=math.nan, fingerprint="")


def _full_requests(block: TableBlock, columns: list[tuple[str, str, list[float | None]]], said: list[str],
                   models: list[str], contexts: Contexts, out: Rows) -> None:
    """`_requests` of a table whose every record has a value in each raw column, each column a
    different metric (most request tables): every record makes one row per column, in column order,
    so the rows are made column by column, without the dicts and the loop a record of `_requests`.
    (Tested against the row-by-row reading: tests/core/test_ingest_tables_shortcuts.py.)"""
    records, source = block.records, block.source
    size, count = len(records), len(columns)
    # The table's budget charged before any of its rows is made, as `_requests` charges a record's:
    # past the file's allowance the file is left out (`bot.core.ingest.files`), none of its rows kept.
    spend_measurements(size * count)
    metrics = [metric for metric, _, _ in columns]
    by_record = list(zip(*(numbers for _, _, numbers in columns), strict=True))  # each record's values
    # `_values_failure` only speaks of a value that is zero: a record without one is not looked at
    errors = [error or (_values_failure(dict(zip(metrics, values, strict=True))) if 0 in values else "")
              for error, values in zip(said, by_record, strict=True)]
    definitions: list[Iterable[str]] = [repeat(definition, size) for _, definition, _ in columns]
    if "ttft_ms" in metrics:
        at = metrics.index("ttft_ms")
        if block.ttft_definition:
            definitions[at] = repeat(block.ttft_definition, size)
        elif "load_ms" in metrics and "prompt_eval_ms" in metrics:  # (else `_ttft_definition` says TTFT_FILE)
            load, prompt = metrics.index("load_ms"), metrics.index("prompt_eval_ms")
            # `_ttft_of` of each record, inline (a call a record was a third of this function): every
            # value is there and finite, so ``gap <= max(a, b)`` is ``gap <= a or gap <= b``
            ttfts, loads, prompts = (cast(list[float], columns[i][2]) for i in (at, load, prompt))  # (no None)
            definitions[at] = [
                TTFT_OLLAMA if ttft > 0 and ((gap := abs(ttft - (load_ms + prompt_ms))) <= 0.01 * ttft or gap <= 0.01)
                else TTFT_FILE
                for ttft, load_ms, prompt_ms in zip(ttfts, loads, prompts, strict=True)]
        else:
            definitions[at] = repeat(TTFT_FILE, size)
    context_of, identifier_of = contexts
    rows = range(block.row_offset, block.row_offset + size)
    # (`per_record`: a record's id, row, model, failure, context and identifiers, the same on its
    # rows, are given once a record: `Rows` keeps them so)
    out.add_columns(size * count, spent=True, per_record=count,
                    request_id=[f"{source}#{row}" for row in rows], source=source, row=list(rows), model=models,
                    metric=metrics * size, value=list(chain.from_iterable(by_record)),
                    failed=[bool(e) for e in errors], error=errors, kind="request",
                    definition=list(chain.from_iterable(zip(*definitions, strict=True))),
                    context=context_of, identifiers=identifier_of, statistic="", n=math.nan, fingerprint="")


TTFT_OLLAMA = "load + prompt eval as reported by Ollama (server-side; excludes network and queueing)"
TTFT_FILE = "as recorded by the benchmark file (definition not stated)"


def _ttft_definition(values: dict[str, float]) -> str:
    """Ollama-style files write ttft_s = load_s + prompt_eval_s: server durations, not the wall
    clock a user sees. Say so when the numbers show it; otherwise the file's TTFT is unexplained."""
    return _ttft_of(values.get("ttft_ms"), values.get("load_ms"), values.get("prompt_eval_ms"))


def _ttft_of(ttft: float | None, load: float | None, prompt: float | None) -> str:
    if (ttft is not None and load is not None and prompt is not None and ttft > 0
            and abs(ttft - (load + prompt)) <= max(0.01 * ttft, 0.01)):
        return TTFT_OLLAMA
    return TTFT_FILE


def _values_failure(values: dict[str, float]) -> str:
    """What the record's values say of its success ('' when nothing is wrong)."""
    if values.get("output_tokens") == 0:
        return "zero output tokens"
    if values.get("throughput_tok_s") == 0:
        return "zero throughput"
    if values and all(v == 0 for v in values.values()):
        return "all values zero"
    return ""


_NO_CONFIG = config_key({})  # what a claims table without settings columns names ('')


def _claims(block: TableBlock, header: _Header, *, default_stat: str) -> list[dict[str, Any]]:
    records, source, label = block.records, block.source, block.label
    if len(records) == 1:  # a Markdown `key: value` line or a JSON object's scalars (most claims tables)
        return _record_claims(block, header, default_stat)
    columns = []
    for col, meaning in header.meanings.items():
        context = (label + " | " + meaning.definition).strip(" |") if meaning.metric == "time_ms" else label
        numbers, precisions = _shown_numbers(records, col, meaning)
        columns.append((meaning, numbers, precisions, meaning.statistic or default_stat, METRICS[meaning.metric].unit,
                        context))
    settings = header.settings
    models = _row_models(block, header, records)
    # A table without settings columns names no configuration (`_row_config` of any of its rows is
    # empty); one with them has its rows' written column by column (`_row_configs`) when it can
    row_configs = _row_configs(header, records) if settings else [_NO_CONFIG] * len(records)
    if row_configs is not None:  # (most tables): the claims made in one comprehension, row by row
        return [{"source": source, "model": model, "config": config, "metric": meaning.metric, "statistic": statistic,
                 "value": value, "unit": unit, "context": context, "precision": precisions[position]}
                for position, model, config in zip(range(len(records)), models, row_configs, strict=True)
                for meaning, numbers, precisions, statistic, unit, context in columns
                if (value := numbers[position]) is not None]
    # Else (an options column, two spellings of a setting) a table repeats its settings row after
    # row: each distinct row is read once
    claims: list[dict[str, Any]] = []
    configs: dict[tuple[Any, ...], str] = {}
    for position, record in enumerate(records):
        config: str | None = None  # the row's configuration, read at its first claim
        for meaning, numbers, precisions, statistic, unit, context in columns:
            value = numbers[position]
            if value is None:
                continue
            if config is None:  # (1, 1.0 and True are equal keys, not the same text: keyed with their types)
                key = tuple((type(raw), raw) for raw in (record[column] for column in settings))
                try:
                    config = configs[key]
                except KeyError:
                    config = configs[key] = _row_config(header, record)
                except TypeError:  # an unhashable setting (an options object)
                    config = _row_config(header, record)
            claims.append({
                "source": source,
                "model": models[position],
                "config": config,
                "metric": meaning.metric,
                "statistic": statistic,
                "value": value,
                "unit": unit,
                "context": context,
                "precision": precisions[position],
            })
    return claims


def _record_claims(block: TableBlock, header: _Header, default_stat: str) -> list[dict[str, Any]]:
    """`_claims` of a one-record table, its cells read one by one (no column lists, no table of
    settings rows: a real archive has ~140 such tables, ~5 µs each the general way)."""
    record, label = block.records[0], block.label
    claims: list[dict[str, Any]] = []
    model = config = ""
    for col, meaning in header.meanings.items():
        if meaning.metric not in METRICS:  # a bug: the file is skipped, and the inventory says so
            raise KeyError(f"unknown metric {meaning.metric!r}")
        value, precision = parse_shown_value(record[col], factor=meaning.factor,
                                             is_time=meaning.metric in TIME_METRICS)
        if value is None:
            continue
        if not claims:  # the record's model and configuration, once it holds a claim
            model = _row_model(block, header, record)
            config = _row_config(header, record) if header.settings else _NO_CONFIG
        claims.append({
            "source": block.source,
            "model": model,
            "config": config,
            "metric": meaning.metric,
            "statistic": meaning.statistic or default_stat,
            "value": value,
            "unit": METRICS[meaning.metric].unit,
            "context": (label + " | " + meaning.definition).strip(" |") if meaning.metric == "time_ms" else label,
            "precision": precision,
        })
    return claims


def _generic(block: TableBlock, header: _Header, contexts: Contexts, out: Rows) -> None:
    """A row per value of each record's recognised time columns (row by row: most of these tables
    are a JSON object's one record, too small for `Rows.add_columns` to pay)."""
    records, source = block.records, block.source
    context_of, identifier_of = contexts
    if len(records) == 1:  # a JSON object's one record (most of these tables): its cells read one by one
        record = records[0]
        row = block.row_offset
        error = _columns_failure(header, record)  # (`_said_failures`, `_row_models` of one record)
        model = _row_model(block, header, record)
        request_id = f"{source}#{row}"
        for col, meaning, definition, zero_fails in header.generic:
            raw = record[col]
            if type(raw) is float and meaning.metric in METRICS:  # `_number` of a float (most cells), inline
                value = raw * meaning.factor
                if not math.isfinite(value):
                    continue
            else:
                found = _number(raw, meaning)
                if found is None:
                    continue
                value = found
            row_error = error or ("zero time (failed run)" if zero_fails and value == 0 else "")
            out.append(request_id=request_id, source=source, row=row, model=model, metric=meaning.metric,
                       value=value, failed=bool(row_error), error=row_error, kind="generic", definition=definition,
                       context=context_of[0], identifiers=identifier_of[0], statistic=meaning.statistic,
                       n=math.nan, fingerprint="")
        return
    columns = [(meaning.metric, meaning.statistic, definition, zero_fails, _numbers(records, col, meaning))
               for col, meaning, definition, zero_fails in header.generic]
    said = _said_failures(header, records)
    models = _row_models(block, header, records)
    for position in range(len(records)):
        row = block.row_offset + position
        error = said[position]
        request_id = f"{source}#{row}"
        for metric, statistic, definition, zero_fails, numbers in columns:
            number = numbers[position]
            if number is None:
                continue
            row_error = error or ("zero time (failed run)" if zero_fails and number == 0 else "")
            out.append(request_id=request_id, source=source, row=row, model=models[position], metric=metric,
                       value=number, failed=bool(row_error), error=row_error, kind="generic", definition=definition,
                       context=context_of[position], identifiers=identifier_of[position], statistic=statistic,
                       n=math.nan, fingerprint="")
