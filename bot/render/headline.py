"""The headline: the few figures a Slack summary shows, each tied to the fact it comes from.

Built from the facts (never recomputed), written into the JSON document under ``"headline"`` and
read back from it (a stored run's summary), so Slack callouts always equal the report's facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BestThroughput:
    """One configuration's median throughput (never a model-level roll-up), with its noise verdict
    against the runner-up configuration."""

    model: str
    config: str
    value: float
    unit: str
    fact_id: str
    n: int | None = None
    values: dict[str, str] = field(default_factory=dict)  # the configuration as {dimension: value}
    separable: bool = False  # whether it stands out from the runner-up beyond the noise
    noise: str = ""  # the noise verdict in words


@dataclass(frozen=True)
class TtftCallout:
    model: str
    p50: float
    p95: float | None
    fact_ids: tuple[str, ...]


@dataclass(frozen=True)
class Headline:
    best_throughput: BestThroughput | None = None
    ttft_ms: TtftCallout | None = None
    failed_requests: int = 0
    total_requests: int = 0
    skipped_files: int = 0
    ungrounded_numbers: int = 0
    claim_mismatches: int = 0
    narrative_rejected: bool = False  # the model's text failed the quality gate: nothing of it is posted

    def to_json(self) -> dict[str, Any]:
        best, ttft = self.best_throughput, self.ttft_ms
        return {
            "best_throughput": None if best is None else {
                "model": best.model, "config": best.config, "value": best.value, "unit": best.unit,
                "fact_id": best.fact_id, "n": best.n, "values": dict(best.values), "separable": best.separable,
                "noise": best.noise},
            "ttft_ms": None if ttft is None else {
                "model": ttft.model, "p50": ttft.p50, "p95": ttft.p95, "fact_ids": list(ttft.fact_ids)},
            "failed_requests": self.failed_requests,
            "total_requests": self.total_requests,
            "skipped_files": self.skipped_files,
            "ungrounded_numbers": self.ungrounded_numbers,
            "claim_mismatches": self.claim_mismatches,
            "narrative_rejected": self.narrative_rejected,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Headline:
        """Read back a headline document (a stored run's); missing or odd parts become empty."""
        best = data.get("best_throughput")
        ttft = data.get("ttft_ms")
        return cls(
            best_throughput=BestThroughput(
                model=str(best.get("model") or ""), config=str(best.get("config") or ""),
                value=float(best["value"]), unit=str(best.get("unit") or "tok/s"),
                fact_id=str(best.get("fact_id") or ""),
                n=int(best["n"]) if _is_number(best.get("n")) else None,
                values={str(k): str(v) for k, v in (best.get("values") or {}).items()}
                if isinstance(best.get("values"), Mapping) else {},
                separable=bool(best.get("separable")), noise=str(best.get("noise") or ""),
            ) if isinstance(best, Mapping) and _is_number(best.get("value")) else None,
            ttft_ms=TtftCallout(
                model=str(ttft.get("model") or ""), p50=float(ttft["p50"]),
                p95=float(ttft["p95"]) if _is_number(ttft.get("p95")) else None,
                fact_ids=tuple(str(f) for f in ttft.get("fact_ids") or ()),
            ) if isinstance(ttft, Mapping) and _is_number(ttft.get("p50")) else None,
            failed_requests=_count(data.get("failed_requests")),
            total_requests=_count(data.get("total_requests")),
            skipped_files=_count(data.get("skipped_files")),
            ungrounded_numbers=_count(data.get("ungrounded_numbers")),
            claim_mismatches=_count(data.get("claim_mismatches")),
            narrative_rejected=data.get("narrative_rejected") is True,
        )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
