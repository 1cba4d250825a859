"""Analysis: tidy measurements -> statistics, comparisons, claim checks and numbered facts.

Pure pandas; never mutates the caller's frames. Failed requests are counted and reported and never
enter a statistic; cold starts are separated from warm requests for TTFT.

Statistics are per configuration (`groups.config_groups`: one row per model, metric, configuration
and kind); a model-level figure (`ModelStats`) is an explicit roll-up over the model's
configurations and says which dimensions it spans. Comparisons set whole configurations against
each other; nothing is pooled across a dimension that varies.
"""

from __future__ import annotations

from bot.core.analysis.claims import ClaimCheck, check_claims
from bot.core.analysis.configs import SIGNIFICANCE, comparisons, config_table
from bot.core.analysis.facts import build_facts
from bot.core.analysis.groups import aggregate_rows, config_groups, rows_of_kind, value_index, with_group_model
from bot.core.analysis.models import model_stats
from bot.core.analysis.rankings import check_rankings
from bot.core.analysis.requests import RequestRows, request_frame
from bot.core.analysis.results import Analysis, ConfigComparison, ModelStats
from bot.core.codes import column_array
from bot.core.dimensions import UNNAMED_MODEL, dimensions_of
from bot.core.types import IngestResult

__all__ = [
    "SIGNIFICANCE",
    "UNNAMED_MODEL",
    "Analysis",
    "ClaimCheck",
    "ConfigComparison",
    "ModelStats",
    "analyze",
]



def analyze(ingest: IngestResult) -> Analysis:
    measurements = with_group_model(ingest.measurements)
    dimensions = ingest.dimensions or dimensions_of(ingest.measurements)
    rows = RequestRows(measurements)  # the request and sample rows, found once for the next two steps
    requests = request_frame(measurements, rows)  # (its models grouped already: request_frame groups them the same)
    groups = config_groups(measurements, requests=rows, cold_requests=column_array(requests, "cold_start", dtype=bool))
    codes = rows.codes  # (per request: the codes of its texts)
    del rows  # (a number per row)
    models = model_stats(requests, measurements, groups, dimensions, codes)
    generic = rows_of_kind(measurements, "generic")
    aliases: dict[str, list[str]] = {}
    for kept, duplicate in ingest.inventory.duplicates:
        aliases.setdefault(kept, []).append(duplicate)
    checks, unverifiable = check_claims(ingest.claims, requests, generic, aliases, codes)
    # What the claim checks do not read is made after them, so that it is not held through their
    # peak, the analysis' highest (the aggregates' text columns and the configuration table's
    # joined sources: ~6 bytes per measurement row at 10,000 files)
    configs = config_table(requests, codes)
    index = value_index(measurements)
    found = comparisons(groups, index)
    aggregates = aggregate_rows(measurements)
    analysis = Analysis(requests=requests, models=models, configs=configs, comparisons=found,
                        generic=generic, aggregates=aggregates, claim_checks=checks,
                        claims_unverifiable=unverifiable, groups=groups, dimensions=dimensions,
                        measurements=measurements, values=index)
    analysis.rankings = check_rankings(ingest.rankings, analysis)
    analysis.facts = build_facts(analysis, ingest.inventory)  # facts read the finished analysis
    index.release()
    return analysis
