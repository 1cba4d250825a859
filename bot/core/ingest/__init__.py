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

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core.context import PATH_DIMENSIONS
from bot.core.context import decode as decode_context
from bot.core.dimensions import assign_configs
from bot.core.ingest.files import FORMATS, FileRead, decode, list_files, merge, parent, suffix
from bot.core.ingest.files import stem as file_stem
from bot.core.ingest.frame import Chunk, ClaimColumns, ColumnStore
from bot.core.ingest.parallel import read_files
from bot.core.ingest.rows import PackedRows
from bot.core.limits import IngestLimits
from bot.core.types import INGEST_COLUMNS, IngestResult, Inventory, RankingClaim, Skipped, empty_measurements

__all__ = ["FORMATS", "IngestLimits", "decode", "ingest_tree", "list_files", "model_from_stem"]

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


def ingest_tree(root: Path | str, *, files: Iterable[str] | None = None, max_file_bytes: int = 64 * 1024 * 1024,
                pre_skipped: Iterable[Skipped] = (), progress: Progress | None = None,
                workers: int | None = None, limits: IngestLimits | None = None) -> IngestResult:
    """Read every file under ``root`` (or just ``files``, root-relative, as `open_archive` lists them).

    Large archives are read by ``workers`` processes (default: one per CPU; see
    `bot.core.ingest.parallel`); the result is the same either way. ``limits`` bound each file's
    rows and cells and the job's measurements (`bot.core.limits`): what exceeds them is
    skipped with the reason."""
    limits = limits or IngestLimits()
    inventory = Inventory()
    inventory.skipped.extend(pre_skipped)
    rels = list_files(str(root)) if files is None else sorted(files)
    inventory.files_total = len(rels) + len(inventory.skipped)
    seen_hashes: dict[str, str] = {}
    per_file_rows: dict[str, _FileRows] = {}
    rankings: list[RankingClaim] = []
    store, claims = ColumnStore(), ClaimColumns()
    found_files = read_files(str(root), rels, max_file_bytes, workers=workers, limits=limits,
                             read_so_far=lambda: len(store))
    for index, found in enumerate(found_files):
        fmt = found.fmt
        inventory.by_format[fmt or "other"] = inventory.by_format.get(fmt or "other", 0) + 1
        if progress is not None and (index % 200 == 0 or index == len(rels) - 1):
            progress(index + 1, len(rels))
        if found.digest in seen_hashes:
            inventory.duplicates.append((seen_hashes[found.digest], found.rel))
            continue
        if found.digest:
            seen_hashes[found.digest] = found.rel
        if found.rows is not None and (reason := limits.job_skip(len(store), len(found.rows))):
            found = _left_out(found, reason)
        merge(inventory, found.inventory)
        rankings.extend(found.rankings)
        if found.rows is not None:
            per_file_rows[found.rel] = _FileRows(store.add(found.rows), claims.add(found.claims), claims,
                                                 *_read_facts(found.rows))

    seen_hashes.clear()
    store.seal()
    _resolve_models(per_file_rows, inventory, store)
    _drop_reexports(per_file_rows, inventory, store)
    _drop_twins(per_file_rows, inventory, store)
    per_file_rows.clear()  # what is left of the reading is released before the frames are made
    _copies_of_skipped_files(inventory)
    result = _result(inventory, store, claims)
    result.rankings = rankings
    return result


def _left_out(found: FileRead, reason: str) -> FileRead:
    """The file as if it held nothing to read: skipped with ``reason`` (its warnings kept)."""
    part = Inventory(warnings=found.inventory.warnings, skipped=[*found.inventory.skipped, Skipped(found.rel, reason)])
    return FileRead(found.rel, found.fmt, found.digest, part)


def _copies_of_skipped_files(inventory: Inventory) -> None:
    """A byte-identical copy of a file that was skipped is skipped too, for the same reason."""
    reasons = {s.path: s.reason for s in inventory.skipped}
    for kept, copy in list(inventory.duplicates):
        if kept in reasons:
            inventory.duplicates.remove((kept, copy))
            inventory.skipped.append(Skipped(copy, f"identical to {kept}, skipped: {reasons[kept]}"))


def _drop_twins(per_file_rows: dict[str, _FileRows], inventory: Inventory, store: ColumnStore) -> None:
    """Keep one of each set of files holding the same records; list the others as duplicates."""
    for kept, twin in _find_twins(per_file_rows, store):
        inventory.duplicates.append((kept, twin))
        per_file_rows[twin].keep([], store)
        inventory.parsed[twin] = f"duplicate records of {kept}"
        inventory.duplicate_reasons[twin] = f"the same request records as {kept} (another export of them)"


def _result(inventory: Inventory, store: ColumnStore, claims: ClaimColumns) -> IngestResult:
    """The frames, the claims' first: their lists are released before the measurement frame (the
    ingest's high-water mark) is made."""
    claim_frame = claims.frame()
    measurements, identifiers = store.frame()  # the identifiers packed, not a column (`IngestResult`)
    measurements = measurements if len(measurements) else empty_measurements(INGEST_COLUMNS)
    measurements, dimensions = assign_configs(measurements)
    inventory.skipped.sort(key=lambda s: s.path)
    return IngestResult(measurements=measurements, claims=claim_frame, inventory=inventory, dimensions=dimensions,
                        identifiers=identifiers)


