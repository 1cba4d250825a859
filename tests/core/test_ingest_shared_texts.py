"""What reading an archive keeps once per archive rather than once per file (issue 15): equal claim
texts and model origins are one object, and a file's bytes are read whole by one unbuffered open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.ingest import files as files_module
from bot.core.ingest import ingest_tree
from bot.core.ingest.files import Archive, read_file
from bot.core.ingest.frame import ClaimColumns
from tests.ingest_support import ingest_files

_ROWS = "num_gpu,num_ctx,temperature,ttft_s,tokens_s,load_s,eval_count,error\n999,1024,0.2,0.1,290,0.05,100,\n"


def _claim(source: str, config: str, label: str) -> dict[str, object]:
    # texts made apart (as each file's reading makes them): equal, not the same object
    return {"source": source, "model": "".join(["gemma3:", "270m"]), "config": config, "metric": "ttft_ms",
            "statistic": "".join(["me", "an"]), "value": 1.0, "unit": "ms", "context": label, "precision": 0.0}


def test_equal_claim_texts_of_several_files_are_one_object() -> None:
    claims = ClaimColumns()
    for source in ("a.json", "b.json"):
        claims.add([_claim(source, "".join(["num_ctx=", "1024"]), "".join(["vLLM ", "mean_ttft_ms"]))])
    frame = claims.frame()
    configs, labels = frame["config"].tolist(), frame["context"].tolist()
    assert configs == ["num_ctx=1024"] * 2 and labels == ["vLLM mean_ttft_ms"] * 2
    for name in ("model", "config", "statistic", "context"):
        first, second = frame[name].tolist()
        assert first is second, name
    assert not claims._shared["config"]  # released with the lists once the frame is made


def test_model_origins_naming_the_same_model_are_one_object(tmp_path: Path) -> None:
    result = ingest_files(tmp_path, {"a/gemma3_270m_param_tuning.csv": _ROWS,
                                     "b/gemma3_270m_param_tuning.csv": _ROWS.replace("290", "280")})
    first, second = (result.inventory.model_origin[f"{d}/gemma3_270m_param_tuning.csv"] for d in "ab")
    assert first == "file name: gemma3:270m"
    assert first is second


def test_a_file_longer_than_its_stated_size_is_read_to_its_end(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The size the open file reports is only the first read's length: a file that grew since (here:
    reported 10 bytes short) is read to its end, past one read's 64 KiB too."""
    text = _ROWS + "".join(f"999,{n},0.2,0.1,290,0.05,100,\n" for n in range(5000))
    (tmp_path / "gemma3_270m_runs.csv").write_text(text)
    real_fstat = os.fstat

    class Shorter:
        def __init__(self, fd: int) -> None:
            self.st_size = real_fstat(fd).st_size - 10

    monkeypatch.setattr(files_module.os, "fstat", Shorter)
    read = read_file("gemma3_270m_runs.csv", Archive(str(tmp_path), ["gemma3_270m_runs.csv"], 1 << 20))
    assert len(text) > 1 << 16
    assert read.rows is not None and len(set(read.rows.numbers["row"].tolist())) == 5001


@pytest.mark.parametrize("change", [-10, 0, 10, 1 << 17])
@pytest.mark.parametrize("piece", [1, 7, 1 << 16, 1 << 30])
def test_a_file_is_read_to_its_end_whatever_its_reads_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           change: int, piece: int) -> None:
    """Read in parts of ``piece`` bytes at most (a file system that gives short reads), and with a size
    ``change`` bytes off its length (a file that grew or shrank since): every byte is read, once."""
    data = (_ROWS * 3000).encode()
    (tmp_path / "runs.csv").write_bytes(data)
    real_fstat, real_read = os.fstat, os.read

    class Stated:
        def __init__(self, fd: int) -> None:
            self.st_size = max(1, real_fstat(fd).st_size - change)

    monkeypatch.setattr(files_module.os, "fstat", Stated)
    monkeypatch.setattr(files_module.os, "read", lambda fd, count: real_read(fd, min(count, piece)))
    assert files_module._file_bytes(str(tmp_path / "runs.csv"), 1 << 30, "") == (data, "")


