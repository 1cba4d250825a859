"""Claim checks hold and share what they can: what makes ~35,000 checks of a 10,000-file archive small.

A check is a plain (not frozen) slotted dataclass that reads, compares and hashes as the frozen one did;
scopes of the same files share one table of their folders (`_Folders`), equal to the one a scope makes
alone, and let go with the last scope using it; the index's codes are 32-bit and are the codes pandas
gives.
"""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

import numpy as np
import pandas as pd

from bot.core.analysis.claims import ClaimCheck, _codes, _Folders, _Index, _Scope, _setting_codes, check_claims
from tests.ingest_support import ingest_files

RAW = "model,num_ctx,tokens_s\n"
SUMMARY = "model,num_ctx,mean_tokens_s,median_tokens_s\n"


def _check(**changes: object) -> ClaimCheck:
    fields = {"source": "s.md", "model": "m", "config": "num_ctx=1", "metric": "throughput_tok_s",
              "statistic": "mean", "claimed": 1.5, "actual": 1.25, "unit": "tok/s", "status": "mismatch",
              "raw_sources": ("a.csv", "b.csv"), "n": 7, "explanation": "why"}
    return ClaimCheck(**(fields | changes))  # type: ignore[arg-type]


def test_a_check_reads_compares_and_hashes_as_the_frozen_dataclass_did() -> None:
    # What the report (`dataclasses.fields`), the facts and the JSON read: the same fields in the same order.
    names = [field.name for field in dataclasses.fields(ClaimCheck)]
    assert names == ["source", "model", "config", "metric", "statistic", "claimed", "actual", "unit", "status",
                     "raw_sources", "n", "explanation"]
    assert ClaimCheck.__slots__ == tuple(names)
    check = _check()
    assert not hasattr(check, "__dict__")
    assert check == _check() and check != _check(n=8)
    # a frozen dataclass hashes the tuple of its fields: so does this one, so sets and dicts of checks work alike
    assert hash(check) == hash(tuple(getattr(check, name) for name in names))
    assert len({check, _check(), _check(status="match")}) == 2
    assert repr(check).startswith("ClaimCheck(source='s.md', model='m'")


