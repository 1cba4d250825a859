"""The ingest's passes over every file (`bot.core.ingest`) read a file's rows through the column
store: the shortcuts they take (a view of the columns when no row of the file is dropped, a
request's key found once per distinct id) give what the code they replaced gave, on random files."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.core.ingest import _request_records
from bot.core.ingest.frame import Chunk, ColumnStore
from bot.core.ingest.rows import Rows

METRICS = ["ttft_ms", "throughput_tok_s", "latency_ms", "output_tokens"]


def _reference_records(chunk: Chunk, requests: np.ndarray, store: ColumnStore) -> list[dict[str, float]]:
    """The previous `_request_records` (main 2bded61), kept as the specification."""
    ids = store.strings["request_id"].texts(store.values(chunk, "request_id")[requests].tolist())
    metrics = store.strings["metric"].texts(store.values(chunk, "metric")[requests].tolist())
    by_request: dict[str, dict[str, float]] = {}
    for request_id, metric, value in zip(ids, metrics, store.values(chunk, "value")[requests].tolist(), strict=True):
        by_request.setdefault(request_id.rsplit("#", 1)[-1], {})[metric] = value
    return [by_request[k] for k in sorted(by_request, key=_row_order)]


def _row_order(key: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in key.split("."))


def _file(rng: random.Random, source: str) -> Rows:
    rows = Rows()
    keys = [rng.choice(["0", "1", "2", "10", "2.1", "x", "a#b", ""]) for _ in range(rng.randint(1, 6))]
    prefixes = [source, f"{source}/other", "y"]
    for i in range(rng.randint(1, 30)):
        request_id = f"{rng.choice(prefixes)}#{rng.choice(keys)}" if rng.random() < 0.9 else rng.choice(keys)
        value = rng.choice([float("nan"), float(rng.randint(0, 5)), rng.random()])
        rows.append(request_id=request_id, source=source, row=i, model="m", metric=rng.choice(METRICS),
                    value=value, failed=rng.random() < 0.1, error="", kind=rng.choice(["request", "sample"]),
                    definition="", context="{}", identifiers=f'{{"i":"{i % 7}{"é" if i % 3 else ""}"}}', statistic="",
                    n=float("nan"), fingerprint="")
    return rows


def _same(got: list[dict[str, float]], want: list[dict[str, float]]) -> None:
    assert [list(r) for r in got] == [list(r) for r in want]  # the same records, metrics in the same order
    assert [[v if v == v else "nan" for v in r.values()] for r in got] == \
        [[v if v == v else "nan" for v in r.values()] for r in want]


@pytest.mark.parametrize("seed", range(200))
def test_request_records_match_the_per_row_version(seed: int) -> None:
    rng = random.Random(seed)
    store = ColumnStore()
    chunks = [store.add(_file(rng, f"f{i}.json").packed()) for i in range(4)]
    store.seal()
    for chunk in chunks:
        if rng.random() < 0.4:  # some files lose rows (a record read elsewhere): the slower path
            kept = sorted(rng.sample(range(len(chunk)), rng.randint(0, len(chunk))))
            store.keep(chunk, kept)
    request = store.strings["kind"].code("request")
    for chunk in chunks:
        requests = np.flatnonzero(store.values(chunk, "kind") == request)
        if not len(requests):
            continue
        _same(_request_records(chunk, requests, store), _reference_records(chunk, requests, store))


def test_values_of_a_trimmed_file_are_its_kept_rows_only() -> None:
    store = ColumnStore()
    rng = random.Random(3)
    chunks = [store.add(_file(rng, f"f{i}.json").packed()) for i in range(3)]
    store.seal()
    whole = [store.values(chunk, "row").tolist() for chunk in chunks]
    store.keep(chunks[1], [0])
    assert store.values(chunks[0], "row").tolist() == whole[0]
    assert store.values(chunks[1], "row").tolist() == whole[1][:1]
    assert store.values(chunks[2], "row").tolist() == whole[2]
    for chunk in chunks:  # the view and the searched positions agree
        assert store.values(chunk, "row").tolist() == store._columns["row"][store.positions(chunk)].tolist()


@pytest.mark.parametrize("seed", range(60))
def test_the_frame_holds_every_kept_row_as_appended(seed: int) -> None:
    rng = random.Random(seed)
    store = ColumnStore()
    files = [_file(rng, rng.choice(["a.json", "b.csv", "é.md"])) for _ in range(rng.randint(1, 40))]
    chunks = [store.add(rows.packed()) for rows in files]
    store.seal()
    names = ("request_id", "source", "metric", "kind", "row", "failed", "identifiers")
    expected: dict[str, list[object]] = {name: [] for name in names}
    for rows, chunk in zip(files, chunks, strict=True):
        kept = list(range(len(rows)))
        if rng.random() < 0.3:
            kept = sorted(rng.sample(kept, rng.randint(0, len(kept))))
            store.keep(chunk, kept)
        for name, column in expected.items():
            column.extend(rows.column(name)[i] for i in kept)
    measurements, identifiers = store.frame()
    assert "identifiers" not in measurements  # packed apart: the kept rows' only (`bot.core.ingest.packed`)
    assert list(identifiers.column()) == expected.pop("identifiers")
    for name, column in expected.items():
        assert measurements[name].tolist() == column


@pytest.mark.parametrize("keys", [["10", "9", "01", "1", "2", "0"], ["3", "12", "2.1", "x", "11"]])
def test_request_records_in_record_order_plain_indices_or_not(keys: list[str]) -> None:
    """Plain indices ('9' < '10'; '01' and '1' equal, kept in the order they come) are ordered by
    their numbers, as the tuples of `_row_order` order them; other keys by those tuples."""
    rows = Rows()
    for i, key in enumerate(keys):
        rows.append(request_id=f"f.json#{key}", source="f.json", row=i, model="m", metric="ttft_ms",
                    value=float(i), failed=False, error="", kind="request", definition="", context="{}",
                    identifiers="", statistic="", n=float("nan"), fingerprint="")
    store = ColumnStore()
    chunk = store.add(rows.packed())
    store.seal()
    requests = np.arange(len(keys))
    got = _request_records(chunk, requests, store)
    _same(got, _reference_records(chunk, requests, store))
    if keys[0] == "10":
        assert [r["ttft_ms"] for r in got] == [5.0, 2.0, 3.0, 4.0, 1.0, 0.0]