def test_a_file_skipped_for_its_size_or_the_spent_budget_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "big.csv").write_text(_ROWS * 10)
    (tmp_path / "ok.csv").write_text(_ROWS)
    (tmp_path / "notes.bin").write_text("x")
    archive = Archive(str(tmp_path), ["big.csv", "empty.csv", "notes.bin", "ok.csv"], 100)
    reasons = {rel: read_file(rel, archive).inventory.skipped for rel in archive.paths}
    assert [s.reason for s in reasons["empty.csv"]] == ["empty (0 bytes)"]
    assert [s.reason for s in reasons["big.csv"]] == [f"too large ({len(_ROWS) * 10} bytes > limit 100)"]
    assert [s.reason for s in reasons["notes.bin"]] == ["unsupported format (.bin)"]
    assert not reasons["ok.csv"]
    spent = read_file("ok.csv", archive, read_before=archive.limits.max_job_measurements)
    assert [s.reason for s in spent.inventory.skipped] == [archive.limits.spent(archive.limits.max_job_measurements)]
    # an empty file says so even once the budget is spent (its own reason comes first)
    assert [s.reason for s in read_file("empty.csv", archive, read_before=10**9).inventory.skipped] == \
        ["empty (0 bytes)"]


def test_an_unreadable_file_is_skipped_for_its_size_or_the_budget_first(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file we may not open is still skipped for being empty, too large or over the spent budget
    (its size is read by path, as `not_read` and the pool do), and for the permission otherwise. The
    operating system's refusal is what is stood in for (a test run as root may open any file)."""
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "big.csv").write_text(_ROWS * 10)
    (tmp_path / "ok.csv").write_text(_ROWS)
    real_open = os.open

    def refusing_open(path: str, *args: object, **kwargs: object) -> int:
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    archive = Archive(str(tmp_path), ["big.csv", "empty.csv", "ok.csv"], 100)
    reasons = {rel: [s.reason for s in read_file(rel, archive).inventory.skipped] for rel in archive.paths}
    assert reasons == {"empty.csv": ["empty (0 bytes)"],
                       "big.csv": [f"too large ({len(_ROWS) * 10} bytes > limit 100)"],
                       "ok.csv": ["cannot read (Permission denied)"]}
    spent = read_file("ok.csv", archive, read_before=archive.limits.max_job_measurements)
    assert [s.reason for s in spent.inventory.skipped] == [archive.limits.spent(archive.limits.max_job_measurements)]


def test_a_file_that_vanished_is_skipped_with_the_reason(tmp_path: Path) -> None:
    result = ingest_tree(tmp_path, files=["gone.csv"])
    assert [(s.path, s.reason) for s in result.inventory.skipped] == \
        [("gone.csv", "cannot read (No such file or directory)")]


_REQUESTS = [{"num_ctx": 1024, "ttft_s": 0.1 + i / 100, "tokens_s": 290 - i, "eval_count": 100 + i} for i in range(3)]


@pytest.mark.parametrize("held", [0, 2, 4096])
def test_twins_are_found_whether_their_records_are_held_or_made_again(tmp_path: Path, held: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV and its JSON export of the same requests are twins, the records of the first files read
    held between the twin search's two passes (``held``: how many) or made again."""
    import json

    import bot.core.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "_HELD_RECORDS", held)
    csv_text = "num_ctx,ttft_s,tokens_s,eval_count\n" + "".join(
        f"{r['num_ctx']},{r['ttft_s']},{r['tokens_s']},{r['eval_count']}\n" for r in _REQUESTS)
    result = ingest_files(tmp_path, {"gemma3_270m_runs.csv": csv_text,
                                     "gemma3_270m_runs.json": json.dumps({"model": "gemma3:270m",
                                                                          "results": _REQUESTS})})
    assert result.inventory.duplicates == [("gemma3_270m_runs.csv", "gemma3_270m_runs.json")]


def test_the_real_archive_twins_whether_held_or_made_again(real_archive: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.core.ingest as ingest_module

    held = ingest_tree(real_archive, workers=1).inventory
    monkeypatch.setattr(ingest_module, "_HELD_RECORDS", 0)
    again = ingest_tree(real_archive, workers=1).inventory
    assert len(held.duplicate_reasons) >= 3
    assert (held.duplicates, held.duplicate_reasons) == (again.duplicates, again.duplicate_reasons)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_in_the_list_is_skipped_as_empty_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")  # no writer: a blocking open would wait for ever
    result = ingest_tree(tmp_path, files=["pipe.csv"], workers=1)
    assert [(s.path, s.reason) for s in result.inventory.skipped] == [("pipe.csv", "empty (0 bytes)")]
