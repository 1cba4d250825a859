"""Ingest: every file of an extracted archive -> tidy measurements, claims and an inventory.

`ingest_tree(root, …)` is pure with respect to the outside world: it reads files under `root` and
returns plain data. Nothing is silently dropped: each file is parsed, listed as a duplicate, or
listed as skipped with its reason; partial reads are listed as warnings.

Each file goes to the adapter of the benchmark tool that wrote it (`bot.core.ingest.tools`), which
may read sibling files (a summary beside per-request rows). After every file is read: rows without a
model take it from a sibling file or the file name; a record exported twice (a nested re-export, a
CSV and its JSON twin, a sweep's per-run files and its summary) is counted once, keeping the copy
that records more context; then each row's configuration key is derived from the contexts of the
whole archive (`bot.core.dimensions.assign_configs`).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bot.core.context import PATH_DIMENSIONS
from bot.core.context import decode as decode_context
from bot.core.dimensions import assign_configs
from bot.core.ingest.frame import Chunk, ColumnStore
from bot.core.ingest.rankings import find_rankings
from bot.core.ingest.readers import NotATable
from bot.core.ingest.tools import SourceFile, ToolRead, choose
from bot.core.types import (
    CLAIM_COLUMNS,
    IngestResult,
    Inventory,
    RankingClaim,
    Skipped,
    empty_claims,
    empty_measurements,
)

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".md": "md", ".markdown": "md", ".log": "text", ".txt": "text", ".out": "text"}

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


def list_files(root: Path) -> list[Path]:
    """Regular files under root, sorted, never following links out of the tree."""
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        files.append(path)
    return files


def decode(data: bytes) -> tuple[str | None, str]:
    """Text and '' or None and the reason. UTF-8 (with or without BOM) and BOM-marked UTF-16."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), ""
        except UnicodeDecodeError:
            return None, "undecodable bytes (UTF-16 byte-order mark but invalid UTF-16)"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return None, f"undecodable bytes (not UTF-8: invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"


def ingest_tree(root: Path, *, files: Iterable[str] | None = None, max_file_bytes: int = 64 * 1024 * 1024,
                pre_skipped: Iterable[Skipped] = (), progress: Progress | None = None) -> IngestResult:
    """Read every file under ``root`` (or just ``files``, root-relative, as `open_archive` lists them)."""
    root = Path(root)
    inventory = Inventory()
    inventory.skipped.extend(pre_skipped)
    paths = list_files(root) if files is None else [root / rel for rel in sorted(files)]
    inventory.files_total = len(paths) + len(inventory.skipped)
    seen_hashes: dict[str, str] = {}
    per_file_rows: dict[str, _FileRows] = {}
    rankings: list[RankingClaim] = []
    archive = _Archive(root, [p.relative_to(root).as_posix() for p in paths], max_file_bytes)
    store = ColumnStore()

    for index, path in enumerate(paths):
        rel = path.relative_to(root).as_posix()
        fmt = FORMATS.get(path.suffix.lower())
        inventory.by_format[fmt or "other"] = inventory.by_format.get(fmt or "other", 0) + 1
        if progress is not None and (index % 200 == 0 or index == len(paths) - 1):
            progress(index + 1, len(paths))
        read = _ingest_file(path, rel, fmt, max_file_bytes, seen_hashes, inventory, archive, rankings)
        if read is not None:
            per_file_rows[rel] = _FileRows.of(read, store)

    _resolve_models(per_file_rows, inventory, store)
    _drop_reexports(per_file_rows, inventory, store)
    _drop_twins(per_file_rows, inventory, store)
    _copies_of_skipped_files(inventory)
    result = _result(per_file_rows, inventory, store)
    result.rankings = rankings
    return result


def _copies_of_skipped_files(inventory: Inventory) -> None:
    """A byte-identical copy of a file that was skipped is skipped too, for the same reason."""
    reasons = {s.path: s.reason for s in inventory.skipped}
    for kept, copy in list(inventory.duplicates):
        if kept in reasons:
            inventory.duplicates.remove((kept, copy))
            inventory.skipped.append(Skipped(copy, f"identical to {kept}, skipped: {reasons[kept]}"))


