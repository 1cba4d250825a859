"""The whole job as one call: archive -> ingest -> analyze -> narrate -> render.

Every trigger (CLI, slash command, schedule, thread question) goes through `Pipeline.run`.
CONTRACT (stable; the Slack layer depends on it):

    Pipeline(settings=..., archives=..., chat=...).run(target, *, use_llm=True,
                                                       allow_local_paths=False, progress=None) -> RunResult

- ``target``: an archive name resolved inside the archive source's storage roots; with
  ``allow_local_paths`` (CLI only) also any local path.
- ``progress``: called with short human strings ("fetched", "42 files ingested", "analyzed",
  "writing summary") as the run advances; must be cheap, may be called from the worker thread.
- Raises `bot.errors.ArchiveError` (a user-facing message) for a missing/unsafe/broken archive.
  Ollama problems never raise: the report says why the narrative is missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.analysis import Analysis, analyze
from bot.core.ingest import ingest_tree
from bot.core.limits import IngestLimits, ReportCaps, cap_report
from bot.core.narrative import Narrative
from bot.core.types import Fact, IngestResult
from bot.render.headline import Headline
from bot.render.report import build_json, render_footer, render_markdown
from bot.render.summary import DataSummary, data_summary
from bot.settings import Settings

if TYPE_CHECKING:  # the narrative's modules load with the first narrative (`chimera analyze --no-llm` needs none)
    from bot.core.prompts.budget import TokenEstimator
    from bot.flows.ports import ArchiveSource, ChatModel, Progress  # annotations only: its Protocols cost ~2 ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """Everything one analysis produced; what the flows deliver and store."""

    archive_name: str
    ingest: IngestResult
    analysis: Analysis
    narrative: Narrative
    report_md: str
    data: dict[str, Any]  # the JSON document (see README "JSON output")
    timings_s: dict[str, float]

    @property
    def facts(self) -> list[Fact]:
        return self.analysis.facts

    @property
    def headline(self) -> Headline:
        return Headline.from_json(self.data.get("headline") or {})

    @property
    def summary(self) -> DataSummary:
        """The summary written from the data by rules (what Slack shows without the model's text)."""
        return DataSummary.from_json(self.data.get("data_summary"))

    @property
    def files_total(self) -> int:
        return self.ingest.inventory.files_total


def ingest_limits(settings: Settings) -> IngestLimits:
    """The rows, cells and measurements one job may read (README "Limits")."""
    return IngestLimits(max_file_rows=settings.max_file_rows, max_file_cells=settings.max_file_cells,
                        max_job_measurements=settings.max_job_measurements)


class RunsAnalyses(Protocol):
    """What the flows need of the pipeline (tests may script it, returning real `RunResult`s)."""

    def run(self, target: str, *, use_llm: bool = True, allow_local_paths: bool = False,
            progress: Progress | None = None) -> RunResult: ...


class Pipeline:
    """The analysis, wired once with its ports (see the module docstring)."""

    def __init__(self, *, settings: Settings, archives: ArchiveSource, chat: ChatModel) -> None:
        self.settings = settings
        self.archives = archives
        self.chat = chat
        self._estimator: TokenEstimator | None = None

    @property
    def estimator(self) -> TokenEstimator:
        """One per pipeline (so per process): what a call teaches it holds for the next."""
        if self._estimator is None:
            from bot.core.prompts.budget import TokenEstimator

            self._estimator = TokenEstimator()
        return self._estimator

    def run(self, target: str, *, use_llm: bool = True, allow_local_paths: bool = False,
            progress: Progress | None = None) -> RunResult:
        say = progress or (lambda _text: None)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        with self.archives.open(target, allow_local_paths=allow_local_paths) as tree:
            timings["fetch"] = time.perf_counter() - started
            say("fetched")
            t0 = time.perf_counter()

            def ingest_progress(done: int, total: int) -> None:
                say(f"{done} of {total} files ingested")

            ingest = ingest_tree(tree.root, files=tree.files, max_file_bytes=self.settings.max_file_bytes,
                                 pre_skipped=tree.skipped, progress=ingest_progress,
                                 workers=self.settings.ingest_workers or None,
                                 limits=ingest_limits(self.settings))
            ingest = cap_report(ingest, ReportCaps(max_models=self.settings.max_report_models,
                                                   max_configurations=self.settings.max_report_configurations))
            timings["ingest"] = time.perf_counter() - t0
        say(f"{ingest.inventory.files_total} files ingested")
        t0 = time.perf_counter()
        analysis = analyze(ingest)
        timings["analysis"] = time.perf_counter() - t0
        say("analyzed")
        return self.finish(tree.name, ingest, analysis, use_llm=use_llm, progress=say, timings=timings)

    def finish(self, archive_name: str, ingest: IngestResult, analysis: Analysis, *, use_llm: bool,
               progress: Progress, timings: dict[str, float]) -> RunResult:
        """Narrate (or skip it) and render; shared by every trigger once the data is analyzed."""
        if use_llm:
            from bot.flows.narrate import narrate

            progress("writing summary")
            t0 = time.perf_counter()
            narrative = narrate(analysis.facts, chat=self.chat, on_progress=progress, estimator=self.estimator)
            timings["narrative"] = time.perf_counter() - t0
            if narrative.status != "ok":
                log.warning("narrative %s: %s", narrative.status, narrative.reason)
        else:
            narrative = Narrative.skipped("skipped on request (--no-llm)")
        return render_run(archive_name, ingest, analysis, narrative, timings=timings)


def render_run(archive_name: str, ingest: IngestResult, analysis: Analysis, narrative: Narrative, *,
               timings: dict[str, float]) -> RunResult:
    """The report and JSON document of a finished analysis."""
    t0 = time.perf_counter()
    summary = data_summary(analysis)
    body = render_markdown(archive=archive_name, analysis=analysis, inventory=ingest.inventory,
                           narrative=narrative, summary=summary)
    timings["report"] = time.perf_counter() - t0
    report_md = body + "\n" + render_footer(narrative, timings)
    data = build_json(archive=archive_name, analysis=analysis, inventory=ingest.inventory,
                      narrative=narrative, timings_s=timings, summary=summary)
    return RunResult(archive_name=archive_name, ingest=ingest, analysis=analysis, narrative=narrative,
                     report_md=report_md, data=data, timings_s=timings)
