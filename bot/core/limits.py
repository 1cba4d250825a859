"""What one file, and one job, may hold: rows and cells per file, measurements per job (issue 12).

Byte limits alone do not bound a job: a 183 KB ``.tar.gz`` can hold a 60 MB CSV of 1.5 M rows, and
reading those rows (records, then measurement rows, then the frame, the analysis and the stored
copy) costs far more than their bytes. So a file is judged from its bytes *before* it is parsed:

- rows: its lines (CSV, JSON Lines, Markdown, logs) or its JSON objects (a ``{`` each); a line
  ends at every break the readers split on (``str.splitlines``: ``\n``, ``\r``, ``\x1e``, U+2028 …,
  `line_breaks`), not only at ``\n``;
- cells: every value separator (``,``, ``|``, tab, and ``;`` in CSV) and line — an upper bound on
  the values a reader can find in it, quoted lists of samples included, since each value but a
  line's last needs a separator;

and a file over either limit is skipped with the counts in its reason, without being parsed. The
measurements every file yields count against the job's budget: a file that would take the job over
it is skipped with that reason. A file's rows are counted as its adapter writes them, and one
that passes what the job has left stops there (`measurement_allowance`); once the budget is spent,
the remaining files are skipped with that reason without being read. Files read in worker
processes (`bot.core.ingest.parallel`) cannot know what the job has left: each may make at most a
whole budget of rows, and the pool is stopped once the budget is spent.
Counting is a few passes of ``bytes.count`` (see `line_breaks`).
"""

from __future__ import annotations

import codecs
import math
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.core.types import Skipped

if TYPE_CHECKING:
    import pandas as pd

    from bot.core.types import IngestResult

# Defaults, also the settings' (`bot.settings`, MAX_FILE_ROWS …): the largest file of the shared real archives has
# 1,820 measurements, 1,800 lines and 25,000 cells; its largest archive 7,200 measurements.
MAX_FILE_ROWS = 100_000
MAX_FILE_CELLS = 1_000_000
MAX_JOB_MEASUREMENTS = 300_000

_SEPARATORS = (b",", b"|", b"\t")
_CSV_SEPARATORS = (*_SEPARATORS, b";")


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Per-file rows and cells, per-job measurements (see the module docstring)."""

    max_file_rows: int = MAX_FILE_ROWS
    max_file_cells: int = MAX_FILE_CELLS
    max_job_measurements: int = MAX_JOB_MEASUREMENTS

    def file_skip(self, data: bytes, fmt: str | None) -> str:
        """Why a file of this format with these bytes is skipped before parsing ('' when it is read)."""
        # Every separator and line break is at least a byte of its own (UTF-16: a character of at
        # least two bytes), so a file holds at most len+1 rows and 2*len+1 cells: a file too small to
        # reach either limit (most files, with the defaults) is not counted.
        if len(data) + 1 <= self.max_file_rows and 2 * len(data) + 1 <= self.max_file_cells:
            return ""
        lines = None if fmt == "json" else _lines(data)  # counted once, for rows and cells
        rows = count_rows(data, fmt, lines)
        if rows > self.max_file_rows:
            return f"too many rows ({rows} > limit {self.max_file_rows}; MAX_FILE_ROWS)"
        cells = count_cells(data, fmt, lines)
        if cells > self.max_file_cells:
            return f"too many cells ({cells} > limit {self.max_file_cells}; MAX_FILE_CELLS)"
        return ""

    def allowance(self, read_so_far: int) -> int:
        """Measurements a file may still yield after ``read_so_far`` (0: the budget is spent)."""
        return max(0, self.max_job_measurements - read_so_far)

    def spent(self, read_so_far: int) -> str:
        """Why a file is not read at all once the job's budget is spent."""
        return (f"not read: the job's measurement budget is spent ({read_so_far} measurements read before it, "
                f"limit {self.max_job_measurements}; MAX_JOB_MEASUREMENTS)")

    def job_skip(self, read_so_far: int, in_file: int) -> str:
        """Why a file's measurements are left out of the job ('' when they fit its budget)."""
        if read_so_far + in_file <= self.max_job_measurements:
            return ""
        return (f"over the job's measurement budget ({read_so_far} measurements read before it + {in_file} "
                f"in it > limit {self.max_job_measurements}; MAX_JOB_MEASUREMENTS)")


