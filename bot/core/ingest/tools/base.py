"""The adapter contract: one adapter per benchmark tool, chosen per file by how sure it is.

An adapter has a ``name``, ``detect(file) -> float`` (0 = not this tool's output, 1 = certainly it)
and ``read(file) -> ToolRead``. It maps its tool's semantics to the canonical metrics: what a failure
is, what unit a field has, whether a value is a sample or the tool's own aggregate. It never drops a
non-metric field: every one goes to the row's context (a dimension) or its identifiers.

`RowWriter` is the one place rows are made, so every row has every column of the measurement frame.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from bot.core.context import encode, with_path
from bot.core.ingest.rows import Rows
from bot.core.metrics import METRICS
from bot.core.types import CLAIM_COLUMNS

_INVALID = object()


@dataclass
class SourceFile:
    """One file of the archive as an adapter sees it; ``sibling`` reads another file of the archive
    (archive-relative path -> decoded text, or None when there is no such readable file)."""

    rel: str
    fmt: str  # csv | json | jsonl | md | text
    text: str
    paths: Sequence[str] = ()
    sibling: Callable[[str], str | None] = lambda _rel: None
    # the text's UTF-8 encoding, when the caller has it (the file's bytes, `files.utf8_of`): `folded`
    # lowers it, then lets it go
    utf8: bytes | None = field(default=None, repr=False, compare=False)

    @cached_property
    def parsed(self) -> Any:
        """The file as one JSON document, or `INVALID`."""
        if self.fmt not in ("json", "jsonl"):
            return _INVALID
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return _INVALID

    def sibling_json(self, rel: str) -> Any:
        """Another file of the archive as one JSON document; None when it is absent, unreadable or
        not JSON (a sibling only ever adds context, so its problems are never this file's)."""
        text = self.sibling(rel)
        if not text:
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return None

    @cached_property
    def lines(self) -> tuple[list[Any], list[str]]:
        """The file as JSON Lines: the parsed values and the non-empty lines that are not JSON."""
        values: list[Any] = []
        stray: list[str] = []
        for line in self.text.splitlines():
            text = line.strip()
            if not text:
                continue
            if text[0] not in "[{":
                stray.append(text)
                continue
            try:
                values.append(json.loads(text))
            except (ValueError, RecursionError):
                stray.append(text)
        return values, stray

    def objects(self) -> tuple[list[dict[str, Any]], list[str]]:
        """JSON objects of the file: the document's (an object or a list of them), else its lines'."""
        doc = self.parsed
        if isinstance(doc, dict):
            return [doc], []
        if isinstance(doc, list):
            return [x for x in doc if isinstance(x, dict)], []
        if self.fmt in ("json", "jsonl", "text"):
            values, stray = self.lines
            objs = [v for v in values if isinstance(v, dict)]
            objs += [x for v in values if isinstance(v, list) for x in v if isinstance(x, dict)]
            return objs, stray
        return [], []

    @cached_property
    def folded(self) -> bytes:
        """The text's UTF-8 bytes with their ASCII letters lowered (once: the detectors and the ranking
        claims of a Markdown file look for words in it, and ``in`` is 10x faster than a case-insensitive
        pattern). An ASCII word without a 'k', and without an 'i' at its end, is in ``text.lower()``
        exactly when it is in these bytes: every character beyond ASCII lowers to characters beyond
        ASCII but two, 'İ' (to 'i' and a combining dot, which no such word holds after an 'i') and the
        Kelvin sign (to 'k'); the UTF-8 bytes of the others are all >= 0x80, left alone by
        `bytes.lower` and held by no ASCII word (a test checks every code point). Lowering a text
        beyond ASCII (most reports: a dash, a tick) goes character by character, 4x the cost of these
        bytes, and ``in`` over such a text took 2-4x ``in`` over them. Made from ``utf8`` when it was
        given (encoding a text beyond ASCII took 4x lowering its bytes: 76 of 93 us for a report of
        57 KB)."""
        utf8, self.utf8 = self.utf8, None
        return (self.text.encode("utf-8", "surrogatepass") if utf8 is None else utf8).lower()

    @cached_property
    def text_lines(self) -> list[str]:
        """The text's lines (once: a report's ranking claims and its tables are read from them)."""
        return self.text.splitlines()

    @cached_property
    def first_line(self) -> str:
        """``text.split("\\n", 1)[0]`` without copying the rest of the text (a CSV's header, which two
        detectors look at)."""
        end = self.text.find("\n")
        return self.text if end < 0 else self.text[:end]

    @property
    def head(self) -> str:
        return self.text[:4096]


INVALID = _INVALID


@dataclass
class ToolRead:
    """What an adapter found in one file."""

    measurements: Rows = field(default_factory=Rows)
    claims: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model_origin: str = ""  # how the model was found when the file does not name it
    skip: str = ""  # the file is this tool's but holds nothing to read: why


class Adapter(Protocol):
    name: str

    def detect(self, file: SourceFile) -> float: ...

    def read(self, file: SourceFile) -> ToolRead: ...


def fingerprint(record: Any) -> str:
    """A stable id of a record's content, to find the same record exported twice."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


Context = tuple[str, str]  # (context JSON, identifiers JSON)


class RowWriter:
    """Rows of one file (`Rows`), every one with every column of the measurement frame."""

    def __init__(self, source: str, *, tool: str) -> None:
        self.source = source
        self.tool = tool
        self.rows = Rows()
        self._ids: dict[int, str] = {}
        self._merged: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}  # identifiers with extra ids
        # the file's records repeat their dimensions (their identifiers less so): each set encoded once
        self._dims: dict[tuple[tuple[str, str], ...], str] = {}
        self._idents: dict[tuple[tuple[str, str], ...], str] = {}

    def context(self, dims: Mapping[str, str] | None = None, idents: Mapping[str, str] | None = None) -> Context:
        """The encoded context of a record: its dimensions and identifiers plus the path parts."""
        return (self._encoded(self._dims, dims or {}, lambda found: with_path(self.source, found, {})[0]),
                self._encoded(self._idents, idents or {}, lambda found: with_path(self.source, {}, found)[1]))

    @staticmethod
    def _encoded(made: dict[tuple[tuple[str, str], ...], str], found: Mapping[str, Any],
                 full: Callable[[Mapping[str, Any]], dict[str, str]]) -> str:
        if not all(type(value) is str for value in found.values()):  # (0.0 and -0.0 are equal, not the same)
            return encode(full(found))
        key = tuple(found.items())
        text = made.get(key)
        if text is None:
            text = made[key] = encode(full(found))
        return text

    def add(self, *, row: int, model: str, metric: str, value: float, ctx: Context, kind: str,
            failed: bool = False, error: str = "", definition: str = "", statistic: str = "",
            n: float = math.nan, request_id: str | None = None, extra_ids: Mapping[str, str] | None = None,
            print_: str = "") -> None:
        idents = ctx[1]
        if extra_ids:  # the metrics of one request share them: merged once
            key = (idents, tuple(extra_ids.items()))
            merged_text = self._merged.get(key)
            if merged_text is None:
                merged = json.loads(idents)
                merged.update(extra_ids)
                merged_text = self._merged[key] = encode(merged)
            idents = merged_text
        if not request_id:
            request_id = self._ids.get(row) or self._ids.setdefault(row, f"{self.source}#{row}")
        if metric not in METRICS:  # a bug: the file is skipped, and the inventory says so
            raise KeyError(f"unknown metric {metric!r}")
        self.rows.append(request_id=request_id, source=self.source, row=row, model=model, metric=metric,
                         value=float(value), failed=bool(failed), error=error, kind=kind, definition=definition,
                         context=ctx[0], identifiers=idents, statistic=statistic, n=float(n), fingerprint=print_)


def claim(*, source: str, model: str, metric: str, statistic: str, value: float, label: str,
          config: str = "", precision: float = 0.0) -> dict[str, Any]:
    """One claim row (a number the archive states about its own data, to check against raw rows)."""
    row = {"source": source, "model": model, "config": config, "metric": metric, "statistic": statistic,
           "value": float(value), "unit": METRICS[metric].unit, "context": label, "precision": precision}
    return {col: row[col] for col in CLAIM_COLUMNS}


def number(raw: Any) -> float | None:
    """A finite number from a JSON value or numeric text; None otherwise (booleans are not numbers)."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str):
            value = float(raw.strip().replace(",", ""))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None
