"""The archive's column store (`bot.core.ingest.frame`): texts kept as UTF-8 bytes and codes kept in
narrow integer types give back exactly what was appended."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.ingest import frame
from bot.core.ingest.frame import ColumnStore, FileTexts, IntColumn
from bot.core.ingest.rows import Rows

TEXTS = ["", "a#1", "plain ascii", "é#2", "日本語", "\ud800 lone surrogate", "x\x00y", "🙂", "a#1"]


def test_file_texts_round_trip_every_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frame, "_DECODED_AT_ONCE", 3)  # steps end inside and between files
    texts = FileTexts()
    files = [TEXTS[:4], TEXTS[4:], ["only ascii", ""], TEXTS]
    expected: list[str] = []
    for distinct in files:
        first = texts.extend(distinct)
        assert texts.texts(list(range(first, first + len(distinct)))) == distinct
        expected.extend(distinct)
    assert texts.all() == expected
    assert texts.texts([5, 2, 5]) == [expected[5], expected[2], expected[5]]


def test_int_column_widens_as_values_grow() -> None:
    column = IntColumn()
    parts = [np.array([0, 5, 127]), np.array([128, 3]), np.array([2**20]), np.array([2**40, 1])]
    for part in parts:
        column.extend(part, int(part.max()))
    assert column.buffer.typecode == "q"
    assert column.array().tolist() == np.concatenate(parts).tolist()


def _rows(source: str, models: list[str]) -> Rows:
    rows = Rows()
    for i, model in enumerate(models):
        rows.append(request_id=f"{source}#{i}", source=source, row=i, model=model, metric="ttft_ms", value=float(i),
                    failed=False, error="", kind="request", definition="", context="{}",
                    identifiers=f'{{"file":"{source}é"}}', statistic="", n=float("nan"), fingerprint="")
    return rows


def test_store_frame_keeps_texts_and_renames_past_a_narrow_code() -> None:
    store = ColumnStore()
    chunks = [store.add(_rows(f"f{i}.json", [f"m{i}", ""]).packed()) for i in range(127)]
    store.seal()
    store.rename(chunks[0], "model", "", "a model named last")  # the 129th text: past int8 codes
    store.keep(chunks[1], [1])
    measurements, identifiers = store.frame()
    assert len(measurements) == 253 == len(identifiers)
    assert measurements["model"].iloc[:3].tolist() == ["m0", "a model named last", ""]
    assert measurements["request_id"].iloc[:3].tolist() == ["f0.json#0", "f0.json#1", "f1.json#1"]
    assert identifiers.column()[2] == '{"file":"f1.jsoné"}'
    assert measurements["row"].dtype == np.int32  # a record's index in its file: 4 bytes (`bot.core.types`)
    assert list(measurements["request_id"].cat.categories) == sorted(set(measurements["request_id"]))


def test_an_int_column_widens_for_values_below_its_range_too() -> None:
    # it widened on the largest value only: -200 into an int8 column wrapped to 56 (review)

    column = IntColumn()
    column.extend(np.array([-5, 3]), 3)
    column.extend(np.array([-128]), 0)
    assert column.array().dtype == np.int8
    column.extend(np.array([-200]), 0)
    column.extend(np.array([-40000, 7]), 7)
    assert column.array().tolist() == [-5, 3, -128, -200, -40000, 7]
    column.extend(np.array([], dtype=np.int64), 0)
    assert len(column) == 6