class _Archive:
    """Read access to the archive's files for adapters that need a sibling (decoded text, cached)."""

    def __init__(self, root: Path, paths: list[str], max_file_bytes: int) -> None:
        self.root = root
        self.paths = paths
        self._known = set(paths)
        self._max = max_file_bytes
        self._texts: dict[str, str | None] = {}

    def text(self, rel: str) -> str | None:
        if rel not in self._known:
            return None
        if rel not in self._texts:
            self._texts[rel] = self._read(rel)
        return self._texts[rel]

    def _read(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > self._max:
                return None
            text, _reason = decode(path.read_bytes())
        except OSError:
            return None
        return text


def _ingest_file(path: Path, rel: str, fmt: str | None, max_file_bytes: int, seen_hashes: dict[str, str],
                 inventory: Inventory, archive: _Archive, rankings: list[RankingClaim]) -> ToolRead | None:
    """One file's rows, or None when it is skipped or a duplicate: either way the inventory says so."""
    text = _file_text(path, rel, fmt, max_file_bytes, seen_hashes, inventory)
    if fmt is None or text is None:
        return None
    if fmt in ("md", "text"):
        rankings.extend(find_rankings(text, rel))
    file = SourceFile(rel=rel, fmt=fmt, text=text, paths=archive.paths, sibling=archive.text)
    return _file_rows(file, inventory)


def _file_text(path: Path, rel: str, fmt: str | None, max_file_bytes: int, seen_hashes: dict[str, str],
               inventory: Inventory) -> str | None:
    """The file's text, or None when it is skipped or duplicates an earlier file (listed as such)."""
    reason = _skip_before_reading(path, fmt, max_file_bytes)
    if reason:
        inventory.skipped.append(Skipped(rel, reason))
        return None
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen_hashes:
        inventory.duplicates.append((seen_hashes[digest], rel))
        return None
    seen_hashes[digest] = rel
    text, reason = decode(data)
    if text is not None:
        reason = _skip_text(text)
    if reason:
        inventory.skipped.append(Skipped(rel, reason))
        return None
    return text


def _skip_before_reading(path: Path, fmt: str | None, max_file_bytes: int) -> str:
    """Why the file is skipped without reading it ('' when it is read)."""
    if fmt is None:
        return f"unsupported format ({path.suffix or 'no extension'})"
    size = path.stat().st_size
    if size == 0:
        return "empty (0 bytes)"
    if size > max_file_bytes:
        return f"too large ({size} bytes > limit {max_file_bytes})"
    return ""


def _skip_text(text: str) -> str:
    """Why a decoded text is skipped ('' when it is parsed)."""
    if "\x00" in text:
        return "undecodable bytes (NUL characters: mis-encoded text, e.g. UTF-16 saved as UTF-8)"
    if not text.strip():
        return "empty (whitespace only)"
    return ""


def _file_rows(file: SourceFile, inventory: Inventory) -> ToolRead | None:
    """The rows of one file, or None when it holds none (listed as skipped)."""
    rel = file.rel
    read = _read_or_skip(file, inventory)
    if read is None:
        return None
    for warning in read.warnings:
        inventory.warnings.append(Skipped(rel, warning))
    if read.skip and not read.measurements and not read.claims:
        inventory.skipped.append(Skipped(rel, read.skip))
        return None
    if not read.measurements and not read.claims:
        inventory.skipped.append(Skipped(rel, "not a table: no recognised metric columns"))
        return None
    if read.model_origin:
        inventory.model_origin[rel] = read.model_origin
    inventory.parsed[rel] = "measurements" if read.measurements else "claims"
    if not read.measurements:
        inventory.claims_only.append(rel)
    return read


def _read_or_skip(file: SourceFile, inventory: Inventory) -> ToolRead | None:
    """The file read by its tool's adapter, or None with the reason listed as skipped: one odd file
    never sinks the archive."""
    text, rel = file.text, file.rel
    try:
        adapter, note = choose(file)
        if adapter is None:
            inventory.skipped.append(Skipped(rel, f"text file: not the output of a known benchmark tool"
                                                  f"{_first_line_hint(text)}"))
            return None
        if note:
            inventory.warnings.append(Skipped(rel, note))
        inventory.tools[rel] = adapter.name
        return adapter.read(file)
    except NotATable as exc:
        reason = f"not a table: {exc}{_first_line_hint(text)}"
    except RecursionError:
        reason = "not a table: nesting too deep"
    except Exception as exc:
        log.exception("reading %s failed", rel)
        reason = f"could not be read (internal error: {type(exc).__name__}; details in the log)"
    inventory.skipped.append(Skipped(rel, reason))
    return None


def _drop_twins(per_file_rows: dict[str, _FileRows], inventory: Inventory, store: ColumnStore) -> None:
    """Keep one of each set of files holding the same records; list the others as duplicates."""
    for kept, twin in _find_twins(per_file_rows, store):
        inventory.duplicates.append((kept, twin))
        per_file_rows[twin].keep([])
        inventory.parsed[twin] = f"duplicate records of {kept}"
        inventory.duplicate_reasons[twin] = f"the same request records as {kept} (another export of them)"


def _result(per_file_rows: dict[str, _FileRows], inventory: Inventory, store: ColumnStore) -> IngestResult:
    measurements = store.frame(rows.chunk for rows in per_file_rows.values())
    measurements = measurements if len(measurements) else empty_measurements()
    measurements, dimensions = assign_configs(measurements)
    claims = _claims_frame(rows.claims for rows in per_file_rows.values())
    inventory.skipped.sort(key=lambda s: s.path)
    return IngestResult(measurements=measurements, claims=claims, inventory=inventory, dimensions=dimensions)


def _claims_frame(chunks: Iterable[list[dict]]) -> pd.DataFrame:
    data: dict[str, list] = {col: [] for col in CLAIM_COLUMNS}
    for claims in chunks:
        for claim in claims:
            for col in CLAIM_COLUMNS:
                data[col].append(claim[col])
    if not data["source"]:
        return empty_claims()
    return pd.DataFrame(data, columns=list(CLAIM_COLUMNS))


@dataclass
class _FileRows:
    """One file's measurements (compact, `bot.core.ingest.frame`) and claims (a few dicts)."""

    chunk: Chunk
    claims: list[dict]

    @classmethod
    def of(cls, read: ToolRead, store: ColumnStore) -> _FileRows:
        return cls(store.chunk(read.measurements), read.claims)

    def keep(self, indices: list[int]) -> None:
        self.chunk.keep(indices)

    def prints(self, store: ColumnStore) -> list[str]:
        return store.texts(self.chunk, "fingerprint")

    def has_prints(self, store: ColumnStore) -> bool:
        return bool((self.chunk.columns["fingerprint"] != store.code("fingerprint", "")).any())

    def distinct(self, store: ColumnStore, name: str) -> list[str]:
        return store.strings[name].texts(np.unique(self.chunk.columns[name]))

    def model_names(self, store: ColumnStore) -> list[str]:
        return self.distinct(store, "model")

    def name_model(self, model: str, store: ColumnStore) -> None:
        """Rows (and claims) that name no model are this model's."""
        codes = self.chunk.columns["model"]
        codes[codes == store.code("model", "")] = store.code("model", model)
        for claim in self.claims:
            claim["model"] = claim["model"] or model


def _first_line_hint(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = re.sub(r"\s+", " ", first)[:80]
    return f" (starts with: {first!r})" if first else ""


# ------------------------------------------------------------------------------- model names
_RUN_SUFFIXES = re.compile(
    r"(_(baseline|param_tuning|param_tuning_summary|benchmark|benchmark_runs|benchmark_summary|runs|"
    r"summary|results|fixed|bench|quant_bench|test_results|inference))+$")


def _stem_key(rel: str) -> str:
    stem = Path(rel).stem.lower()
    stem = re.sub(r"[_-]\d{8,}([_-]\d+)?$", "", stem)  # timestamps
    return _RUN_SUFFIXES.sub("", stem)


_MODEL_FROM_STEM = re.compile(r"^([a-z][a-z0-9.\-]*?\d)_(\d+(?:\.\d+)?[bm]\b.*|latest)$")


def model_from_stem(key: str) -> str:
    """'gemma3_270m' -> 'gemma3:270m', 'gemma3_1b-it-qat' -> 'gemma3:1b-it-qat'; else ''."""
    match = _MODEL_FROM_STEM.match(key)
    return f"{match.group(1)}:{match.group(2)}" if match else ""


def _resolve_models(per_file: dict[str, _FileRows], inventory: Inventory, store: ColumnStore) -> None:
    """Rows without a model take it from a sibling file of the same run, else from the file name."""
    by_dir_key: dict[tuple[str, str], set[str]] = {}
    unnamed: list[str] = []
    for rel, rows in per_file.items():
        names = {*rows.model_names(store), *(claim["model"] for claim in rows.claims)}
        models = names - {""}
        if len(models) == 1:
            key = (str(Path(rel).parent), _stem_key(rel))
            by_dir_key.setdefault(key, set()).update(models)
        if "" in names:
            unnamed.append(rel)
    for rel in unnamed:
        key = (str(Path(rel).parent), _stem_key(rel))
        sibling = by_dir_key.get(key, set())
        if len(sibling) == 1:
            model, origin = next(iter(sibling)), "sibling file"
        else:
            model, origin = model_from_stem(_stem_key(rel)), "file name"
        if not model:
            continue
        per_file[rel].name_model(model, store)
        inventory.model_origin[rel] = f"{origin}: {model}"


# ------------------------------------------------------------------------------- re-exports
def _drop_reexports(per_file: dict[str, _FileRows], inventory: Inventory, store: ColumnStore) -> None:
    """The same tool records in several files (a nested re-export, a sweep's per-run files and its
    summary, a profile's JSON and CSV) are counted once. Files holding more records go first, then
    those recording more context, so the copy kept is the most complete; a file all of whose records
    were read elsewhere is listed as a duplicate, one that shares only some of them keeps the rest."""
    prints = {rel: rows.prints(store) for rel, rows in per_file.items() if rows.has_prints(store)}
    if len(prints) < 2:
        return
    keys = {rel: _context_keys(per_file[rel], store) for rel in prints}
    order = sorted(prints, key=lambda rel: (-len(set(prints[rel]) - {""}), -len(keys[rel]),
                                            _FORMAT_RANK.get(Path(rel).suffix.lower(), 9), rel))
    covered: dict[str, str] = {}
    for rel in order:
        owners = Counter(covered[p] for p in prints[rel] if p and p in covered)
        if owners:
            _drop_covered(rel, per_file[rel], prints[rel], covered, owners, keys, inventory)
        for print_ in prints[rel]:
            if print_:
                covered.setdefault(print_, rel)


# Between copies equal in records and context: JSON keeps full precision, CSV and text are rounded.
_FORMAT_RANK = {".json": 0, ".jsonl": 1, ".ndjson": 1, ".csv": 2, ".tsv": 2, ".md": 3}


def _drop_covered(rel: str, rows: _FileRows, prints: list[str], covered: dict[str, str], owners: Counter[str],
                  keys: dict[str, set[str]], inventory: Inventory) -> None:
    kept = owners.most_common(1)[0][0]
    remaining = [i for i, p in enumerate(prints) if p and p not in covered]
    unprinted = [i for i, p in enumerate(prints) if not p]
    if not remaining and not unprinted:
        rows.keep([])
        inventory.duplicates.append((kept, rel))
        inventory.parsed[rel] = f"duplicate records of {kept}"
        extra = sorted(keys[kept] - keys[rel])
        more = (f"; {kept} is kept because it records more context ({', '.join(extra)})" if extra
                else f"; {kept} is kept (it holds at least as many records and as much context)")
        inventory.duplicate_reasons[rel] = f"the same records as {kept}{more}"
        return
    rows.keep(sorted(remaining + unprinted))
    inventory.warnings.append(Skipped(rel, f"records also read from {', '.join(sorted(owners))} are counted "
                                           "once, there"))


def _context_keys(rows: _FileRows, store: ColumnStore) -> set[str]:
    """The dimensions a file's rows record (path parts aside)."""
    names: set[str] = set()
    for text in rows.distinct(store, "context"):
        names.update(decode_context(text))
    return names - set(PATH_DIMENSIONS)


# ------------------------------------------------------------------------------------- twins
_TWIN_KEY_METRICS = ("throughput_tok_s", "prompt_throughput_tok_s", "ttft_ms", "latency_ms", "output_tokens")


def _find_twins(per_file: dict[str, _FileRows], store: ColumnStore) -> list[tuple[str, str]]:
    """Files holding the same request records (e.g. a CSV and its JSON export) -> (kept, twin).

    Files are bucketed by a signature (row count, models, each row's first key metric, rounded), so
    only files that can be twins are compared value by value: linear in the number of files.
    """
    buckets: dict[tuple, list[tuple[str, list[dict[str, float]]]]] = {}
    request = store.code("kind", "request")
    for rel in sorted(per_file):
        columns = per_file[rel].chunk.columns
        requests = np.flatnonzero(columns["kind"] == request)
        # Failed rows hold placeholder zeros: two failed runs are not the same records.
        if columns["failed"][requests].all():
            continue
        rows = _request_records(per_file[rel], requests, store)
        models = set(store.strings["model"].texts(np.unique(columns["model"][requests])))
        key = (len(rows), frozenset(models), tuple(_row_signature(r) for r in rows))
        buckets.setdefault(key, []).append((rel, rows))
    twins: list[tuple[str, str]] = []
    for files in buckets.values():
        taken: set[str] = set()
        for i, (a, ra) in enumerate(files):
            if a in taken:
                continue
            for b, rb in files[i + 1:]:
                if b not in taken and _same_records(ra, rb):
                    twins.append((a, b))
                    taken.add(b)
    return twins


def _request_records(rows: _FileRows, requests: np.ndarray, store: ColumnStore) -> list[dict[str, float]]:
    """The file's requests in record order, each as {metric: value}."""
    columns = rows.chunk.columns
    ids = store.strings["request_id"].texts(columns["request_id"][requests])
    metrics = store.strings["metric"].texts(columns["metric"][requests])
    by_request: dict[str, dict[str, float]] = {}
    for request_id, metric, value in zip(ids, metrics, columns["value"][requests].tolist(), strict=True):
        by_request.setdefault(request_id.rsplit("#", 1)[-1], {})[metric] = value
    return [by_request[k] for k in sorted(by_request, key=_row_order)]


def _row_signature(row: dict[str, float]) -> tuple[str, float | None]:
    for metric in _TWIN_KEY_METRICS:
        value = row.get(metric)
        if value is not None and value == value:  # not NaN
            return metric, float(f"{value:.9g}")
    return "", None


def _row_order(key: str) -> tuple[int, ...]:
    """'12' < '12.3' < '100': record indices, with llama-bench sample suffixes, in numeric order."""
    return tuple(int(part) if part.isdigit() else 0 for part in key.split("."))


def _same_records(rows_a: list[dict[str, float]], rows_b: list[dict[str, float]]) -> bool:
    """Row by row (both in record order), every metric both files hold is equal."""
    for ra, rb in zip(rows_a, rows_b, strict=False):
        shared = set(ra) & set(rb)
        if len(shared) < 2:
            return False
        for metric in shared:
            x, y = ra[metric], rb[metric]
            if x != x and y != y:  # both NaN
                continue
            if abs(x - y) > 1e-9 * max(1.0, abs(x), abs(y)):
                return False
    return True
