"""The column store places files' rows a batch of files at a time (`ColumnStore.add`): whatever the
batch size, and wherever the batches end, the columns and the frame hold every row as appended."""

from __future__ import annotations

import random

import pytest

from bot.core.ingest import frame
from bot.core.ingest.frame import ColumnStore
from bot.core.ingest.rows import Rows

TEXTS = ["", "a", "b", "é", "日本", "\ud800", "x" * 300]


def _file(rng: random.Random, source: str, size: int) -> Rows:
    rows = Rows()
    one_model = rng.random() < 0.5  # most files name one model in every row: the batch's fast path
    for i in range(size):
        rows.append(request_id=f"{source}#{rng.randint(0, 3)}", source=source, row=rng.choice([i, 200, 40000]),
                    model="m" if one_model else rng.choice(TEXTS), metric=rng.choice(["ttft_ms", "latency_ms"]),
                    value=rng.random(), failed=rng.random() < 0.2, error=rng.choice(["", "", "timeout"]),
                    kind="request", definition="", context=rng.choice(["{}", '{"a":"1"}']),
                    identifiers=rng.choice(TEXTS), statistic="", n=float(rng.randint(0, 9)),
                    fingerprint=rng.choice(["", "p1", "p2"]))
    return rows


def _frame(files: list[Rows]) -> tuple[ColumnStore, list]:
    store = ColumnStore()
    chunks = [store.add(rows.packed()) for rows in files]
    store.seal()
    return store, chunks


@pytest.mark.parametrize("seed", range(40))
def test_batches_of_any_size_give_the_same_columns(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    files = [_file(rng, rng.choice(["a.json", "b.csv", "é.md"]), rng.choice([0, 1, 1, 3, 17])) for _ in range(12)]
    whole, whole_chunks = _frame(files)  # one batch
    monkeypatch.setattr(frame, "_BATCH_FILES", rng.randint(1, 4))
    monkeypatch.setattr(frame, "_BATCH_ROWS", rng.randint(1, 30))
    batched, chunks = _frame(files)
    assert [(c.start, c.stop) for c in chunks] == [(c.start, c.stop) for c in whole_chunks]
    assert len(batched) == len(whole) == sum(map(len, files))
    for rows, chunk in zip(files, chunks, strict=True):
        for name in ("request_id", "model", "identifiers", "error", "fingerprint"):
            assert batched.texts(chunk, name) == rows.column(name)
        for name in ("row", "value", "failed", "n"):
            assert batched.values(chunk, name).tolist() == rows.column(name)
    (got, got_ids), (want, want_ids) = batched.frame(), whole.frame()
    for name in want.columns:
        assert got[name].tolist() == want[name].tolist(), name
        assert got[name].dtype == want[name].dtype, name
    assert list(got_ids.column()) == list(want_ids.column()) == [text for rows in files for text in rows.identifiers]


def test_row_numbers_past_int32_keep_int64() -> None:
    # the frame's ``row`` is int32 (4 bytes a row), unless a value does not fit
    rng = random.Random(1)
    small, large = _file(rng, "a.json", 3), _file(rng, "b.json", 2)
    large.row[1] = 2**31
    assert _frame([small])[0].frame()[0]["row"].dtype.name == "int32"
    measurements, _identifiers = _frame([small, large])[0].frame()
    assert measurements["row"].dtype.name == "int64"
    assert measurements["row"].tolist() == small.row + large.row
