"""The column-wise shortcuts of a table's reading give what the plain row-by-row reading gave:
`parse_numbers` is `parse_number` per cell, a request table's rows (`Rows.add_columns` per table) are
the rows of one `Rows.append` per row, and the identifiers template writes each record's identifiers
as `encode` does. Random tables, seeded."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from bot.core.ingest import tables
from bot.core.ingest.rows import Rows
from bot.core.ingest.tables import TableBlock
from bot.core.values import parse_number, parse_numbers

_TEXTS = ["0", "12", "-3", "0.5", ".25", "-0", "1.", "1e5", "1,234", "12 ms", "1.2s", "", " ", "nan", "inf", "-",
          "9" * 400, "1\n2", "5\n", "1_0", "+1", "abc", " 7 ", "1.5 ± 0.2", "0.000"]


def _cell(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice([str(rng.randint(-10**6, 10**6)), f"{rng.uniform(-1e4, 1e4):.4f}", "0", "0.0"])
    if roll < 0.9:
        return rng.choice(_TEXTS)
    return rng.choice([1, 2.5, None, math.nan, True, -0.0, 10**400, [1]])


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def test_parse_numbers_is_parse_number_of_each_cell() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        column = [_cell(rng) for _ in range(rng.randint(0, 6))]
        if rng.random() < 0.5:  # columns of plain decimals only, the shortcut's case
            column = [str(rng.choice([rng.randint(-999, 999), round(rng.uniform(-99, 99), 3)])) for _ in column]
        factor = rng.choice([1.0, 1000.0, 0.001, -1.0, 1e308])
        got = parse_numbers(column, factor=factor, is_time=True)
        want = [parse_number(raw, factor=factor, is_time=True) for raw in column]
        assert all(_same(a, b) for a, b in zip(got, want, strict=True)), (column, factor)


# --- the reading of a request table as it was: one `Rows.append` per row -------------------------
def _reference_requests(block: TableBlock, header: Any, out: Rows) -> None:
    records, source = block.records, block.source
    contexts = tables._contexts(block, header)
    columns = [(meaning.metric, meaning.definition, tables._numbers(records, col, meaning))
               for col, meaning in header.meanings.items() if meaning.statistic == ""]
    for position, record in enumerate(records):
        values: dict[str, float] = {}
        definitions: dict[str, str] = {}
        for metric, definition, numbers in columns:
            value = numbers[position]
            if value is None or metric in values:
                continue
            values[metric] = value
            definitions[metric] = definition
        error = tables._columns_failure(header, record) or tables._values_failure(values)
        if not values and not error:
            continue
        row = block.row_offset + position
        if "ttft_ms" in values:
            definitions["ttft_ms"] = block.ttft_definition or tables._ttft_definition(values)
        if not values:
            values = {"throughput_tok_s": math.nan}
        for metric, value in values.items():
            out.append(request_id=f"{source}#{row}", source=source, row=row,
                       model=tables._row_model(block, header, record), metric=metric, value=value,
                       failed=bool(error), error=error, kind="request", definition=definitions.get(metric, ""),
                       context=contexts[0][position], identifiers=contexts[1][position], statistic="", n=math.nan,
                       fingerprint="")


_COLUMNS = ["model", "ttft_s", "tokens_s", "load_s", "prompt_eval_s", "eval_count", "latency_ms", "e2e_latency_ms",
            "error", "success", "status", "timestamp", "prompt_index", "num_ctx", "request_id", "options"]


def _value(rng: random.Random, column: str) -> Any:
    if column == "model":
        return rng.choice(["m1", "m2", " m3 ", "", "nan", 1])
    if column in ("error", "status"):
        return rng.choice(["", "", "", "timeout", "error", "0", "false", math.nan])
    if column == "success":
        return rng.choice(["true", "false", True, "", 1])
    if column == "timestamp":
        return rng.choice([f"2025-10-0{rng.randint(1, 9)}T12:00:{rng.randint(10, 59)}", "", None])
    if column in ("prompt_index", "request_id"):
        return rng.choice([str(rng.randint(0, 99)), "{x}", "a\"b", "é", None])
    if column == "num_ctx":
        return rng.choice(["1024", "2048", 4096])
    if column == "options":
        return rng.choice(['{"temperature":0.2}', "", '{"num_ctx":1}'])
    return _cell(rng)


def _packed(rows: Rows) -> tuple[Any, ...]:
    packed = rows.packed()
    texts = {name: [distinct[code] for code in codes.tolist()] for name, (distinct, codes) in packed.texts.items()}
    numbers = {name: array.tolist() for name, array in packed.numbers.items()}
    return len(packed), texts, {name: [repr(v) for v in values] for name, values in numbers.items()}


def test_request_tables_read_as_row_by_row() -> None:
    rng = random.Random(11)
    checked = 0
    for _ in range(400):
        columns = rng.sample(_COLUMNS, rng.randint(2, len(_COLUMNS)))
        if rng.random() < 0.3:
            columns.append("ttft_ms" if "ttft_s" in columns else "throughput_tok_s")  # a metric twice
        records = [{column: _value(rng, column) for column in columns} for _ in range(rng.randint(1, 12))]
        block = TableBlock(columns=columns, records=records, source=f"runs/r{rng.randint(1, 3)}/x.csv",
                           config=rng.choice([{}, {"run_id": "7", "host": "a"}]), row_offset=rng.randint(0, 5),
                           ttft_definition=rng.choice(["", "wall clock"]))
        header = tables._header(tuple(columns))
        if header.kind != "request":
            continue
        got, want = Rows(), Rows()
        tables.interpret(block, got)
        _reference_requests(block, header, want)
        assert _packed(got) == _packed(want), columns
        checked += 1
    assert checked > 100


def test_identifiers_template_writes_what_encode_writes() -> None:
    rng = random.Random(3)
    for _ in range(300):
        names = rng.sample(["timestamp", "request_id", "prompt_index", "{odd}", "file_id", "run_id"], rng.randint(1, 4))
        records = [{name: rng.choice(["2025-10-01T10:00:00", "{a}", "x\"y", "é", "7", None]) for name in names}
                   for _ in range(rng.randint(2, 6))]
        block = TableBlock(columns=names, records=records, source=rng.choice(["run_20251002-151204/a.csv", "b.csv"]),
                           config=rng.choice([{}, {"run_id": "9", "uuid": "0" * 32}]))
        header = tables._header(tuple(names))
        _, identifiers = tables._contexts(block, header)
        _, around = tables._surroundings(block)
        _, columns = tables.split_columns(records, skip=header.not_context)
        for position, found in enumerate(identifiers):
            own = {name: texts[position] for name, texts in columns if texts[position] is not None}
            assert found == tables._identifiers_text(block.source, tuple({**around, **own}.items()))


def test_a_column_every_row_shares_packs_as_one_text() -> None:
    rows = Rows()
    rows.add_columns(3, request_id=["a#0", "a#0", "a#1"], source="a", row=[0, 0, 1], model=["m", "m", "n"],
                     metric=["ttft_ms"] * 3, value=[1.0, 2.0, 3.0], failed=[False, True, False], error="",
                     kind="request", definition="", context="{}", identifiers=["{}", "{}", "{}"], statistic="",
                     n=math.nan, fingerprint="")
    packed = rows.packed()
    assert packed.texts["source"][0] == ["a"] and packed.texts["source"][1].tolist() == [0, 0, 0]
    assert packed.texts["model"][0] == ["m", "n"] and packed.texts["model"][1].tolist() == [0, 0, 1]
    assert packed.numbers["failed"].dtype == np.bool_ and packed.numbers["row"].tolist() == [0, 0, 1]


def test_a_one_record_block_has_the_context_and_identifiers_its_record_has_among_others() -> None:
    # `_contexts` makes a one-record block's texts directly (most blocks of a JSON file); the same
    # record in a block of several gets them through the per-record loops
    rng = random.Random(11)
    fields = ["backend", "quant", "batch", "timestamp", "request_id", "run_id", "gpu", "{odd}", "file_id", "ttft_ms"]
    for _ in range(400):
        names = rng.sample(fields, rng.randint(1, 5))
        record = {name: rng.choice(["vllm", "q4_0", "8", "2025-10-01T10:00:00", "{a}", "x\"y", "é", "7", None, 1.5])
                  for name in names}
        config = rng.choice([{}, {"run_id": "9", "gpu": "A100"}, {"backend": "ollama"}])
        source = rng.choice(["run_20251002-151204/a.csv", "b.json", "folder/c.json"])
        header = tables._header(tuple(names))
        # (the same record repeated: a column is judged on its values, which must be the one record's)
        repeated = [dict(record) for _ in range(rng.randint(2, 4))]
        many = tables._contexts(TableBlock(columns=names, records=repeated, source=source, config=config), header)
        one = tables._contexts(TableBlock(columns=names, records=[record], source=source, config=config), header)
        assert (one[0], one[1]) == (many[0][:1], many[1][:1])