def _read_facts(rows: PackedRows) -> tuple[list[str], bool]:
    """What the passes ask of every file, taken from its rows' distinct texts as they were read (no
    pass over the archive's columns per file): the models its rows name ('' for none), and
    whether some row has a fingerprint."""
    return rows.texts["model"][0], any(rows.texts["fingerprint"][0])


@dataclass
class _FileRows:
    """One file's measurements (a range of the archive's columns, `bot.core.ingest.frame`) and claims."""

    chunk: Chunk
    claim_chunk: Chunk
    claims: ClaimColumns
    read_models: list[str]  # the models its rows name as read, before `_resolve_models` names the unnamed
    printed: bool  # some row has a fingerprint

    def keep(self, indices: list[int], store: ColumnStore) -> None:
        store.keep(self.chunk, indices)

    def prints(self, store: ColumnStore) -> list[str]:
        return store.texts(self.chunk, "fingerprint")

    def distinct(self, store: ColumnStore, name: str) -> list[str]:
        """The distinct texts of a column among the file's rows, in no set order (a dict over the
        codes: for a file's few rows, cheaper than `np.unique`)."""
        return store.strings[name].texts(list(dict.fromkeys(store.values(self.chunk, name).tolist())))

    def name_model(self, model: str, store: ColumnStore) -> None:
        """Rows (and claims) that name no model are this model's."""
        store.rename(self.chunk, "model", "", model)
        self.claims.name_model(self.claim_chunk, model)


# ------------------------------------------------------------------------------- model names
_RUN_SUFFIXES = re.compile(
    r"(_(baseline|param_tuning|param_tuning_summary|benchmark|benchmark_runs|benchmark_summary|runs|"
    r"summary|results|fixed|bench|quant_bench|test_results|inference))+$")


def _stem_key(rel: str) -> str:
    stem = file_stem(rel).lower()
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
    unnamed: list[tuple[str, tuple[str, str]]] = []
    origins: dict[str, str] = {}  # each origin text once (10,000 files: most name the same few models)
    for rel, rows in per_file.items():
        names = {*rows.read_models, *rows.claims.models(rows.claim_chunk)}
        models = names - {""}
        unnamed_rows = "" in names
        if len(models) != 1 and not unnamed_rows:
            continue
        key = (parent(rel), _stem_key(rel))  # (a regular expression or two: found once a file)
        if len(models) == 1:
            by_dir_key.setdefault(key, set()).update(models)
        if unnamed_rows:
            unnamed.append((rel, key))
    for rel, key in unnamed:
        sibling = by_dir_key.get(key, set())
        if len(sibling) == 1:
            model, origin = next(iter(sibling)), "sibling file"
        else:
            model, origin = model_from_stem(key[1]), "file name"
        if not model:
            continue
        per_file[rel].name_model(model, store)
        text = f"{origin}: {model}"
        inventory.model_origin[rel] = origins.setdefault(text, text)


# ------------------------------------------------------------------------------- re-exports
def _drop_reexports(per_file: dict[str, _FileRows], inventory: Inventory, store: ColumnStore) -> None:
    """The same tool records in several files (a nested re-export, a sweep's per-run files and its
    summary, a profile's JSON and CSV) are counted once. Files holding more records go first, then
    those recording more context, so the copy kept is the most complete; a file all of whose records
    were read elsewhere is listed as a duplicate, one that shares only some of them keeps the rest."""
    # each file's decoded once, and only a file with some fingerprint is decoded row by row (no row
    # is dropped before this pass: what the file's rows held as read is what they hold)
    prints = {rel: rows.prints(store) for rel, rows in per_file.items() if rows.printed}
    if len(prints) < 2:
        return
    keys = {rel: _context_keys(per_file[rel], store) for rel in prints}
    order = sorted(prints, key=lambda rel: (-len(set(prints[rel]) - {""}), -len(keys[rel]),
                                            _FORMAT_RANK.get(suffix(rel).lower(), 9), rel))
    covered: dict[str, str] = {}
    for rel in order:
        owners = Counter(covered[p] for p in prints[rel] if p and p in covered)
        if owners:
            _drop_covered(rel, per_file[rel], prints[rel], covered, owners, keys, inventory, store)
        for print_ in prints[rel]:
            if print_:
                covered.setdefault(print_, rel)


# Between copies equal in records and context: JSON keeps full precision, CSV and text are rounded.
_FORMAT_RANK = {".json": 0, ".jsonl": 1, ".ndjson": 1, ".csv": 2, ".tsv": 2, ".md": 3}


