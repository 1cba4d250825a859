"""NVIDIA GenAI-Perf and AIPerf profile exports.

- ``profile_export_genai_perf.json`` / ``profile_export_aiperf.json``: one object per metric
  ``{"unit", "avg", "p1"…"p99", "min", "max", "std"}``; every statistic is the tool's aggregate with
  n = ``request_count``. ``input_config`` (flattened: endpoint, stimulus, loadgen, synthetic token
  counts) is context; the model is ``model_names`` (the first of them).
- ``profile_export_genai_perf.csv`` / ``profile_export_aiperf.csv``: the same figures as text
  ("Time To First Token (ms),avg,min,…" then a blank line and "Metric,Value" system rows); the unit is
  read from the row's label.
- AIPerf ``profile_export.jsonl``: one request per line (``metrics.<tag>.value`` with its unit);
  a non-null ``error`` is a failed request. ``metadata`` ids and timestamps are identifiers.

Metric names: request_latency -> latency_ms, time_to_first_token -> ttft_ms, inter_token_latency ->
itl_ms, output_token_throughput_per_user -> throughput_tok_s (one user's generation speed),
output_token_throughput -> output_throughput_tok_s (the server's), request_throughput ->
request_throughput_req_s, output/input_sequence_length -> token counts. A unit that is not known
(anything but ms/s/ns/us, tokens/sec[/user], requests/sec, tokens) is not read and the file says so.
GenAI-Perf summaries report no failed requests; AIPerf's ``error_request_count`` is a request count.
The artifact folder's name (``<model>-<service>-<backend>-<stimulus>``) is the ``folder`` dimension.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import PurePosixPath
from typing import Any

from bot.core.context import split_fields
from bot.core.ingest.tools.base import RowWriter, SourceFile, ToolRead, number

NAME = "genai-perf"
_TAGS = {
    "request_latency": "latency_ms",
    "time_to_first_token": "ttft_ms",
    "inter_token_latency": "itl_ms",
    "output_token_throughput_per_user": "throughput_tok_s",
    "output_token_throughput": "output_throughput_tok_s",
    "request_throughput": "request_throughput_req_s",
    "output_sequence_length": "output_tokens",
    "input_sequence_length": "prompt_tokens",
}
_UNITS = {"ms": 1.0, "msec": 1.0, "s": 1000.0, "sec": 1000.0, "ns": 1e-6, "us": 1e-3, "µs": 1e-3,
          "tokens/sec": 1.0, "tokens/s": 1.0, "tokens/sec/user": 1.0, "requests/sec": 1.0, "per sec": 1.0,
          "requests/s": 1.0, "tokens": 1.0}
_TIME = {"latency_ms", "ttft_ms", "itl_ms"}
_RATE_UNITS = {"tokens/sec", "tokens/s", "tokens/sec/user", "requests/sec", "per sec", "requests/s"}
_SYSTEM = {"request_throughput_req_s", "output_throughput_tok_s"}
_STATS = ("avg", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "min", "max", "std")
_CSV_LABEL = re.compile(r"^(?P<name>.+?)\s*(?:\((?P<unit>[^)]*)\))?\s*$")
_NOT_CONTEXT = {"artifact_directory", "profile_export_file", "model_names", "url"}


def _statistic(key: str) -> str:
    return {"avg": "mean", "p50": "median"}.get(key, key)


def _conversion(metric: str, unit: str) -> float | None:
    """Factor to the canonical unit, or None when the unit is unknown or does not fit the metric."""
    unit = unit.strip().lower()
    if unit not in _UNITS:
        return None
    if metric in _TIME and unit in _RATE_UNITS | {"tokens"}:
        return None
    if metric not in _TIME and unit not in _RATE_UNITS | {"tokens"}:
        return None
    return _UNITS[unit]


def _is_profile(doc: Any) -> bool:
    return isinstance(doc, dict) and any(
        isinstance(doc.get(tag), dict) and "unit" in doc[tag] for tag in ("request_latency", "time_to_first_token",
                                                                          "request_throughput"))


def _is_request_line(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("metrics"), dict) and isinstance(obj.get("metadata"), dict)


class GenAiPerf:
    name = NAME

    def detect(self, file: SourceFile) -> float:
        if file.fmt == "json" and _is_profile(file.parsed):
            return 0.95
        if file.fmt == "csv" and file.text.lstrip()[:11].lower() == "metric,avg,":  # (not the whole text lowered)
            name = PurePosixPath(file.rel).name.lower()
            return 0.95 if "profile_export" in name or "Time To First Token" in file.head or "Request Latency" in \
                file.head else 0.6
        if file.fmt in ("jsonl", "json"):
            objs, _ = file.objects()
            return 0.9 if objs and all(_is_request_line(o) for o in objs[:20]) else 0.0
        return 0.0

    def read(self, file: SourceFile) -> ToolRead:
        if file.fmt == "csv":
            return _read_csv(file)
        if file.fmt == "json" and _is_profile(file.parsed):
            return _read_profile(file, file.parsed)
        return _read_requests(file)


ADAPTER = GenAiPerf()


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(node, list) and all(not isinstance(x, (dict, list)) for x in node):
        out[prefix[:-1]] = ",".join(str(x) for x in node)
    elif not isinstance(node, list):
        out[prefix[:-1]] = node
    return out


def _config(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(model, flattened input_config without paths)."""
    config = doc.get("input_config") if isinstance(doc.get("input_config"), dict) else {}
    flat = _flatten(config)
    model = ""
    for key, value in flat.items():
        if key.rsplit(".", 1)[-1] == "model_names" and value:
            model = str(value).split(",")[0]
    return model, {k: v for k, v in flat.items() if k.rsplit(".", 1)[-1] not in _NOT_CONTEXT}


