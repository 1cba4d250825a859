"""Claim checks: a summary far from its raw files, and the shortcuts that make many such claims cheap.

The expected checks below are worked out by hand from the rule the checker has always followed: the
raw files nearest the claim's folder are tried each alone (sorted by path), then all together; the
first statistic within tolerance is a match, else the closest one (the first of equals) a mismatch.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest

from bot.core.analysis import analyze
from bot.core.analysis.claims import (
    _np_statistics,
    _one,
    _row_statistics,
    _source_statistics,
    _weigh_many,
    _weigh_one,
)
from tests.ingest_support import ingest_files

RAW = "model,num_ctx,tokens_s\n"
SUMMARY = "model,num_ctx,mean_tokens_s,median_tokens_s\n"


def _raw(values: list[float]) -> str:
    return RAW + "".join(f"m:1b,1024,{v}\n" for v in values)


def _runs() -> dict[str, list[float]]:
    """32 raw files: r00..r29 with means 12.17..41.17 and medians 11..40, and two (a0, a1) that differ
    but share mean and median 6, to break a tie by path."""
    runs = {f"runs/r{i:02d}/results.csv": [10.0 + i, 11.0 + i, 15.5 + i] for i in range(30)}
    runs["runs/a0/results.csv"] = [5.0, 6.0, 7.0]
    runs["runs/a1/results.csv"] = [4.0, 6.0, 8.0]
    return runs


def test_summary_far_from_its_raw_files_is_checked_against_each_and_all(tmp_path: Path) -> None:
    # The shape of a 10,000-file archive whose raw rows were cut by the job limit: summaries in a
    # folder without raw files fall back to the archive root, where every raw file is a candidate.
    runs = _runs()
    files: dict[str, str | bytes] = {path: _raw(values) for path, values in runs.items()}
    rows = {"a": ("17.17", "16.00"), "b": ("25.38", "99.00"), "c": ("99.00", "3.00"), "d": ("1.00", "25.50"),
            "e": ("11.00", "12.17")}
    for name, (mean, median) in rows.items():
        files[f"reports/{name}_summary.csv"] = SUMMARY + f"m:1b,1024,{mean},{median}\n"
    # and one summary beside its own raw file, claiming r08's figures on its second row
    files["runs/r07/results_summary.csv"] = SUMMARY + "m:1b,1024,19.17,18.00\nm:1b,1024,20.17,19.00\n"
    analysis = analyze(ingest_files(tmp_path, files))

    every = tuple(sorted(runs))
    pooled = [v for path in every for v in runs[path]]

    def one(path: str) -> tuple[str, ...]:
        return (f"runs/{path}/results.csv",)

    mean, median = statistics.mean, statistics.median
    r = {path.split("/")[1]: values for path, values in runs.items()}
    expected = [
        # source, statistic, claimed, status, sources, n, actual, explanation
        ("reports/a_summary.csv", "mean", 17.17, "match", one("r05"), 3, mean(r["r05"]), ""),
        ("reports/a_summary.csv", "median", 16.0, "match", one("r05"), 3, 16.0, ""),
        # no file has a mean of 25.38, all of them together have (2436 / 96 = 25.375)
        ("reports/b_summary.csv", "mean", 25.38, "match", every, 96, mean(pooled), ""),
        ("reports/b_summary.csv", "median", 99.0, "mismatch", one("r29"), 3, 40.0, ""),
        ("reports/c_summary.csv", "mean", 99.0, "mismatch", one("r29"), 3, mean(r["r29"]), ""),
        # a0 and a1 are equally close (median 6): the first by path
        ("reports/c_summary.csv", "median", 3.0, "mismatch", one("a0"), 3, 6.0, ""),
        ("reports/d_summary.csv", "mean", 1.0, "mismatch", one("a0"), 3, 6.0, ""),
        # the pooled median (25.75) is closer than any file's (25 and 26)
        ("reports/d_summary.csv", "median", 25.5, "mismatch", every, 96, median(pooled),
         "the value is the mean, not the median"),
        ("reports/e_summary.csv", "mean", 11.0, "mismatch", one("r00"), 3, mean(r["r00"]),
         "the value is the median, not the mean"),
        ("reports/e_summary.csv", "median", 12.17, "mismatch", one("r01"), 3, 12.0, ""),
        # beside its own raw file, a summary is checked against that file only: r08's mean and
        # median do not make its second row right
        ("runs/r07/results_summary.csv", "mean", 19.17, "match", one("r07"), 3, mean(r["r07"]), ""),
        ("runs/r07/results_summary.csv", "median", 18.0, "match", one("r07"), 3, 18.0, ""),
        ("runs/r07/results_summary.csv", "mean", 20.17, "mismatch", one("r07"), 3, mean(r["r07"]), ""),
        ("runs/r07/results_summary.csv", "median", 19.0, "mismatch", one("r07"), 3, 18.0,
         "the value is the mean, not the median"),
    ]
    got = [(c.source, c.statistic, c.claimed, c.status, c.raw_sources, c.n, c.actual, c.explanation)
           for c in analysis.claim_checks]
    assert [g[:6] + g[7:] for g in got] == [e[:6] + e[7:] for e in expected]
    assert [g[6] for g in got] == pytest.approx([e[6] for e in expected], rel=1e-12)
    assert {(c.model, c.config, c.metric) for c in analysis.claim_checks} == {("m:1b", "num_ctx=1024",
                                                                                "throughput_tok_s")}
    assert analysis.claims_unverifiable == 0


STATISTICS = ["mean", "median", "min", "max", "std", "p0", "p1", "p50", "p95", "p99", "p99.9", "p100", "p150"]


@pytest.mark.parametrize("name", STATISTICS)
def test_a_block_row_gives_the_statistic_of_the_row_alone(name: str) -> None:
    # The per-file statistics are computed for many files at once, one row each of a block; they must
    # be the very numbers (bit for bit) the file's values alone give, or a claim could flip.
    rng = np.random.default_rng(7)
    for size in [*range(1, 34), 63, 64, 65, 127, 128, 129, 130, 257, 1000]:
        block = rng.lognormal(3.0, 2.0, size=(5, size)) * rng.choice([1.0, 1e-7, 1e9], size=(5, size))
        rows = _row_statistics(block, name)
        for i in range(block.shape[0]):
            assert [column[i].item() for column in rows] == _np_statistics(block[i].copy(), name), (size, i)


@pytest.mark.parametrize("name", ["mean", "median", "std", "p95"])
def test_source_statistics_are_each_sources_own(name: str) -> None:
    rng = np.random.default_rng(11)
    counts = rng.choice([0, 1, 2, 3, 5, 8, 40], size=60).tolist()
    values = rng.normal(50.0, 20.0, size=sum(counts))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()
    found = _source_statistics(values, counts, starts, name)
    assert found == [_np_statistics(values[s:s + c].copy(), name) if c else [] for s, c in zip(starts, counts,
                                                                                               strict=True)]


def test_weighing_many_claims_at_once_is_the_loop() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        actuals = rng.choice([1.0, 2.0, 2.5, 3.0, 3.0005, 1e9, np.inf, -np.inf, np.nan, 0.0, -2.0],
                             size=int(rng.integers(1, 12))).tolist()
        claimed = rng.choice([2.0, 2.25, 2.75, 3.0004, 0.0, 1e9 + 1, np.inf, np.nan, -1.0], size=20).tolist()
        margins = rng.choice([0.0, 0.0050005, 0.5, np.nan], size=20).tolist()
        picks, matched = _weigh_many(np.array(actuals), np.array(claimed), np.array(margins))
        loop = [_weigh_one(actuals, value, margin) for value, margin in zip(claimed, margins, strict=True)]
        assert list(zip(picks.tolist(), matched.tolist(), strict=True)) == loop, (actuals, claimed, margins)


@pytest.mark.parametrize("block", [None, 1, 100])
def test_scopes_from_cells_and_statistics_made_together_are_the_rows_own(tmp_path: Path, block: int | None,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A scope's rows are picked from its model's (setting, source) cells, or for many pairs at once from
    # one mask (`_Index.make_scopes`; by blocks of pairs when pairs x rows is large: `block` cells at most,
    # 1 and 100 making one or a few pairs' mask at a time), and one-file scopes' statistics computed
    # together (`_pair_statistics`): the same rows, in the same order, and the same numbers as filtering
    # the frame and reducing each scope's values alone.
    from bot.core.analysis import claims
    from bot.core.analysis.claims import _Index, _pair_statistics
    from bot.core.analysis.requests import request_frame
    from bot.core.config import Config
    from bot.core.context import decode

    rng = np.random.default_rng(5)
    files: dict[str, str | bytes] = {}
    for at in range(12):
        text = "".join(f"m:{at % 7}b,{1024 << (i % 3)},{rng.normal(40, 9):.3f}\n"
                       for i in range(int(rng.integers(1, 9))))
        files[f"runs/g{at % 4}/r{at}.csv"] = RAW + text
    requests = request_frame(ingest_files(tmp_path, files).measurements)
    index = _Index(requests, {})
    settings = [Config.from_context(decode(str(text))) for text in requests["context"].tolist()]
    wanted = [(model, config) for model in ("m:0b", "m:5b", "m:6b", "", "m:9b") for config in
              ("", "num_ctx=1024", "num_ctx=2048", "num_ctx=4096", "num_ctx=512", "num_ctx=1024,file=r3", "x")]
    batch = _Index(requests, {})
    if block is not None:
        monkeypatch.setattr(claims, "_BLOCK_CELLS", block)
    batch.make_scopes(wanted)
    assert set(batch._scopes) == set(wanted)
    one_file = [index.scope(*key) for key in wanted if len(index.scope(*key).sources) == 1]
    assert len(one_file) >= 4  # m:5b and m:6b: one file each
    together = {name: _pair_statistics([(scope, metric) for scope in one_file for metric in ("throughput_tok_s",
                                                                                             "ttft_ms")],
                                       name, index.column) for name in ("mean", "median", "std")}
    values = requests["throughput_tok_s"].to_numpy(dtype="float64")
    for model, config in wanted:
        scope = index.scope(model, config)
        made = batch.scope(model, config)
        assert made is batch._scopes[model, config]  # not made again
        assert (made.rows.tolist(), made.sources, made.counts, made.starts, made.below, made.own) == (
            scope.rows.tolist(), scope.sources, scope.counts, scope.starts, scope.below, scope.own), (model, config)
        assert (made.segment is None) == (scope.segment is None)
        if scope.segment is not None:
            assert made.segment.tolist() == scope.segment.tolist()
        rows = [at for at in range(len(requests)) if not requests["failed"].iloc[at]
                and (not model or requests["model"].iloc[at] == model) and settings[at].covers(Config.parse(config))]
        rows.sort(key=lambda at: requests["source"].iloc[at])  # stable: frame order within a file
        assert scope.rows.tolist() == rows, (model, config)
        assert scope.sources == sorted({requests["source"].iloc[at] for at in rows})
        for name in ("mean", "median", "std"):
            own = [_np_statistics(values[[at for at in rows if requests["source"].iloc[at] == source]], name)
                   for source in scope.sources]
            assert scope.statistics(name=name, metric="throughput_tok_s", column=index.column) == own
            if scope in one_file:
                count = len(rows) - int(np.isnan(values[rows]).sum())
                assert together[name][2 * one_file.index(scope)] == (count, own[0] if count else [])
                assert together[name][2 * one_file.index(scope) + 1] == (0, [])  # no TTFT in these files


def test_a_configuration_covers_a_context_s_settings_exactly_as_config_says() -> None:
    # Settings are compared as (dimension, value) pairs, never written as `Config` parts; a claim's
    # configuration must cover exactly the contexts `Config.covers` says it does (escapes, empty values,
    # odd keys, bare parts and escapes `Config` would not write), or a claim would be weighed against
    # other rows.
    import itertools
    import json

    from bot.core.analysis.claims import _config_parts, _context_parts
    from bot.core.config import Config
    from bot.core.context import decode

    contexts = [{}, {"num_ctx": "1024"}, {"": ""}, {"a": ""}, {"gpu": "Radeon 8060S, gfx1151"},
                {"k=v": "x=y", "b\\": "c\\,d", "z": "1,2,3"}, {"é": "ß", "temperature": "0.2", "num_gpu": "999"},
                {"folder": "runs/*", "file": "results", "section": "A, B"}, {"a": "b", "c": "d=e"}]
    texts = [json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for context in contexts]
    written = [Config.from_context(decode(text)) for text in texts]
    configs = {part for config in written for part in config.parts}
    configs |= {"", "num_ctx", "a=", "=", "k\\=v=x=y", "k=v=x=y", "c=d\\=e", "c=d=e", "gpu=Radeon 8060S\\, gfx1151",
                "gpu=Radeon 8060S, gfx1151", "z=1\\,2\\,3", "b\\\\=c\\\\\\,d", "b\\=c\\,d", "x\\y=1"}
    configs |= {",".join(pair) for pair in itertools.combinations(sorted(configs), 2)}
    for text, config in zip(texts, written, strict=True):
        assert len(_context_parts(text)) == len(config.parts)  # one pair per part
        for wanted in configs:
            covered = _config_parts(wanted) <= _context_parts(text)
            assert covered == config.covers(Config.parse(wanted)), (text, wanted)
    assert _context_parts("not json") == _context_parts("{}") == frozenset()


def test_folders_and_stems_read_off_the_text_are_pathlib_s() -> None:
    # A plain path's folder and stem are read off the text; they must be what PurePosixPath gives for
    # every path (odd ones go to PurePosixPath itself).
    import itertools
    from pathlib import PurePosixPath

    from bot.core.analysis.claims import _folder, _stem

    parts = ["a", "b.md", ".", "..", "", ".hidden", "x.tar.gz", "file.", "é.json", " s p.csv", "..md", ".x.y"]
    for size in range(1, 4):
        for combo in itertools.product(parts, repeat=size):
            for path in (lead + "/".join(combo) + tail for lead in ("", "/", "./") for tail in ("", "/")):
                assert _folder.__wrapped__(path) == str(PurePosixPath(path).parent), path
                if PurePosixPath(path).name:  # (no stem of a path without a name: both raise)
                    assert _stem.__wrapped__(path) == str(PurePosixPath(path).with_suffix("")), path


def test_claims_weighed_together_scope_by_scope_are_each_claim_s_own_check(tmp_path: Path) -> None:
    # `_weigh_waiting` groups the claims of a scope when it is weighed and lets the scope go after:
    # each claim's check must be the one it gets when checked alone, whatever else is checked with it.
    from bot.core.analysis.claims import check_claims
    from bot.core.analysis.requests import request_frame

    rng = np.random.default_rng(13)
    files: dict[str, str | bytes] = {}
    for at in range(16):
        text = "".join(f"m:{at % 3}b,{1024 << (i % 2)},{rng.normal(40, 9):.2f}\n" for i in range(4))
        files[f"runs/g{at % 3}/r{at}.csv"] = RAW + text
    for at in range(12):
        text = "".join(f"m:{rng.integers(0, 4)}b,{1024 << int(rng.integers(0, 3))},{rng.normal(40, 9):.2f},"
                       f"{rng.normal(40, 9):.2f}\n" for _ in range(3))
        files[f"{rng.choice(['runs', 'runs/g1', 'reports', 'runs/g2/x'])}/s{at}_summary.csv"] = SUMMARY + text
    ingest = ingest_files(tmp_path, files)
    requests = request_frame(ingest.measurements)
    generic = requests.iloc[:0]
    together, unverifiable = check_claims(ingest.claims, requests, generic)
    alone = []
    for at in range(len(ingest.claims)):
        alone += check_claims(ingest.claims.iloc[[at]], requests, generic)[0]
    assert len(together) >= 20 and unverifiable == len(ingest.claims) - len(alone)
    assert together == alone


def test_request_rows_by_source_are_each_source_s_rows() -> None:
    # `_Index.request_rows` finds a source's rows from the requests sorted by source and counted per
    # source (rows without a source, code -1, first): each source's rows, failed ones too, in frame order.
    import pandas as pd

    from bot.core.analysis.claims import _Index

    rng = np.random.default_rng(17)
    for _ in range(30):
        size = int(rng.integers(1, 60))
        names = [f"f{at}.csv" for at in range(int(rng.integers(1, 8)))]
        source = [None if rng.random() < 0.2 else str(rng.choice(names)) for _ in range(size)]
        frame = pd.DataFrame({"source": source, "model": "m", "config": "", "failed": rng.random(size) < 0.3})
        index = _Index(frame, {})
        for count in range(1, len(names) + 1):
            wanted = tuple(rng.choice(names, size=count, replace=False).tolist())
            expected = [at for at, name in enumerate(source) if name in wanted]
            assert index.request_rows("", "", wanted).tolist() == expected


def test_a_check_keeps_one_float_for_a_claimed_number_equal_to_its_actual() -> None:
    # `_one`: the claimed float stands for the actual one when they are the same number, never where
    # the two would print differently (signed zeros, an int against a float)
    claimed = float("41.5")
    assert _one(float("41.5"), claimed) is claimed
    actual = float("41.25")
    assert _one(actual, claimed) is actual
    zero = 0.0
    assert str(_one(zero, -0.0)) == "0.0"
    assert type(_one(2.0, 2)) is float
