"""The shortcuts of a table's reading (issue 15, sixth round) give what the general reading gives:
request tables with every value made column by column, one-record tables read cell by cell, a
claim's configuration written as its key text, plain decimal columns checked without the
decimals' pattern. Random tables, seeded; the general readings are the references."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from bot.core.config import Config
from bot.core.ingest import ingest_tree, tables
from bot.core.ingest.rows import Rows
from bot.core.ingest.tables import TableBlock
from bot.core.values import parse_number, parse_numbers
from tests.core.test_ingest_tables_equivalence import _COLUMNS, _packed, _reference_requests, _value


def test_config_key_is_the_key_of_config_from_items() -> None:
    rng = random.Random(17)
    keys = ["num_gpu", "num_ctx", "temperature", "tag", "config", "a,b", "k=v", "back\\slash", "é"]
    values = ["60", " 2048 ", "0.80", "", "nan", "n/a", "q4,0", "x\\y", "a=b", 999.0, 0.4, 7, -0.0, True, None,
              math.nan, 10**30]
    for _ in range(2000):
        items = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(0, 5))}
        assert tables.config_key(items) == Config.from_items(items).key, items


def _full_request_cell(rng: random.Random, column: str) -> Any:
    """A cell every raw column reads as a number (the shortcut's tables), zeros now and then."""
    if column in ("ttft_s", "tokens_s", "load_s", "prompt_eval_s", "eval_count", "latency_ms", "e2e_latency_ms"):
        return rng.choice(["0", "0.0", str(rng.randint(1, 999)), f"{rng.uniform(0, 9):.3f}", 0, 1.5, -0.0])
    return _value(rng, column)


def test_request_tables_with_every_value_read_as_row_by_row() -> None:
    # `_full_requests` (every record has a value in each raw column, each column its own metric)
    rng = random.Random(23)
    checked = taken = small = 0
    for _ in range(400):
        columns = rng.sample(_COLUMNS, rng.randint(2, len(_COLUMNS)))
        records = [{column: _full_request_cell(rng, column) for column in columns} for _ in range(rng.randint(1, 24))]
        if rng.random() < 0.3:  # an Ollama-style TTFT of load + prompt eval
            for record in records:
                if {"ttft_s", "load_s", "prompt_eval_s"} <= record.keys():
                    record["ttft_s"] = str(float(record["load_s"] or 0) + float(record["prompt_eval_s"] or 0))
        block = TableBlock(columns=columns, records=records, source="runs/x.csv", row_offset=rng.randint(0, 5),
                           ttft_definition=rng.choice(["", "", "wall clock"]))
        header = tables._header(tuple(columns))
        if header.kind != "request" or not header.raw_distinct:
            continue
        got, want = Rows(), Rows()
        tables.interpret(block, got)
        _reference_requests(block, header, want)
        assert _packed(got) == _packed(want), columns
        checked += 1
        taken += len(records) >= tables._COLUMN_ROWS  # (from there on, the shortcut is taken)
        small += tables._COLUMN_ROWS <= len(records) < tables._TEMPLATE_ROWS
    assert checked > 100 and taken > 50 and small > 10


def test_a_one_record_table_reads_as_its_record_among_others() -> None:
    # generic and claims tables of one record are read cell by cell; the same record in a table of
    # several is read column by column
    rng = random.Random(29)
    names = ["mean_ms", "p99_ms", "duration_s", "Tokens/s", "TTFT (s)", "mean_tokens_s", "model", "num_ctx", "tag",
             "error", "status", "config_name", "options"]
    cells = ["12", "0", "1.5 s", "870 ms", "n/a", "", "**42.5**", "1,234", 3, 0.0, 2.5, None, math.nan, True, "x",
             '{"temperature": 0.2}', "error", -0.0, 1e308, math.inf]  # (1e308 s is no finite number of ms)
    checked = 0
    for _ in range(1500):
        columns = rng.sample(names, rng.randint(1, 5))
        record = {column: rng.choice(cells) for column in columns}
        markdown = rng.random() < 0.5
        block = TableBlock(columns=columns, records=[record], source="a/b.json", label=rng.choice(["", "Results"]),
                           model="m0", markdown=markdown, row_offset=3)
        pair = TableBlock(columns=columns, records=[record, dict(record)], source="a/b.json", label=block.label,
                          model="m0", markdown=markdown, row_offset=3)
        one, two = tables.interpret(block, Rows()), tables.interpret(pair, Rows())
        assert one.kind == two.kind
        assert two.claims == one.claims * 2
        first = _packed(two.measurements)
        size = len(one.measurements)
        assert _packed(one.measurements) == (size, {name: texts[:size] for name, texts in first[1].items()},
                                             {name: values[:size] for name, values in first[2].items()})
        checked += bool(one.claims or one.measurements)
    assert checked > 300


def test_a_column_of_digits_dots_and_dashes_reads_as_cell_by_cell() -> None:
    # `_plain_column` checks the characters and lets `float` judge the shape: every text of those
    # characters must read as `parse_number` reads it alone ('5.', '-', '1-2', '' among them)
    rng = random.Random(31)
    for _ in range(3000):
        column = ["".join(rng.choice("0123456789.-") for _ in range(rng.randint(0, 5)))
                  for _ in range(rng.randint(8, 12))]
        if rng.random() < 0.7:  # mostly plain decimals, a stray text now and then
            column = [f"{rng.uniform(-999, 999):.{rng.randint(0, 4)}f}" for _ in column[:-1]] + [column[-1]]
        factor = rng.choice([1.0, 1000.0, 0.001, -1.0])
        got = parse_numbers(column, factor=factor, is_time=True)
        want = [parse_number(raw, factor=factor, is_time=True) for raw in column]
        assert [repr(x) for x in got] == [repr(x) for x in want], column


# --- a claims table read as it was: a Config made per row, the row's configuration read first ------
def _reference_config(header: Any, record: dict[str, Any]) -> str:
    from bot.core.values import is_missing

    cols, items = header.cols, {}
    for name, original in header.config_columns:
        if not is_missing(record[original]):
            items[name] = record[original]
    if "tag" in cols and not header.models and not is_missing(record[cols["tag"]]):
        items["tag"] = record[cols["tag"]]
    if "options" in cols:
        items.update(tables._options(record[cols["options"]]))
    if not items and "config_name" in cols and not is_missing(record[cols["config_name"]]):
        items["config"] = record[cols["config_name"]]
    if not items and "config" in cols and not is_missing(record[cols["config"]]):
        items["config"] = record[cols["config"]]
    return Config.from_items(items).key


def _reference_claims(block: TableBlock, header: Any) -> list[dict[str, Any]]:
    claims = []
    for position, record in enumerate(block.records):
        config = _reference_config(header, record)
        for col, meaning in header.meanings.items():
            numbers, precisions = tables._shown_numbers(block.records, col, meaning)
            if numbers[position] is None:
                continue
            label = block.label
            claims.append({"source": block.source, "model": tables._row_model(block, header, record), "config": config,
                           "metric": meaning.metric, "statistic": meaning.statistic or "value",
                           "value": numbers[position], "unit": tables.METRICS[meaning.metric].unit,
                           "context": (label + " | " + meaning.definition).strip(" |")
                           if meaning.metric == "time_ms" else label,
                           "precision": precisions[position]})
    return claims


def test_claims_tables_read_as_row_by_row() -> None:
    rng = random.Random(37)
    names = ["mean_tokens_s", "p95_ttft_ms", "Mean (ms)", "Tokens/s", "model", "model_filename", "num_gpu", "num_ctx",
             "temp", "tag", "options", "config_name", "config", "Backend"]
    cells = ["12", "0.50", "**7.25**", "1,234", "n/a", "", "-", 3, 2.5, None, math.nan, "q4_0", "40", " 999 ",
             '{"temperature": 0.2, "ctx": 2048}', "g60,c2048", "a\\b", "x=y"]
    checked = 0
    for _ in range(600):
        columns = rng.sample(names, rng.randint(2, 7))
        records = [{column: rng.choice(cells) for column in columns} for _ in range(rng.randint(2, 10))]
        if rng.random() < 0.5:  # settings repeated row after row, as a summary table repeats them
            for record in records[1:]:
                record.update({k: v for k, v in records[0].items() if k in ("num_gpu", "num_ctx", "temp", "tag")})
        block = TableBlock(columns=columns, records=records, source="r/s.md", label=rng.choice(["", "Results"]),
                           model="m0", markdown=True)
        header = tables._header(tuple(columns))
        if not header.meanings:
            continue
        assert tables.interpret(block, Rows()).claims == _reference_claims(block, header), columns
        checked += 1
    assert checked > 300


def test_context_template_writes_what_context_text_writes() -> None:
    # `_contexts` writes the contexts of a table of 8 or more records by a template of the block's;
    # each must be the text `_context_text` makes of the record's own dimensions over the block's
    rng = random.Random(41)
    fields = ["backend", "quant", "folder", "file", "field:folder", "{odd}", "é", "num_ctx", "section"]
    for _ in range(300):
        names = rng.sample(fields, rng.randint(1, 4))
        records = [{name: rng.choice(["vllm", "q4_0", "{a}", "x\"y", "é", "7", None, "", 2048]) for name in names}
                   for _ in range(rng.randint(8, 12))]
        block = TableBlock(columns=names, records=records, source=rng.choice(["run_20251002-151204/a.csv", "b.csv"]),
                           config=rng.choice([{}, {"gpu": "A100", "folder": "x"}, {"backend": "ollama"}]),
                           label=rng.choice(["", "Results"]))
        header = tables._header(tuple(names))
        contexts, _ = tables._contexts(block, header)
        around, _ = tables._surroundings(block)
        columns, _ = tables.split_columns(records, skip=header.not_context)
        for position, found in enumerate(contexts):
            own = {name: texts[position] for name, texts in columns if texts[position] is not None}
            assert found == tables._context_text(block.source, tuple({**around, **own}.items())), (names, position)


def test_rows_added_a_record_at_a_time_pack_as_rows_added_one_by_one() -> None:
    # `Rows.add_columns(per_record=...)` keeps a record's own fields once (RECORD_FIELDS, given
    # once a record), and `Rows.packed` repeats them on its rows
    from bot.core.ingest.rows import RECORD_FIELDS, ROW_FIELDS

    rng = random.Random(43)
    for _ in range(300):
        got, want = Rows(), Rows()
        for _ in range(rng.randint(1, 4)):
            records, per_record = rng.randint(1, 5), rng.randint(1, 4)
            rows = []
            for record in range(records):
                own = {"request_id": f"f#{rng.randint(0, 3)}", "model": rng.choice(["m1", "m2"]),
                       "error": rng.choice(["", "", "timeout"]), "context": rng.choice(["{}", '{"a":"1"}']),
                       "identifiers": rng.choice(["{}", '{"t":"2"}']), "row": record, "failed": rng.random() < 0.2}
                for _ in range(per_record):
                    rows.append({**own, "source": "f", "metric": rng.choice(["ttft_ms", "eval_ms"]),
                                 "value": rng.random(), "kind": "request", "definition": rng.choice(["", "d"]),
                                 "statistic": "", "n": math.nan, "fingerprint": ""})
            if rng.random() < 0.5:
                got.add_columns(len(rows), per_record=per_record,
                                **{name: [row[name] for row in rows[::per_record if name in RECORD_FIELDS else 1]]
                                   for name in ROW_FIELDS})
            else:  # rows appended one by one between the spans
                for row in rows:
                    got.append(**row)
            for row in rows:
                want.append(**row)
        assert _packed(got) == _packed(want)


def test_claims_configurations_made_column_by_column_are_each_rows() -> None:
    """`_row_configs` (a summary table's settings written column by column) is `_row_config` of each
    record: missing values, tags, the 'config_name' fallback, texts and numbers, two spellings of one
    setting and an options column (which keep the row-by-row reading) among them."""
    rng = random.Random(29)
    names = ["num_gpu", "num_ctx", "temperature", "temp", "tag", "config_name", "config", "options", "model",
             "quant", "a,b", "mean_tokens_s"]
    cells = ["60", " 2048 ", "0.80", "", "nan", "n/a", "-", "q4,0", "x\\y", "a=b", 999.0, 0.4, 7, -0.0, True, None,
             math.nan, 10**30, [1, 2], '{"num_ctx": 4096, "temp": 0.2}']
    made = 0
    for _ in range(1500):
        columns = rng.sample(names, rng.randint(1, 6))
        records = [{column: rng.choice(cells) for column in columns} for _ in range(rng.randint(1, 9))]
        if rng.random() < 0.5:  # texts only, each column's texts repeated
            records = [{column: str(rng.choice(cells[:10])) for column in columns} for _ in range(rng.randint(1, 9))]
        header = tables._header(tuple(columns))
        got = tables._row_configs(header, records)
        if got is not None:
            made += 1
            assert got == [tables._row_config(header, record) for record in records], (columns, records)
    assert made > 500


def test_a_summary_tables_true_and_1_settings_stay_apart_on_both_paths(tmp_path: Path) -> None:
    """1 and True are equal keys in Python but not the same setting text: a JSON summary table's
    rows with ``flash_attn`` 1 and true name two configurations, whether the table's keys are made
    column by column or (with an options column) row by row and cached (found in review, round 8:
    the cache merged them, so a claim was checked against the other configuration's rows)."""
    rows = [{"model": "m:1b", "flash_attn": 1, "mean_tokens_s": 102.0},
            {"model": "m:1b", "flash_attn": True, "mean_tokens_s": 202.0},
            {"model": "m:1b", "flash_attn": 0, "mean_tokens_s": 52.0},
            {"model": "m:1b", "flash_attn": False, "mean_tokens_s": 302.0}]
    for options in (False, True):
        folder = tmp_path / f"options-{options}"
        folder.mkdir()
        table = [{**row, "options": ""} if options else row for row in rows]
        (folder / "summary.json").write_text(json.dumps(table))
        claims = ingest_tree(folder, workers=1).claims
        configs = dict(zip(claims["value"], claims["config"], strict=True))
        assert configs == {102.0: "flash_attn=1", 202.0: "flash_attn=True", 52.0: "flash_attn=0",
                           302.0: "flash_attn=False"}, options


def test_rows_added_a_record_at_a_time_take_a_records_fields_once_a_record() -> None:
    # with ``per_record``, RECORD_FIELDS come one a record (kept so), the others one a row: a column
    # of the other length is refused, not packed out of line with the rows
    import pytest

    from bot.core.ingest.rows import RECORD_FIELDS, ROW_FIELDS

    def columns(record_length: int, row_length: int) -> dict[str, object]:
        return {name: (["r"] * record_length if name in RECORD_FIELDS - {"row", "failed"} else
                       list(range(record_length)) if name == "row" else [False] * record_length)
                if name in RECORD_FIELDS else
                ([1.0] * row_length if name in ("value", "n") else ["t"] * row_length) for name in ROW_FIELDS}

    rows = Rows()
    rows.add_columns(6, per_record=3, **columns(2, 6))
    packed = rows.packed()
    assert len(packed) == 6 and packed.numbers["row"].tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="for 2 records"):
        Rows().add_columns(6, per_record=3, **columns(6, 6))
    with pytest.raises(ValueError, match="for 6 rows"):
        Rows().add_columns(6, per_record=3, **columns(2, 2))