def _read_profile(file: SourceFile, doc: dict[str, Any]) -> ToolRead:
    out = ToolRead()
    model, config = _config(doc)
    dims, idents = split_fields([config])
    writer = RowWriter(file.rel, tool=NAME)
    ctx = writer.context(dims[0], idents[0])
    count = number((doc.get("request_count") or {}).get("avg")) if isinstance(doc.get("request_count"), dict) else None
    n = count if count is not None else math.nan
    for tag, metric in _TAGS.items():
        entry = doc.get(tag)
        if not isinstance(entry, dict):
            continue
        factor = _conversion(metric, str(entry.get("unit", "")))
        if factor is None:
            out.warnings.append(f"{tag}: unit {entry.get('unit')!r} not known for {metric}; not read")
            continue
        for key in _STATS:
            value = number(entry.get(key))
            if value is not None:
                _add(writer, model, metric, value * factor, _statistic(key), n, ctx, f"{tag} {key}")
    if not _has_request_rows(file):
        errors = doc.get("error_request_count")
        _counts(writer, model, ctx, count, number(errors.get("avg")) if isinstance(errors, dict) else number(errors))
    out.measurements = writer.rows
    return out


def _has_request_rows(file: SourceFile) -> bool:
    """AIPerf saved its per-request records beside the summary: they count the requests, not it."""
    folder = PurePosixPath(file.rel).parent
    jsonl = str(folder / "profile_export.jsonl") if str(folder) != "." else "profile_export.jsonl"
    return jsonl in file.paths


def _add(writer: RowWriter, model: str, metric: str, value: float, statistic: str, n: float, ctx: tuple[str, str],
         what: str) -> None:
    """One aggregate; its print (metric, statistic, value as the CSV export rounds it) finds the same
    figures exported twice (``profile_export_*.json`` and ``.csv``)."""
    if metric in _SYSTEM and statistic in ("mean", "value"):
        statistic = "rate"  # a run's requests or tokens per second: one figure, not an average
    writer.add(row=0, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate", statistic=statistic, n=n,
               definition=f"{what} as reported by GenAI-Perf/AIPerf", print_=_print(writer, metric, statistic, value))


def _print(writer: RowWriter, metric: str, statistic: str, value: float) -> str:
    """The same figure in the JSON and the CSV export of one run (same folder, CSV rounding)."""
    return f"{PurePosixPath(writer.source).parent}|{metric}|{statistic}|{value:.2f}"


def _counts(writer: RowWriter, model: str, ctx: tuple[str, str], completed: float | None,
            failed: float | None) -> None:
    for metric, value in (("requests_completed", completed), ("requests_failed", failed)):
        if value is not None:
            writer.add(row=0, model=model, metric=metric, value=value, ctx=ctx, kind="aggregate", statistic="count",
                       definition=f"{metric.replace('_', ' ')} as counted by GenAI-Perf/AIPerf",
                       print_=_print(writer, metric, "count", value))


_CSV_TAGS = {re.sub(r"[^a-z]+", " ", tag.replace("_", " ")).strip(): metric for tag, metric in _TAGS.items()}


