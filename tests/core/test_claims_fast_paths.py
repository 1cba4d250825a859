"""The short cuts `check_claims` takes on a real archive's many small scopes give what the general steps give.

A scope without rows (a claim naming a configuration no run has) is made without the general steps; a
one-file scope's claims skip the nearest-folder lookup (the archive root is above every file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bot.core.analysis.claims import _Index, _Scope, check_claims
from tests.ingest_support import ingest_files

RAW = "model,num_ctx,tokens_s\n"
SUMMARY = "model,num_ctx,mean_tokens_s,median_tokens_s\n"


def test_a_scope_without_rows_has_no_sources_and_no_nearest_folder() -> None:
    names = ["a/x.csv", "b/y.csv"]
    scope = _Scope(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32), names, {"a/x.csv": ["c/x.csv"]})
    # what the general steps gave for no rows: nothing per source, an empty 32-bit segment
    fields = (scope.sources, scope.own, scope.position, scope.counts, scope.starts, scope.below)
    assert fields == ([], (), {}, [], [], {})
    assert scope.rows.size == 0 and scope.segment is not None and scope.segment.dtype == np.int32
    rows = np.arange(5)
    assert _Scope(rows[2:2], rows[2:2].astype(np.int32), names, {}).rows.base is None  # not a view of ``rows``
    assert scope.segment.size == 0
    for folder in ("a", "c", ".", ""):
        assert scope.nearest(folder) is None
    values, counts, starts = scope.values("tokens_s", lambda _: np.arange(3, dtype="float64"))
    assert (values.size, counts, starts) == (0, [], [])


def test_claims_about_no_rows_are_unverifiable_and_one_file_claims_are_checked_anywhere(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "runs/r1/results.csv": RAW + "".join(f"m:1b,1024,{v}\n" for v in (10.0, 11.0, 30.0)),
        "runs/r2/results.csv": RAW + "".join(f"m:2b,2048,{v}\n" for v in (5.0, 7.0)),
        # far from its raw file, about one file's model and configuration: checked against it
        "reports/deep/x/a_summary.csv": SUMMARY + "m:1b,1024,17.00,11.00\n",
        # a configuration no run of the model has: no rows, not checked
        "reports/b_summary.csv": SUMMARY + "m:2b,4096,6.00,6.00\n",
    }
    ingest = ingest_files(tmp_path, files)
    from bot.core.analysis.requests import request_frame

    requests = request_frame(ingest.measurements)
    index = _Index(requests, {})
    index.make_scopes([("m:1b", "num_ctx=1024"), ("m:2b", "num_ctx=4096")])
    assert index.scope("m:2b", "num_ctx=4096").sources == []
    assert index.scope("m:1b", "num_ctx=1024").own == ("runs/r1/results.csv",)
    checks, unverifiable = check_claims(ingest.claims, requests, pd.DataFrame())
    got = sorted((c.source, c.statistic, c.status, c.raw_sources) for c in checks)
    assert got == [("reports/deep/x/a_summary.csv", "mean", "match", ("runs/r1/results.csv",)),
                   ("reports/deep/x/a_summary.csv", "median", "match", ("runs/r1/results.csv",))]
    assert unverifiable == 2


def test_request_rows_of_many_sources_are_each_source_s_rows() -> None:
    # `_Index.request_rows` looks each source up among the names sorted: the same rows as a filter, failed
    # ones too, in frame order, whatever the order of the sources; names without requests add none
    rng = np.random.default_rng(31)
    names = [f"runs/g{at % 7}/r{at:03d}.csv" for at in range(60)]
    for _ in range(10):
        size = int(rng.integers(1, 400))
        source = [None if rng.random() < 0.1 else str(rng.choice(names[:50])) for _ in range(size)]
        frame = pd.DataFrame({"source": source, "model": "m", "config": "", "failed": rng.random(size) < 0.3})
        index = _Index(frame, {})
        for count in (1, 2, 16, 40, 60):
            wanted = tuple(sorted(rng.choice(names, size=count, replace=False).tolist()))
            expected = [at for at, name in enumerate(source) if name in wanted]
            assert index.request_rows("", "", wanted).tolist() == expected
            assert index.request_rows("", "", tuple(reversed(wanted))).tolist() == expected  # any order


def _bits(values: list[float | None]) -> list[str]:
    return ["none" if v is None else "nan" if v != v else float(v).hex() for v in values]


def test_statistic_is_array_statistic_to_the_bit() -> None:
    # `_statistic`'s mean (the sum over the count) and median (`median`'s one sort) are numpy's own
    # numbers, for every size (numpy's pairwise sum changes its steps past 8 and 128 values), signed
    # zeros, huge and tiny values, and (outside the claims' finite values) inf and NaN
    from bot.core.analysis.claims import _row_statistics, _statistic
    from bot.core.analysis.requests import array_statistic

    rng = np.random.default_rng(41)
    names = ["mean", "median", "min", "max", "std", "p95", "p50", "value"]
    for t in range(3000):
        size = int(rng.integers(0, 20)) if t % 3 else int(rng.integers(0, 600))
        values = np.round(rng.normal(0, 3, size), int(rng.integers(0, 3))) * rng.choice([1.0, -1.0, 1e-300, 1e300])
        if t % 11 == 0 and size:
            values[rng.integers(0, size)] = rng.choice([np.inf, -np.inf, np.nan])
        name = names[t % len(names)]
        with np.errstate(all="ignore"):
            assert _bits([_statistic(values, name)]) == _bits([array_statistic(values, name)]), (name, values)
    with np.errstate(all="ignore"):
        for size in (1, 2, 7, 8, 9, 127, 128, 129, 300):
            block = rng.lognormal(3.0, 2.0, size=(6, size)) * rng.choice([1.0, 1e-300, 1e300], size=(6, size))
            assert _bits(_row_statistics(block, "mean")[0].tolist()) == _bits(block.mean(axis=1).tolist())
    assert _statistic(np.array([1, 2, 4]), "mean") == array_statistic(np.array([1, 2, 4]), "mean")  # (not float64)
    # a block of other types: numpy's mean (an integer block's summed in float64, not in integers)
    for block in (np.array([[2**53 + 1, 2**53 + 1, 1], [3, 4, 5]], dtype=np.int64),
                  np.array([[0.1, 0.2, 0.3, 1e8]] * 2, dtype=np.float32), np.array([[True, False, True]])):
        assert _bits(_row_statistics(block, "mean")[0].tolist()) == _bits(block.mean(axis=1).tolist()), block
