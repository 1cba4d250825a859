"""Chart PNG for the thread: median throughput and TTFT p50 per model.

Uses matplotlib's object API with the Agg canvas (no pyplot global state), so it is safe to call
from worker threads and never opens a window.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _stat(model: Mapping[str, Any], metric: str, key: str) -> float | None:
    value = (model.get(metric) or {}).get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def throughput_ttft_png(models: Sequence[Mapping[str, Any]], *, title: str = "") -> bytes | None:
    """Two horizontal bar charts from the JSON contract's ``models`` list; None when neither
    throughput nor TTFT is known for any model (nothing worth drawing)."""
    rows = [
        (str(m.get("model") or "?"), _stat(m, "throughput_tok_s", "median"), _stat(m, "ttft_ms", "median"))
        for m in models
    ]
    rows = [r for r in rows if r[1] is not None or r[2] is not None]
    if not rows:
        return None
    rows.sort(key=lambda r: r[1] or 0.0)
    names = [r[0] if len(r[0]) <= 40 else r[0][:39] + "…" for r in rows]
    height = 1.6 + 0.35 * len(rows)
    fig = Figure(figsize=(11, min(height, 30)), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharey=True)
    positions = list(range(len(rows)))
    left.barh(positions, [r[1] or 0.0 for r in rows], color="#2b8cbe")
    left.set_title("Median throughput (tok/s, higher is better)")
    right.barh(positions, [r[2] or 0.0 for r in rows], color="#e6550d")
    right.set_title("Median TTFT (ms, lower is better)")
    left.set_yticks(positions, labels=names)
    for axis, index in ((left, 1), (right, 2)):
        for pos, row in zip(positions, rows, strict=True):
            if row[index] is None:
                axis.text(0, pos, " n/a", va="center", fontsize=8, color="#666666")
        axis.grid(axis="x", alpha=0.3)
    if title:
        fig.suptitle(title[:120])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