def _drop_covered(rel: str, rows: _FileRows, prints: list[str], covered: dict[str, str], owners: Counter[str],
                  keys: dict[str, set[str]], inventory: Inventory, store: ColumnStore) -> None:
    kept = owners.most_common(1)[0][0]
    remaining = [i for i, p in enumerate(prints) if p and p not in covered]
    unprinted = [i for i, p in enumerate(prints) if not p]
    if not remaining and not unprinted:
        rows.keep([], store)
        inventory.duplicates.append((kept, rel))
        inventory.parsed[rel] = f"duplicate records of {kept}"
        extra = sorted(keys[kept] - keys[rel])
        more = (f"; {kept} is kept because it records more context ({', '.join(extra)})" if extra
                else f"; {kept} is kept (it holds at least as many records and as much context)")
        inventory.duplicate_reasons[rel] = f"the same records as {kept}{more}"
        return
    rows.keep(sorted(remaining + unprinted), store)
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
    only files that can be twins are compared value by value: linear in the number of files. Only a
    hash of each file's signature is kept while bucketing (and the records of the first files, up to
    `_HELD_RECORDS`: a small archive's are not made twice); the records are read again for the other
    files that share a bucket.
    """
    buckets: dict[tuple[int, frozenset[str], int], list[str]] = {}
    held: dict[str, tuple[tuple, list[dict[str, float]]]] = {}  # rel -> (signature, records)
    room = _HELD_RECORDS
    rels = sorted(per_file)
    # what `_signature` finds too: no successful request (most files)
    some = store.kept_any_each([per_file[rel].chunk for rel in rels], successful_requests(store))
    for rel, any_successful in zip(rels, some, strict=True):
        if not any_successful:
            continue
        found = _signature(per_file[rel].chunk, store)
        if found is not None:
            size, models, signature, rows = found
            buckets.setdefault((size, models, hash(signature)), []).append(rel)
            if size <= room:
                held[rel] = signature, rows
                room -= size
    twins: list[tuple[str, str]] = []
    for files in buckets.values():
        if len(files) < 2:
            continue
        exact: dict[tuple, list[tuple[str, list[dict[str, float]]]]] = {}
        for rel in files:
            if rel in held:
                signature, rows = held[rel]
            else:
                _size, _models, signature, rows = _signature(per_file[rel].chunk, store) or (0, frozenset(), (), [])
            exact.setdefault(signature, []).append((rel, rows))
        for group in exact.values():
            twins.extend(_twins_in(group))
    return twins


# request records `_find_twins` keeps from its first pass to its second (~0.5 KB each: at most ~2 MB;
# a larger archive's other files that share a bucket have their records made again)
_HELD_RECORDS = 4096


def successful_requests(store: ColumnStore) -> np.ndarray:
    """Whether each row is a successful request, found once for the archive (most files hold none:
    then a slice's `any` is all the twin search costs them)."""
    return (store.column("kind") == store.strings["kind"].code("request")) & ~store.column("failed")


def _signature(chunk: Chunk, store: ColumnStore) -> tuple[int, frozenset[str], tuple, list[dict[str, float]]] | None:
    """(request count, models, each request's signature, the requests) of a file; None when it has
    no successful request (failed rows hold placeholder zeros: two failed runs are not the same)."""
    request = store.strings["kind"].code("request")
    requests = np.flatnonzero(store.values(chunk, "kind") == request)
    if store.values(chunk, "failed")[requests].all():
        return None
    rows = _request_records(chunk, requests, store)
    models = frozenset(store.strings["model"].texts(list(set(store.values(chunk, "model")[requests].tolist()))))
    return len(rows), models, tuple(_row_signature(r) for r in rows), rows


def _twins_in(files: list[tuple[str, list[dict[str, float]]]]) -> list[tuple[str, str]]:
    twins: list[tuple[str, str]] = []
    taken: set[str] = set()
    for i, (a, ra) in enumerate(files):
        if a in taken:
            continue
        for b, rb in files[i + 1:]:
            if b not in taken and _same_records(ra, rb):
                twins.append((a, b))
                taken.add(b)
    return twins


def _request_records(chunk: Chunk, requests: np.ndarray, store: ColumnStore) -> list[dict[str, float]]:
    """The file's requests in record order, each as {metric: value}.

    A request's key (its id after the last '#') is found once per distinct id, not once per row;
    the records are made in the order their first row comes, as the rows are read."""
    numbers: dict[int, int] = {}  # each distinct id's code -> its number, in the order ids first come
    inverse = [numbers.setdefault(code, len(numbers)) for code in store.values(chunk, "request_id")[requests].tolist()]
    keys = [text.rsplit("#", 1)[-1] for text in store.strings["request_id"].texts(list(numbers))]
    by_request: dict[str, dict[str, float]] = {}
    records = [by_request.setdefault(key, {}) for key in keys]  # per distinct id: its request's record
    metric_names = store.strings["metric"].texts(range(len(store.strings["metric"])))
    metrics = store.values(chunk, "metric")[requests].tolist()
    for number, metric, value in zip(inverse, metrics, store.values(chunk, "value")[requests].tolist(), strict=True):
        records[number][metric_names[metric]] = value
    # plain record indices (most files): their numbers order them as `_row_order`'s one-part tuples do
    order = int if all(key.isdigit() for key in by_request) else _row_order
    return [by_request[k] for k in sorted(by_request, key=order)]


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