def test_a_one_record_tables_contexts_are_the_general_readings() -> None:
    # `_record_contexts` (a one-record table's fields one by one) against `_table_contexts` (the
    # general reading, column by column) of the same block: fields of every kind, hostile texts,
    # lists and objects, options, a record's 'folder'/'file', the block's surroundings and section
    rng = random.Random(31)
    names = ["mean_ms", "latency_ms", "model", "num_ctx", "tag", "error", "status", "options", "timestamp", "seed",
             "run", "prompt", "backend", "folder", "file", "section", "gpu.name", "variations", "created_at", "x"]
    cells = ["12", "0", "a b", " spaced ", "", "nan", "n/a", None, math.nan, 0.0, -0.0, 1, 1.0, True, False, 10**30,
             "2025-10-02T19:12:04", "20251002-151204", "0123456789abcdef0123456789abcdef", "line\nbreak", "x\u2028y",
             "\ud800", "é" * 300, '{"temperature": 0.2, "top_p": "0.9"}', '{"bad": ', ["a", "b" * 200], {"k": [1]},
             1759099000.35, "inf", "\x1c7\x85"]
    configs = [{}, {}, {"backend": "jit", "generated_at": "2025-10-02T21:21:05", "n": 2, "x": None},
               {"hardware": ["gpu"], "seed": 3}, {"folder": "f", "tag": 1.0}]
    checked = 0
    for _ in range(3000):
        columns = rng.sample(names, rng.randint(1, 7))
        record = {column: rng.choice(cells) for column in columns}
        block = TableBlock(columns=columns, records=[record], source=rng.choice(["a/b.json", "run_1/x-20251002.json"]),
                           label=rng.choice(["", "Results", "eager/metadata"]), config=rng.choice(configs))
        header = tables._header(tuple(columns))
        assert tables._contexts(block, header) == tables._table_contexts(block, header), (record, block.config)
        checked += 1
    assert checked == 3000