def test_scopes_of_the_same_files_share_one_folder_table_equal_to_their_own(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    files: dict[str, str | bytes] = {}
    for at in range(10):
        text = "".join(f"m:{at % 2}b,{1024 << (i % 2)},{rng.normal(40, 9):.3f}\n" for i in range(4))
        files[f"runs/g{at % 3}/deep/r{at}.csv"] = RAW + text
    from bot.core.analysis.requests import request_frame

    requests = request_frame(ingest_files(tmp_path, files).measurements)
    aliases = {"runs/g0/deep/r0.csv": ["copies/r0.csv"]}
    index = _Index(requests, aliases)
    first, second = index.scope("m:0b", "num_ctx=1024"), index.scope("m:0b", "num_ctx=2048")
    assert len(first.sources) > 1 and first.sources == second.sources
    assert first.below is second.below and first.position is second.position and first.own is second.own
    # the table is the one a scope of those rows makes for itself
    alone = _Scope(first.rows, index.source_codes[first.rows], index.source_names, aliases)
    assert (alone.below, alone.position, alone.sources, alone.own) == (
        first.below, first.position, first.sources, first.own)
    assert alone.below is not first.below
    assert "copies" in first.below and first.below["copies"] == ("runs/g0/deep/r0.csv",)
    for folder in ("runs/g1/deep", "runs/g1/deep/x", "copies", "elsewhere", "."):
        assert first.nearest(folder) == alone.nearest(folder)
    # and it goes with the last scope that uses it
    assert len(index._folders) == 1
    index.forget_scope("m:0b", "num_ctx=1024")
    assert len(index._folders) == 1
    del first, second, alone
    index.forget_scope("m:0b", "num_ctx=2048")
    gc.collect()
    assert len(index._folders) == 0
    assert isinstance(_Folders(("a/x.csv",), {}).below, dict)


def test_the_index_codes_are_pandas_codes_in_32_bits() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        size = int(rng.integers(1, 80))
        names = [f"f{at}.csv" for at in range(int(rng.integers(1, 9)))]
        source = [None if rng.random() < 0.2 else str(rng.choice(names)) for _ in range(size)]
        context = [None if rng.random() < 0.2 else f"num_ctx={rng.integers(1, 4)}" for _ in range(size)]
        frame = pd.DataFrame({"source": pd.array(source, dtype="str"), "context": pd.array(context, dtype="str")})
        codes, texts = _codes(frame, "source")
        expected, uniques = pd.factorize(frame["source"].to_numpy(dtype=object))
        assert codes.dtype == np.int32 and codes.tolist() == expected.tolist() and texts == uniques.tolist()
        setting, _ = _setting_codes(frame)
        expected, _ = pd.factorize(frame["context"].to_numpy(dtype=object))
        assert setting.dtype == np.int32 and setting.tolist() == expected.tolist()


def test_a_categorical_context_is_numbered_by_its_own_codes() -> None:
    # The request frame's context is a categorical sharing the measurement frame's categories: its codes
    # are the settings' numbers as they are (no copy), a category no request has gets no settings, and
    # each row's settings are those of its text, as when the column is text.
    from bot.core.analysis.claims import _context_parts

    texts = ["num_ctx=1024", None, "num_ctx=2048,seed=1", "num_ctx=1024", None, "seed=1"]
    categories = pd.Index(["num_ctx=1024", "num_ctx=2048,seed=1", "num_ctx=4096", "seed=1"], dtype=str)
    frame = pd.DataFrame({"context": pd.Categorical(texts, categories=categories)})
    codes, settings = _setting_codes(frame)
    assert np.shares_memory(codes, frame["context"].array.codes)
    assert settings[2] == frozenset()  # num_ctx=4096: no request's
    assert len(settings) == 4 and settings[0] == _context_parts("num_ctx=1024")
    text_codes, text_settings = _setting_codes(pd.DataFrame({"context": pd.array(texts, dtype="str")}))
    assert [None if c < 0 else settings[c] for c in codes.tolist()] == [
        None if c < 0 else text_settings[c] for c in text_codes.tolist()]


def test_a_mismatch_is_explained_from_the_claim_s_own_fields(tmp_path: Path) -> None:
    # The explanation reads the claim's metric, statistic, value and precision (no longer a tuple of the
    # whole claim): a summary that gives the median as the mean is told so.
    files: dict[str, str | bytes] = {
        "runs/r1/results.csv": RAW + "".join(f"m:1b,1024,{v}\n" for v in (10.0, 11.0, 30.0)),
        "runs/r1/results_summary.csv": SUMMARY + "m:1b,1024,11.00,11.00\n",
    }
    ingest = ingest_files(tmp_path, files)
    from bot.core.analysis.requests import request_frame

    checks, _ = check_claims(ingest.claims, request_frame(ingest.measurements), pd.DataFrame())
    by_statistic = {check.statistic: check for check in checks}
    assert by_statistic["median"].status == "match"
    mean = by_statistic["mean"]
    assert (mean.status, mean.actual, mean.explanation) == ("mismatch", 17.0, "the value is the median, not the mean")


def _claims_both_ways(measurements: pd.DataFrame, claims: pd.DataFrame, aliases: dict[str, list[str]]) -> None:
    """check_claims given the request frame's own codes (as `analyze` does) against it factorizing them."""
    from bot.core.analysis.groups import rows_of_kind, with_group_model
    from bot.core.analysis.requests import RequestRows, request_frame

    measurements = with_group_model(measurements)
    rows = RequestRows(measurements)
    requests = request_frame(measurements, rows)
    assert rows.codes is not None
    generic = rows_of_kind(measurements, "generic")
    given = check_claims(claims, requests, generic, aliases, rows.codes)
    assert given == check_claims(claims, requests, generic, aliases)
    assert given[0]  # something was checked


def test_claims_checked_on_the_request_frame_s_codes_are_those_checked_on_its_texts(tmp_path: Path) -> None:
    # Varied: unnamed models (grouped per file), a model with aggregate rows only (a text of the codes no
    # request has), summaries near and far from their raw files, duplicates.
    rng = np.random.default_rng(23)
    files: dict[str, str | bytes] = {}
    for at in range(14):
        model = "" if at % 5 == 0 else f"m:{at % 3}b"
        text = "".join(f"{model},{1024 << (i % 2)},{rng.normal(40, 9):.2f}\n" for i in range(int(rng.integers(1, 6))))
        files[f"runs/g{at % 3}/r{at}.csv"] = RAW + text
    files["runs/g1/copy.csv"] = files["runs/g1/r1.csv"]
    for at in range(10):
        text = "".join(f"{'' if rng.random() < 0.2 else f'm:{rng.integers(0, 4)}b'},{1024 << int(rng.integers(0, 2))},"
                       f"{rng.normal(40, 9):.2f},{rng.normal(40, 9):.2f}\n" for _ in range(3))
        files[f"{rng.choice(['runs', 'runs/g0', 'reports', 'runs/g2/x'])}/s{at}_summary.csv"] = SUMMARY + text
    files["bench/llama.md"] = ("| model | size | backend | test | t/s |\n| --- | --- | --- | --- | --- |\n"
                               "| other 7B | 4 GiB | CUDA | tg128 | 55.10 ± 0.20 |\n")
    ingest = ingest_files(tmp_path, files)
    aliases: dict[str, list[str]] = {}
    for kept, duplicate in ingest.inventory.duplicates:
        aliases.setdefault(kept, []).append(duplicate)
    _claims_both_ways(ingest.measurements, ingest.claims, aliases)


def test_the_real_archive_s_claims_are_the_same_on_its_codes() -> None:
    import pytest

    from bot.core.ingest import ingest_tree
    from tests.paths import REAL_ARCHIVE

    if not REAL_ARCHIVE.is_dir():
        pytest.skip(f"real archive not present at {REAL_ARCHIVE}")
    ingest = ingest_tree(REAL_ARCHIVE, workers=1)
    aliases: dict[str, list[str]] = {}
    for kept, duplicate in ingest.inventory.duplicates:
        aliases.setdefault(kept, []).append(duplicate)
    _claims_both_ways(ingest.measurements, ingest.claims, aliases)


def test_texts_numbered_as_first_seen_are_pandas_factorize() -> None:
    # `_first_seen` numbers a context column by a dict instead of pandas' table (which hashes each text
    # again): the same numbers and texts, missing values (None, NaN, pd.NA) -1, on varied columns.
    from bot.core.analysis.claims import _first_seen

    rng = np.random.default_rng(29)
    pool = ["", "num_ctx=1024", "a=1,b=2", "x" * 300, "é=ü", "num_ctx=1024 "]
    for _ in range(200):
        size = int(rng.integers(0, 40))
        values: list[object] = []
        for _ in range(size):
            pick = rng.random()
            if pick < 0.1:
                values.append([None, float("nan"), pd.NA][int(rng.integers(0, 3))])
            else:  # equal texts as distinct objects too
                values.append("".join(list(str(rng.choice(pool)))))
        codes, texts = _first_seen(values)
        column = np.empty(len(values), dtype=object)  # (an object array of the values as they are)
        column[:] = values
        expected, uniques = pd.factorize(column)
        assert codes.dtype == np.int32
        assert codes.tolist() == expected.tolist() and texts == uniques.tolist()