def _read_csv(file: SourceFile) -> ToolRead:
    out = ToolRead()
    writer = RowWriter(file.rel, tool=NAME)
    model, p_dims, p_ids, out.model_origin = _sibling_profile(file)
    ctx = writer.context(p_dims, p_ids)
    header: list[str] = []
    counts: dict[str, float] = {}
    for cells in csv.reader(io.StringIO(file.text)):
        if not cells or not any(c.strip() for c in cells):
            header = []
            continue
        if cells[0].strip().lower() == "metric":
            header = [c.strip().lower() for c in cells]
            continue
        label = _CSV_LABEL.match(cells[0].strip())
        if not header or label is None:
            continue
        name = label.group("name").strip().lower()
        unit = (label.group("unit") or "").strip()
        _csv_row(writer, out, ctx, header, cells, name, unit, counts, model)
    if not _has_request_rows(file):
        _counts(writer, model, ctx, counts.get("request count"), counts.get("error request count"))
    out.measurements = writer.rows
    if not writer.rows:
        out.skip = "GenAI-Perf/AIPerf CSV without readable metrics"
    return out


def _csv_row(writer: RowWriter, out: ToolRead, ctx: tuple[str, str], header: list[str], cells: list[str],
             name: str, unit: str, counts: dict[str, float], model: str) -> None:
    if name in ("request count", "error request count"):
        value = number(cells[1]) if len(cells) > 1 else None
        if value is not None:
            counts[name] = value
        return
    metric = _CSV_TAGS.get(name.replace("per sec", "").strip()) or _CSV_TAGS.get(name)
    if metric is None:
        return
    if metric == "request_throughput_req_s" and unit.lower() in ("per sec", "requests/sec", ""):
        unit = "requests/sec"
    factor = _conversion(metric, unit or ("tokens" if metric.endswith("tokens") else ""))
    if factor is None:
        out.warnings.append(f"{name}: unit {unit!r} not known for {metric}; not read")
        return
    for key, raw in zip(header[1:], cells[1:], strict=False):
        value = number(raw)
        statistic = "value" if key == "value" else _statistic(key)
        if value is not None:
            _add(writer, model, metric, value * factor, statistic, math.nan, ctx, f"{name} {key}")


def _sibling_profile(file: SourceFile) -> tuple[str, dict[str, str], dict[str, str], str]:
    """(model, dims, identifiers, origin) from the JSON profile export in the same artifact folder."""
    folder = PurePosixPath(file.rel).parent
    for name in ("profile_export_aiperf.json", "profile_export_genai_perf.json"):
        rel = str(folder / name) if str(folder) != "." else name
        if rel == file.rel:
            continue
        doc = file.sibling_json(rel)
        if _is_profile(doc):
            model, config = _config(doc)
            dims, idents = split_fields([config])
            return model, dims[0], idents[0], f"sibling file {rel}: {model}" if model else ""
    return "", {}, {}, ""


def _read_requests(file: SourceFile) -> ToolRead:
    """AIPerf per-request records."""
    out = ToolRead()
    objs = [o for o in file.objects()[0] if _is_request_line(o)]
    metas = [o["metadata"] for o in objs]
    ids = ("worker_id", "record_processor_id", "request_start_ns", "request_ack_ns", "request_end_ns")
    dims, idents = split_fields([{k: v for k, v in m.items() if k not in ids} for m in metas],
                                skip={"was_cancelled", "cancellation_time_ns"})
    for row, meta in enumerate(metas):
        idents[row].update({k: str(meta[k]) for k in ids if meta.get(k) is not None})
    model, p_dims, p_ids, out.model_origin = _sibling_profile(file)
    writer = RowWriter(file.rel, tool=NAME)
    for row, obj in enumerate(objs):
        ctx = writer.context({**p_dims, **dims[row]}, {**p_ids, **idents[row]})
        error = obj.get("error")
        reason = _error_text(error) if error else ("cancelled" if obj["metadata"].get("was_cancelled") else "")
        wrote = False
        for tag, metric in _TAGS.items():
            entry = obj["metrics"].get(tag)
            if not isinstance(entry, dict):
                continue
            factor = _conversion(metric, str(entry.get("unit", "")))
            value = number(entry.get("value"))
            if factor is None or value is None:
                continue
            writer.add(row=row, model=model, metric=metric, value=value * factor, ctx=ctx, kind="request",
                       failed=bool(reason), error=reason, definition=f"{tag} (AIPerf)")
            wrote = True
        if not wrote:
            writer.add(row=row, model=model, metric="ttft_ms", value=math.nan, ctx=ctx, kind="request",
                       failed=True, error=reason or "no metrics recorded")
    out.measurements = writer.rows
    return out


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        code = error.get("code")
        text = " ".join(str(error.get(k) or "") for k in ("type", "message")).strip()
        return (f"error {code}: {text}" if code is not None else text)[:300]
    return str(error)[:300]