# Every line break `str.splitlines` honours (the readers split with it), as UTF-8 bytes: ``\r\n`` is
# one break, so a ``\r`` followed by ``\n`` is not counted again. Counting only ``\n`` let a JSON
# Lines file separated by ``\x1e`` (or an Ollama log ending its lines with a bare ``\r``) pass as
# one row and be parsed whole (issue 12, review 2).
_RARE_BREAKS = (b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_BYTE_BREAKS = (b"\n", *_RARE_BREAKS)
_UTF8_BREAKS = ((b"\xc2", (b"\xc2\x85",)), (b"\xe2", (b"\xe2\x80\xa8", b"\xe2\x80\xa9")))  # U+0085, U+2028/9
_TEXT_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def line_breaks(data: bytes) -> tuple[int, bool]:
    """(line breaks ``str.splitlines`` finds in the decoded text, whether the text ends with one).

    UTF-8 is counted in its bytes: a pass of ``bytes.count`` for ``\n`` and for each other break
    the file holds (whether it holds one is a faster scan than counting it). Measured on a 55 MB
    CSV, medians of 5 on the shared 2-core box: 34 ms to count ``\n``, 80 ms for every break (207
    ms with CRLF endings); a file's whole `IngestLimits.file_skip` 240 ms. UTF-16 (byte-order mark)
    is counted in its decoded text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        count = sum(text.count(brk) for brk in _TEXT_BREAKS) - (text.count("\r\n") if "\r" in text else 0)
        return count, text.endswith(_TEXT_BREAKS)
    count = data.count(b"\n") + sum(data.count(brk) for brk in _RARE_BREAKS if brk in data)
    if b"\r" in data:
        count -= data.count(b"\r\n")
    for lead, breaks in _UTF8_BREAKS:
        if lead in data:
            count += sum(data.count(brk) for brk in breaks)
    return count, data.endswith(_BYTE_BREAKS) or data.endswith((b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9"))


def _lines(data: bytes) -> int:
    """Lines as ``str.splitlines`` makes them (a last line without its break counts)."""
    count, ends_with_break = line_breaks(data)
    return count + (0 if ends_with_break else 1)


def count_rows(data: bytes, fmt: str | None, lines: int | None = None) -> int:
    """Rows a file can hold: JSON objects in JSON, data lines in CSV (the header aside), else lines
    (``lines``: the file's, when already counted)."""
    if fmt == "json":
        return data.count(b"{")
    lines = _lines(data) if lines is None else lines
    return max(0, lines - 1) if fmt == "csv" else lines


def count_cells(data: bytes, fmt: str | None, lines: int | None = None) -> int:
    """An upper bound on the values a reader can find in the file (see the module docstring)."""
    separators = sum(data.count(sep) for sep in (_CSV_SEPARATORS if fmt == "csv" else _SEPARATORS))
    if fmt == "json":
        return separators + 1
    return separators + (_lines(data) if lines is None else lines)


class TooManyMeasurements(Exception):
    """A file yields more measurements than the job has left (raised while its rows are written)."""

    def __init__(self, limit: int, read_before: int = 0, budget: int | None = None) -> None:
        if not read_before or budget is None:
            super().__init__(f"over the job's measurement budget (more than {limit} measurements in this file "
                             "alone; MAX_JOB_MEASUREMENTS)")
        else:
            super().__init__(f"over the job's measurement budget ({read_before} measurements read before it + more "
                             f"than {limit} in it > limit {budget}; MAX_JOB_MEASUREMENTS)")


class _Allowance:
    """What one file may still write, and the block it holds for (`measurement_allowance`): a class
    with ``__enter__``, not a generator in `contextlib.contextmanager` (whose block took 1.7 us a
    file, this one 0.7)."""

    __slots__ = ("budget", "left", "limit", "read_before", "token")

    def __init__(self, limit: int, read_before: int, budget: int | None) -> None:
        self.limit = limit
        self.left = limit
        self.read_before = read_before
        self.budget = budget
        self.token: Token[_Allowance | None] | None = None

    def __enter__(self) -> None:
        self.token = _ALLOWANCE.set(self)

    def __exit__(self, *_exc: object) -> None:
        assert self.token is not None
        _ALLOWANCE.reset(self.token)
        self.token = None


# The allowance of the file being read (set by `measurement_allowance` around one file's reading,
# in whichever process reads it), so adapters stop writing rows at the budget instead of making
# millions to drop them: no adapter has to carry it.
_ALLOWANCE: ContextVar[_Allowance | None] = ContextVar("chimera_measurement_allowance", default=None)


def measurement_allowance(limit: int, *, read_before: int = 0,
                          budget: int | None = None) -> AbstractContextManager[None]:
    """Within the block, `spend_measurement` raises `TooManyMeasurements` past ``limit`` rows (the
    job's ``budget`` less the ``read_before`` measurements of the files read before this one)."""
    return _Allowance(limit, read_before, budget)


def spend_measurement() -> None:
    """One measurement row written (`bot.core.ingest.tools.base.RowWriter`)."""
    allowance = _ALLOWANCE.get()
    if allowance is not None:
        allowance.left -= 1
        if allowance.left < 0:
            raise TooManyMeasurements(allowance.limit, allowance.read_before, allowance.budget)


def spend_measurements(count: int) -> None:
    """``count`` measurement rows about to be written at once (a table's record, or a whole table
    read column by column: `bot.core.ingest.tables`): charged before they are made, so a file past
    its allowance stops where a row-by-row reading would."""
    allowance = _ALLOWANCE.get()
    if allowance is not None:
        allowance.left -= count
        if allowance.left < 0:
            raise TooManyMeasurements(allowance.limit, allowance.read_before, allowance.budget)


# ------------------------------------------------------------------------------------ report caps
# A report covers at most this many models and configurations (MAX_REPORT_MODELS,
# MAX_REPORT_CONFIGURATIONS); the shared archives have at most 25 models and 365 configurations
# each, 46 models and 700 configurations all in one tarball.
MAX_REPORT_MODELS = 100
MAX_REPORT_CONFIGURATIONS = 1000
LEFT_OUT_PATH = "(archive)"  # the inventory warning that says what a report leaves out
_NAMED = 5  # left-out models named in the warning


@dataclass(frozen=True, slots=True)
class ReportCaps:
    """At most ``max_models`` models and ``max_configurations`` configurations (model and
    configuration pairs) per report: those the headline names first (`headline_picks`), then
    those with the most measurements, the rest counted."""

    max_models: int = MAX_REPORT_MODELS
    max_configurations: int = MAX_REPORT_CONFIGURATIONS


# A tool's own throughput figures the Slack summary falls back on when no request has a throughput
# (`bot.render.summary`), in its order of preference.
TOOL_THROUGHPUT_METRICS = ("output_throughput_tok_s", "total_throughput_tok_s", "request_throughput_req_s")
# Joins a model and a configuration into one key: pandas' str dtype drops NUL ("a" + "\x00" + "b"
# is "ab"), so the unit separator.
_PAIR = "\x1f"
_ROW_KINDS = ("request", "sample")  # `bot.core.analysis.requests.ROW_KINDS`


def headline_picks(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The (model, configuration) pairs a report's headline and callouts name, most important
    first: the configuration with the highest median throughput and its runner-up
    (`bot.core.analysis.facts.best_configuration`, whose model's TTFT is the TTFT callout), and
    the two highest tool-reported throughput figures (`bot.render.summary`'s fallback)."""
    from bot.core.analysis.sweeps import AGGREGATE_STATISTICS

    picks: list[tuple[str, str]] = []
    kind, metric = frame["kind"].astype(str), frame["metric"].astype(str)
    ok = ~frame["failed"].astype(bool) & frame["value"].notna()
    rows = frame.loc[ok & kind.isin(_ROW_KINDS) & (metric == "throughput_tok_s"), ["model", "config", "kind", "value"]]
    if not rows.empty:
        medians = rows.astype({"model": str, "config": str, "kind": str}).groupby(
            ["model", "config", "kind"], sort=False)["value"].median()
        ranked = sorted((-median, model, config) for (model, config, _kind), median in medians.items())
        picks.extend((model, config) for _median, model, config in ranked[:2])
    aggregates = frame.loc[ok & (kind == "aggregate")]
    for name in TOOL_THROUGHPUT_METRICS:
        figures = aggregates.loc[aggregates["metric"].astype(str) == name]
        if figures.empty:
            continue
        found: list[tuple[float, str, str]] = []
        for model, part in figures.astype({"model": str, "config": str, "statistic": str}).groupby("model"):
            statistic = next((s for s in AGGREGATE_STATISTICS if s in set(part["statistic"])), None)
            found.extend((-float(v), str(model), c) for v, c in zip(
                part.loc[part["statistic"] == statistic, "value"], part.loc[part["statistic"] == statistic, "config"],
                strict=True) if math.isfinite(float(v)))
        picks.extend((model, config) for _value, model, config in sorted(found)[:2])
        break
    return list(dict.fromkeys(picks))


def _first_kept(counts: pd.Series, first: list[str], limit: int) -> tuple[list[tuple[str, int]], int]:
    """(every key with its count: the ``first`` ones, then the rest by count and key; how many of
    ``first`` the kept ``limit`` hold that their count alone would not have kept)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    by_count = {key for key, _count in ranked[:limit]}
    first = [key for key in first if key in counts.index][:limit]
    lifted = sum(1 for key in first if key not in by_count)
    firsts = set(first)
    return [(key, int(counts[key])) for key in first] + [item for item in ranked if item[0] not in firsts], lifted


def _covers(limit: int, lifted: int) -> str:
    if not lifted:
        return f"the {limit} with the most measurements"
    return f"{limit}: the {lifted} its headline names, then the {limit - lifted} with the most measurements"


def cap_report(ingest: IngestResult, caps: ReportCaps) -> IngestResult:
    """The ingest limited to what one report covers, with an inventory warning saying how many
    models, configurations and measurements were left out (`LEFT_OUT_PATH`); unchanged when it fits.

    Ten thousand model names once made a job take minutes and a 10,000-bar chart: everything after
    ingest (analysis, facts, report, Slack summary, chart) scales with what is kept here. The
    models (then configurations) the headline names are kept first (`headline_picks`: keeping
    only the most measured once made a headline name a slower model), then those with the most
    measurements, ties by name."""
    frame = ingest.measurements
    if frame.empty:
        return ingest
    models = frame["model"].astype(str)
    per_model = models.value_counts()
    pairs = models + _PAIR + frame["config"].astype(str)
    per_config = pairs.value_counts()
    if len(per_model) <= caps.max_models and len(per_config) <= caps.max_configurations:
        return ingest
    picks = headline_picks(frame)
    notes: list[str] = []
    keep = None
    if len(per_model) > caps.max_models:
        ranked, lifted = _first_kept(per_model, list(dict.fromkeys(model for model, _config in picks)),
                                     caps.max_models)
        kept_models = {name for name, _count in ranked[: caps.max_models]}
        dropped = ranked[caps.max_models:]
        named = ", ".join(name or "(no model)" for name, _count in dropped[:_NAMED])
        more = f" and {len(dropped) - _NAMED} others" if len(dropped) > _NAMED else ""
        notes.append(f"{len(per_model)} models: the report covers {_covers(caps.max_models, lifted)}; "
                     f"{len(dropped)} more ({sum(count for _name, count in dropped)} measurements) are left out: "
                     f"{named}{more} (MAX_REPORT_MODELS)")
        keep = models.isin(kept_models).to_numpy()
        per_config = pairs[keep].value_counts()
    if len(per_config) > caps.max_configurations:
        ranked_configs, lifted = _first_kept(per_config, [f"{model}{_PAIR}{config}" for model, config in picks],
                                             caps.max_configurations)
        kept_configs = {key for key, _count in ranked_configs[: caps.max_configurations]}
        dropped_configs = ranked_configs[caps.max_configurations:]
        notes.append(f"{len(per_config)} configurations: the report covers {_covers(caps.max_configurations, lifted)}"
                     f"; {len(dropped_configs)} more ({sum(count for _key, count in dropped_configs)} measurements) "
                     "are left out (MAX_REPORT_CONFIGURATIONS)")
        in_kept = pairs.isin(kept_configs).to_numpy()
        keep = in_kept if keep is None else keep & in_kept
    if keep is None:
        return ingest
    kept_names = set(models[keep].unique())
    left_out_names = set(per_model.index) - kept_names
    measurements = frame.loc[keep].reset_index(drop=True)
    claims = ingest.claims
    if not claims.empty:
        claims = claims.loc[claims["model"].astype(str).isin(kept_names | {""})].reset_index(drop=True)
    # Rankings the archive states are kept the same way: none about (or naming) a model left out.
    rankings = [r for r in ingest.rankings
                if (not r.model or r.model in kept_names) and not {r.subject, r.other} & left_out_names]
    inventory = replace(ingest.inventory, warnings=[*ingest.inventory.warnings,
                                                    *(Skipped(LEFT_OUT_PATH, note) for note in notes)])
    # The configuration dimensions are recomputed from the kept rows (as for a stored run).
    identifiers = None if ingest.identifiers is None else ingest.identifiers.take(keep)  # the same rows kept
    return replace(ingest, measurements=measurements, claims=claims, inventory=inventory, dimensions={},
                   rankings=rankings, identifiers=identifiers)


def left_out(warnings: list[Skipped]) -> list[str]:
    """What a report leaves out (`cap_report`'s warnings), one sentence each; [] when nothing."""
    return [w.reason for w in warnings if w.path == LEFT_OUT_PATH]


def left_out_short(warnings: list[Skipped]) -> str:
    """The same in a few words (a chart's title): '10000 models: the report covers the 40 with the
    most measurements'; '' when nothing is left out."""
    return "; ".join(reason.split(";", 1)[0] for reason in left_out(warnings))
