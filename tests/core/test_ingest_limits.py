"""Rows bound a job, not only bytes (issue 12, item 1c): per-file row and cell limits, a per-job
measurement budget, each a skip with its reason; files under them are read as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.ingest import IngestLimits, ingest_tree, parallel
from bot.core.limits import count_cells, count_rows
from tests.row_attacks import LINE_BREAKS, ollama_verbose, separated_jsonl

HEADER = "model,tokens_per_second,ttft_ms\n"


def write_csv(path: Path, rows: int, model: str = "gemma3:1b") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{model},{40 + i % 9}.5,{100 + i % 7}\n" for i in range(rows)))
    return path


def skipped(result) -> dict[str, str]:
    return {s.path: s.reason for s in result.inventory.skipped}


def test_a_file_with_more_rows_than_allowed_is_skipped_unparsed_with_the_counts(tmp_path):
    write_csv(tmp_path / "big.csv", 501)
    write_csv(tmp_path / "small.csv", 500, model="llama3.1:8b")
    result = ingest_tree(tmp_path, limits=IngestLimits(max_file_rows=500), workers=1)
    assert skipped(result) == {"big.csv": "too many rows (501 > limit 500; MAX_FILE_ROWS)"}
    assert set(result.measurements["model"].astype(str)) == {"llama3.1:8b"}
    assert len(result.measurements) == 1000  # the file at the limit is read whole


def test_a_json_file_with_too_many_values_is_skipped_by_its_cells(tmp_path):
    """One object (one row) whose samples list holds 20,000 values: the cells give it away."""
    record = {"model_type": "gemma3 1B Q4_K_M", "n_prompt": 0, "n_gen": 128, "avg_ts": 40.0,
              "samples_ts": [40.0] * 20_000}
    (tmp_path / "bench.json").write_text(json.dumps([record]))
    result = ingest_tree(tmp_path, limits=IngestLimits(max_file_cells=10_000), workers=1)
    reason = skipped(result)["bench.json"]
    assert reason.startswith("too many cells (") and reason.endswith(" > limit 10000; MAX_FILE_CELLS)")
    assert len(result.measurements) == 0


def test_the_job_budget_skips_the_file_that_would_exceed_it_and_keeps_the_rest(tmp_path):
    write_csv(tmp_path / "a.csv", 100, model="a:1b")  # 200 measurements (throughput and TTFT)
    write_csv(tmp_path / "b.csv", 100, model="b:1b")  # would make 400
    write_csv(tmp_path / "c.csv", 40, model="c:1b")  # 280: fits
    result = ingest_tree(tmp_path, limits=IngestLimits(max_job_measurements=300), workers=1)
    # b.csv may yield what the job has left (100), and stops being read past it
    assert skipped(result) == {"b.csv": "over the job's measurement budget (200 measurements read before it + more "
                                        "than 100 in it > limit 300; MAX_JOB_MEASUREMENTS)"}
    assert sorted(set(result.measurements["model"].astype(str))) == ["a:1b", "c:1b"]
    assert "b.csv" not in result.inventory.parsed and "b.csv" not in result.inventory.tools


def test_a_file_larger_than_the_whole_budget_stops_being_read_at_the_budget(tmp_path):
    """Its rows are counted as the adapter writes them: never more than the budget is made."""
    write_csv(tmp_path / "a.csv", 400)
    result = ingest_tree(tmp_path, limits=IngestLimits(max_job_measurements=300), workers=1)
    assert skipped(result) == {"a.csv": "over the job's measurement budget (more than 300 measurements in this "
                                        "file alone; MAX_JOB_MEASUREMENTS)"}
    assert len(result.measurements) == 0


def test_limits_hold_when_files_are_read_in_worker_processes(tmp_path, monkeypatch):
    for index in range(4):
        write_csv(tmp_path / f"f{index}.csv", 10 + index, model=f"m{index}:1b")
    write_csv(tmp_path / "big.csv", 60)
    limits = IngestLimits(max_file_rows=50)
    here = ingest_tree(tmp_path, limits=limits, workers=1)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    pooled = ingest_tree(tmp_path, limits=limits, workers=2)
    assert skipped(here) == skipped(pooled) == {"big.csv": "too many rows (60 > limit 50; MAX_FILE_ROWS)"}
    assert len(here.measurements) == len(pooled.measurements) == 2 * (10 + 11 + 12 + 13)


def test_counting_rows_and_cells():
    assert count_rows(b"a,b\n1,2\n3,4\n", "csv") == 2
    assert count_rows(b"a,b\n1,2\n3,4", "csv") == 2  # no final newline
    assert count_rows(b'[{"a": 1}, {"a": {"b": 2}}]', "json") == 3
    assert count_rows(b"line\n" * 5, "text") == 5
    assert count_cells(b"a,b\n1,2\n", "csv") == 4
    assert count_cells(b"a;b\n1;2\n", "csv") == 4
    assert count_cells(b"| a | b |\n|---|---|\n| 1 | 2 |\n", "md") == 9 + 3
    assert count_cells(b'{"s": [1, 2, 3]}', "json") == 3


def test_the_settings_defaults_are_the_limits_defaults():
    """bot.settings may not import bot.core: its defaults are written out, and must agree."""
    from bot.core.limits import ReportCaps
    from bot.flows.pipeline import ingest_limits
    from tests.factories import make_settings

    settings = make_settings()
    assert ingest_limits(settings) == IngestLimits()
    assert ReportCaps(max_models=settings.max_report_models,
                      max_configurations=settings.max_report_configurations) == ReportCaps()


@pytest.mark.parametrize("separator", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS])
def test_json_lines_split_by_any_line_break_are_counted_as_the_reader_splits_them(tmp_path, separator):
    """Review 2 (h1, h3): only "\\n" was counted, so 501 records separated by "\\x1e" were one row."""
    (tmp_path / "big.jsonl").write_bytes(separated_jsonl(501, separator))
    (tmp_path / "small.jsonl").write_bytes(separated_jsonl(500, separator))
    result = ingest_tree(tmp_path, limits=IngestLimits(max_file_rows=500), workers=1)
    assert skipped(result) == {"big.jsonl": "too many rows (501 > limit 500; MAX_FILE_ROWS)"}
    assert len(result.measurements) == 500  # the file at the limit is read whole, as its reader splits it


def test_ollama_text_with_bare_carriage_returns_is_counted_by_its_lines(tmp_path):
    (tmp_path / "llama3_cpu.txt").write_bytes(ollama_verbose(200, "\r"))  # 5 lines a run, the last empty
    (tmp_path / "llama3_gpu.txt").write_bytes(ollama_verbose(100, "\r"))
    result = ingest_tree(tmp_path, limits=IngestLimits(max_file_rows=500), workers=1)
    assert skipped(result) == {"llama3_cpu.txt": "too many rows (1000 > limit 500; MAX_FILE_ROWS)"}
    assert result.inventory.parsed == {"llama3_gpu.txt": "measurements"}


def test_line_breaks_are_counted_as_str_splitlines_splits():
    texts = ["a\rb", "a\r\nb\r\n", "a\r\r\nb", "a\x1eb\x1e", "x\u2028y\u2029z\x85", "é\x0bü\x0c’\x1c\x1d", "a\r",
             "\n\n", "a", "\u2027 \xa8"]
    for text in texts:
        for data in (text.encode(), text.encode("utf-8-sig"), text.encode("utf-16")):
            assert count_rows(data, "text") == len(text.splitlines()), (text, data)
    assert count_rows(b"a,b\r1,2\r3,4\r", "csv") == 2
    assert count_cells(b"a,b\x1e1,2", "jsonl") == 4


SPENT = ("not read: the job's measurement budget is spent (300 measurements read before it, limit 300; "
         "MAX_JOB_MEASUREMENTS)")


def spend_the_budget(root: Path) -> None:
    """a.csv: 300 measurements (the whole budget of 300); then files that are left unread."""
    write_csv(root / "a.csv", 150, model="a:1b")
    write_csv(root / "b.csv", 10, model="b:1b")
    (root / "c.json").write_bytes(b"\xff\xfe\xfa not UTF-8")  # read, it would be 'undecodable bytes'
    (root / "d.md").write_text("| model | tokens/s |\n|---|---|\n| a:1b | 44 |\n")
    (root / "e.bin").write_bytes(b"\x00")


def test_once_the_job_budget_is_spent_the_remaining_files_are_not_read(tmp_path):
    """Review 2: files were still parsed after the budget was spent (and left out only afterwards)."""
    spend_the_budget(tmp_path)
    result = ingest_tree(tmp_path, limits=IngestLimits(max_job_measurements=300), workers=1)
    assert skipped(result) == {"b.csv": SPENT, "c.json": SPENT, "d.md": SPENT,
                               "e.bin": "unsupported format (.bin)"}
    assert len(result.measurements) == 300 and list(result.inventory.parsed) == ["a.csv"]
    assert result.inventory.tools == {"a.csv": result.inventory.tools["a.csv"]}


def test_worker_processes_stop_once_the_job_budget_is_spent(tmp_path, monkeypatch):
    spend_the_budget(tmp_path)
    limits = IngestLimits(max_job_measurements=300)
    here = ingest_tree(tmp_path, limits=limits, workers=1)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    pooled = ingest_tree(tmp_path, limits=limits, workers=2)
    assert skipped(pooled) == skipped(here)
    assert len(pooled.measurements) == 300 and list(pooled.inventory.parsed) == ["a.csv"]


def test_a_file_too_small_to_reach_the_limits_is_not_counted_and_passes_as_counting_would():
    import random

    rng = random.Random(5)
    alphabet = [b",", b"|", b"\t", b";", b"\n", b"\r", b"\r\n", b"\x1e", b"{", b"a", "\u2028".encode(), b"\xc2\x85"]
    for i in range(300):
        data = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        if i % 3 == 0:  # the same text as UTF-16, with its byte order mark (files are decoded by BOM)
            data = data.decode("utf-8", "replace").encode("utf-16")
        for fmt in ("csv", "json", "jsonl", "md", "text"):
            rows, cells = count_rows(data, fmt), count_cells(data, fmt)
            tight = IngestLimits(max_file_rows=len(data) + 1, max_file_cells=2 * len(data) + 1)
            assert rows <= tight.max_file_rows and cells <= tight.max_file_cells
            assert tight.file_skip(data, fmt) == ""
            # one below the bound: counted, and skipped only when the counts say so
            low = IngestLimits(max_file_rows=len(data), max_file_cells=2 * len(data))
            assert (low.file_skip(data, fmt) != "") == (rows > len(data) or cells > 2 * len(data))


def test_a_measurement_allowance_holds_within_its_block_only_and_blocks_nest() -> None:
    from bot.core.limits import _ALLOWANCE, TooManyMeasurements, measurement_allowance, spend_measurement

    assert _ALLOWANCE.get() is None
    with measurement_allowance(2, read_before=5, budget=7):
        spend_measurement()
        with measurement_allowance(0), pytest.raises(TooManyMeasurements, match="more than 0 measurements in this"):
            spend_measurement()
        spend_measurement()
        with pytest.raises(TooManyMeasurements, match=r"\(5 measurements read before it \+ more than 2"):
            spend_measurement()
    assert _ALLOWANCE.get() is None
    with pytest.raises(ValueError), measurement_allowance(1):
        raise ValueError("a file's reading failed")
    assert _ALLOWANCE.get() is None
    spend_measurement()  # outside any block: nothing is counted


def test_a_measurement_allowance_holds_in_its_own_thread_only() -> None:
    """`chimera serve` reads archives in threads: one thread's allowance never counts another's rows."""
    import threading

    from bot.core.limits import _ALLOWANCE, TooManyMeasurements, measurement_allowance, spend_measurement

    entered, other_done = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def holder() -> None:
        with measurement_allowance(1):
            entered.set()
            other_done.wait(10)
            spend_measurement()  # its one row: the other thread's rows were not charged to it
            try:
                spend_measurement()
            except TooManyMeasurements:
                seen["holder"] = "stopped"

    def other() -> None:
        entered.wait(10)
        seen["other allowance"] = _ALLOWANCE.get()
        for _ in range(5):
            spend_measurement()
        with measurement_allowance(3):
            for _ in range(3):
                spend_measurement()
        other_done.set()

    threads = [threading.Thread(target=holder), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen == {"other allowance": None, "holder": "stopped"}
    assert _ALLOWANCE.get() is None
