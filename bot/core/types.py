"""Plain data passed between the pipeline steps (archive -> ingest -> analyze -> narrate -> render).

The tidy measurement frame (one row per value) has these columns, in this order:

- ``request_id``   str   stable id of the request/sample the value belongs to (``path#row``)
- ``source``       str   archive-relative path of the file it came from
- ``row``          int   0-based record index inside that file (int32 from ingest; int64 only should a
                         value not fit, and as a stored run reads back)
- ``model``        str   model name as the benchmark tool wrote it ('' for non-LLM benchmarks)
- ``config``       str   the key of the row's configuration: the dimensions that vary among the model's
                         rows for this metric, as ``k=v,…`` (`bot.core.config.Config`), e.g.
                         ``n_depth=0,file=llama32-1b.default-hip``; '' when nothing varies
- ``metric``       str   canonical metric name (see `bot.core.metrics`)
- ``value``        float the value in the metric's canonical unit
- ``unit``         str   canonical unit
- ``failed``       bool  the request failed (error, zero tokens, success=false); such values never
                         enter a statistic
- ``error``        str   the failure reason ('' when it did not fail)
- ``kind``         str   'request' (one LLM request), 'sample' (one repetition of a benchmark tool's test,
                         e.g. a llama-bench ``samples_ts`` value or one vLLM latency iteration),
                         'aggregate' (a tool's own statistic over a run, e.g. vLLM ``median_ttft_ms``)
                         or 'generic' (non-LLM timing)
- ``definition``   str   how the file defines the metric when it is ambiguous (e.g. TTFT), else ''
- ``context``      str   every dimension the value came with, as canonical JSON ``{name: value}`` (sorted
                         keys, values as text): the record's non-metric fields, the file's metadata, the
                         path parts ``folder`` and ``file``. See `bot.core.context` for how a field is
                         judged a dimension. Equal contexts are equal texts. '{}' when nothing is known.
- ``identifiers``  str   ids, timestamps, prompt text and repetition markers of the value, canonical JSON:
                         kept for provenance, never grouped on
- ``statistic``    str   for an aggregate, the tool's statistic (mean, median, std, min, max, pNN, rate,
                         total, count, overall); '' for requests and samples
- ``n``            float for an aggregate, how many values the tool computed it from (NaN when the file
                         does not say); NaN for requests and samples. float32 from ingest when that holds
                         every value exactly (counts up to 2**24), else float64 (and as a stored run reads back)

A run's ``identifiers`` are kept packed by ingest, not in its frame (nothing in the analysis reads
them; as Python strings they were ~30 bytes per row of a large job's memory): `IngestResult` says
which frame holds which columns.

``config`` is derived, once, at the end of ingest (`bot.core.dimensions.assign_configs`): among one
model's rows for one metric, the dimensions whose values vary; rows with the same ``config`` are one
configuration, and no statistic ever pools two configurations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

if TYPE_CHECKING:
    from bot.core.ingest.packed import PackedTexts

MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "request_id",
    "source",
    "row",
    "model",
    "config",
    "metric",
    "value",
    "unit",
    "failed",
    "error",
    "kind",
    "definition",
    "context",
    "identifiers",
    "statistic",
    "n",
)

# The columns of `IngestResult.measurements` as ingest makes it: all but ``identifiers`` (packed apart).
INGEST_COLUMNS: tuple[str, ...] = tuple(name for name in MEASUREMENT_COLUMNS if name != "identifiers")

MEASUREMENT_KINDS = ("request", "sample", "aggregate", "generic")

CLAIM_COLUMNS: tuple[str, ...] = (
    "source",
    "model",
    "config",
    "metric",
    "statistic",
    "value",
    "unit",
    "context",
    "precision",
)


def empty_measurements(columns: tuple[str, ...] = MEASUREMENT_COLUMNS) -> pd.DataFrame:
    """A frame of no row with ``columns`` (every measurement column, or `INGEST_COLUMNS`)."""
    return pd.DataFrame({col: pd.Series(dtype=_dtype(col)) for col in columns})


def empty_claims() -> pd.DataFrame:
    return pd.DataFrame(
        {col: pd.Series(dtype="float64" if col in {"value", "precision"} else "object")
         for col in CLAIM_COLUMNS}
    )


def _dtype(col: str) -> str:
    return {"row": "int64", "value": "float64", "failed": "bool", "n": "float64"}.get(col, "object")


QUOTE_OPEN, QUOTE_CLOSE = "«", "»"
_QUOTED = re.compile(f"{QUOTE_OPEN}[^{QUOTE_CLOSE}]*{QUOTE_CLOSE}")


def quoted(text: str, *, limit: int = 120) -> str:
    """Archive text (an error message, a file path) inside a fact statement, marked as quoted.

    Numbers inside the marks are the archive's words, not our findings: grounding ignores them,
    so a failure reason reading '… 999 tok/s' cannot make 999 tok/s look like a fact.
    """
    clean = " ".join(str(text).replace(QUOTE_OPEN, "'").replace(QUOTE_CLOSE, "'").split())
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return f"{QUOTE_OPEN}{clean}{QUOTE_CLOSE}"


def without_quoted(text: str) -> str:
    """The statement with every quoted archive text blanked out."""
    return _QUOTED.sub(" ", text)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Inventory:
    """What the archive held and what became of each file."""

    files_total: int = 0
    by_format: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (kept, duplicate)
    parsed: dict[str, str] = field(default_factory=dict)  # path -> parser name
    claims_only: list[str] = field(default_factory=list)  # files read as summaries/claims only
    warnings: list[Skipped] = field(default_factory=list)  # files read in part: what was left out
    model_origin: dict[str, str] = field(default_factory=dict)  # path -> how its model was found
    duplicate_reasons: dict[str, str] = field(default_factory=dict)  # duplicate path -> why, which copy was kept
    tools: dict[str, str] = field(default_factory=dict)  # path -> the benchmark tool adapter that read it


@dataclass(frozen=True)
class RankingClaim:
    """A ranking an archive's own prose states ("best configuration", "fastest model", "X is N% faster
    than Y"), read from Markdown to be checked against the computed ranking and its noise.

    ``kind`` is 'best_config' (``config`` holds the named settings, ``value`` the figure it states),
    'fastest_model' (``subject``) or 'faster_by' (``subject`` is ``percent`` faster than ``other``;
    ``value``/``other_value`` the two figures when the text gives them). Names are as written.
    """

    source: str
    kind: Literal["best_config", "fastest_model", "faster_by"]
    text: str
    model: str = ""  # the model the document is about (nearest name:tag before the claim)
    subject: str = ""
    other: str = ""
    config: tuple[tuple[str, str], ...] = ()
    value: float | None = None
    other_value: float | None = None
    percent: float | None = None
    metric: str = "throughput_tok_s"


@dataclass
class IngestResult:
    """What ingest read. Its ``measurements`` frame is the tidy frame but its ``identifiers``
    column (`INGEST_COLUMNS`): those are ``identifiers``, one per row of ``measurements`` in the
    same order, packed (`bot.core.ingest.packed.PackedTexts`: no Python string per text). Nothing
    in the analysis reads them; reading the column from ``measurements`` is a KeyError, never a
    placeholder. `stored_measurements` is the whole tidy frame (what a stored run holds: the
    database save path takes it). Whoever keeps some rows of ``measurements`` keeps the same rows
    of ``identifiers`` (`PackedTexts.take`, as `bot.core.limits.cap_report` does).

    ``identifiers`` None: ``measurements`` is already the whole tidy frame (built by hand, or a
    stored run read back); it is then stored as it is."""

    measurements: pd.DataFrame
    claims: pd.DataFrame
    inventory: Inventory
    # (model as grouped, metric) -> `bot.core.dimensions.Dimensions`; recomputed from the
    # measurements when empty (a stored run)
    dimensions: dict[tuple[str, str], Any] = field(default_factory=dict)
    rankings: list[RankingClaim] = field(default_factory=list)
    identifiers: PackedTexts | None = None

    def stored_measurements(self) -> pd.DataFrame:
        """The whole tidy frame (every column of `MEASUREMENT_COLUMNS`, in order): ``measurements``
        with ``identifiers`` decoded into its column, the same values and dtypes the ingest frame
        held before they were packed (a categorical; an object column when there is no row, as
        `empty_measurements`). Made on each call (it costs the strings packing saved)."""
        if self.identifiers is None:
            return self.measurements
        if len(self.identifiers) != len(self.measurements):
            raise ValueError(f"{len(self.identifiers)} identifiers for {len(self.measurements)} measurements")
        column = self.identifiers.column()
        frame = self.measurements
        return pd.DataFrame({name: column if name == "identifiers" else frame[name] for name in MEASUREMENT_COLUMNS},
                            index=frame.index, copy=False)


# "best_throughput": the headline's best-throughput callout is this fact.
FactRole = Literal["", "best_throughput"]
# "data": computed from the raw rows. "claim": about a number the archive itself states (a summary or a
# report) that the raw rows contradict: its value is what the raw rows give, and every other number in
# its statement is the archive's word — grounding never takes one for a finding.
FactOrigin = Literal["data", "claim"]


@dataclass(frozen=True)
class Fact:
    """One checked statement about the data. Everything we post is built from facts.

    ``importance`` orders facts when a context budget forces some out (lower = dropped first).
    """

    id: str
    statement: str
    value: float
    unit: str
    sources: tuple[str, ...]
    importance: int = 50
    model: str = ""
    config: str = ""
    metric: str = ""
    rows: int | None = None  # how many measurement rows back the value
    role: FactRole = ""  # what the fact is for beyond its statement (the headline picks by role)
    origin: FactOrigin = "data"  # see FactOrigin

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "statement": self.statement,
            "value": self.value,
            "unit": self.unit,
            "sources": list(self.sources),
            "model": self.model,
            "config": self.config,
            "metric": self.metric,
            "rows": self.rows,
            "origin": self.origin,
        }


# --- archives ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveRef:
    """An archive found by `list_archives`. ``name`` can be passed back to `resolve`."""

    name: str
    root: str
    # bytes; None for directories (not summed) or when the backend does not say
    size: int | None
    mtime: datetime | None  # UTC; None when the backend does not say
    is_dir: bool = False


@dataclass
class ArchiveTree:
    name: str  # the name as requested (for display)
    root: Path  # local directory holding the files (extracted or the original dir)
    skipped: list[Skipped]  # members not extracted/read and why
    # archive-relative '/'-separated paths of the regular files safe to read (no links, no specials)
    files: list[str] = field(default_factory=list)


# --- language-model calls -----------------------------------------------------------------------


@dataclass(frozen=True)
class LLMCallMetrics:
    """Timings and token counts of one model call (see the module docstring for definitions)."""

    purpose: str
    model: str
    ok: bool
    attempts: int
    wall_ms: float
    ttft_ms: float | None = None
    throughput_tok_s: float | None = None
    prompt_eval_count: int | None = None
    prompt_eval_ms: float | None = None
    eval_count: int | None = None
    eval_ms: float | None = None
    load_ms: float | None = None
    total_ms: float | None = None
    done_reason: str | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChatResult:
    content: str
    metrics: LLMCallMetrics


def facts_from_json(documents: Any) -> list[Fact]:
    """The run's stored facts (``Fact.to_json`` documents) back as `Fact`s; malformed ones skipped.

    Stored order is importance order, so the position becomes the importance for trimming.
    """
    facts: list[Fact] = []
    if not isinstance(documents, list):
        return facts
    for position, doc in enumerate(documents):
        if not isinstance(doc, Mapping):
            continue
        try:
            value = float(doc["value"])
            fact_id = str(doc["id"])
        except (KeyError, TypeError, ValueError):
            continue
        rows = doc.get("rows")
        facts.append(Fact(
            id=fact_id, statement=str(doc.get("statement") or ""), value=value,
            unit=str(doc.get("unit") or ""), sources=tuple(str(s) for s in doc.get("sources") or ()),
            importance=max(1, 90 - position), model=str(doc.get("model") or ""),
            config=str(doc.get("config") or ""), metric=str(doc.get("metric") or ""),
            rows=int(rows) if isinstance(rows, (int, float)) else None,
            origin="claim" if doc.get("origin") == "claim" else "data",
        ))
    return facts
