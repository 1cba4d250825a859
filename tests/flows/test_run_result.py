"""`RunResult`: what one analysis hands its trigger."""

from __future__ import annotations

from bot.render.report import build_json
from tests.factories import run_result


def test_the_json_document_is_built_when_first_asked_for_and_once() -> None:
    """`chimera analyze` without --json never builds the document; whoever asks gets the one document
    `build_json` gives, with every timing of the run."""
    result = run_result("nightly.tar.gz")
    assert "data" not in vars(result)  # not built by the run itself
    data = result.data
    assert result.data is data
    expected = build_json(archive="nightly.tar.gz", analysis=result.analysis, inventory=result.ingest.inventory,
                          narrative=result.narrative, timings_s=result.timings_s)
    assert {k: v for k, v in data.items() if k != "generated_at"} == {
        k: v for k, v in expected.items() if k != "generated_at"}
    assert set(data["timings_s"]) == {"fetch", "ingest", "analysis", "report"}
    assert result.headline.to_json() == data["headline"]
