"""Peak memory, measured in a process of its own (the memory tests and bench/ run this).

    python -m tests.memory_probe http      # an HTTP-mode bot; prints "PORT <n>", then answers
                                           # "hwm" on stdin with "HWM <kB> RSS <kB>"
    python -m tests.memory_probe extract ARCHIVE WORK_DIR
                                           # opens ARCHIVE with bot.adapters.extract.open_archive;
                                           # prints one JSON line: peak RSS before/after, outcome
    python -m tests.memory_probe job ARCHIVE WORK_DIR [SETTING=VALUE ...]
                                           # one whole analysis (the real pipeline, no model) of
                                           # ARCHIVE; one JSON line: peak RSS before/after, seconds,
                                           # requests, models, skipped files

Peak RSS is the kernel's high-water mark (``VmHWM`` in /proc/self/status, falling back to
``ru_maxrss``), so a short spike between two readings is still seen.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path


def peak_and_current_kb() -> tuple[int, int]:
    """(VmHWM, VmRSS) of this process in kB."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
                      if ":" in line)
        return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak


def serve_http() -> None:
    from bot.app import build_app, build_services, stop_services
    from bot.serve import HttpServer, make_wsgi_app
    from tests.slack_support import ScriptedRun, bot_settings
    from tests.standins.slack_api import SlackApiStandin

    with SlackApiStandin() as standin, tempfile.TemporaryDirectory(prefix="chimera-probe-") as tmp:
        settings = bot_settings(standin, database_url=f"sqlite:///{tmp}/bot.sqlite3",
                                max_request_bytes=1024 * 1024)
        services = build_services(settings, pipeline=ScriptedRun(), health=lambda: "Ollama: stand-in")
        server = HttpServer(make_wsgi_app(build_app(settings, services), services), host="127.0.0.1", port=0,
                            max_request_bytes=settings.max_request_bytes)
        server.start()
        print(f"PORT {server.port}", flush=True)
        for line in sys.stdin:
            if line.strip() == "hwm":
                peak, current = peak_and_current_kb()
                print(f"HWM {peak} RSS {current}", flush=True)
            elif line.strip() == "quit":
                break
        server.stop()
        stop_services(services, grace_s=1)


def extract(archive: str, work_dir: str) -> None:
    from bot.adapters.extract import open_archive
    from bot.errors import ChimeraError
    from tests.factories import make_settings

    settings = make_settings(work_dir=Path(work_dir), storage_roots=[str(Path(archive).parent)])
    before, _ = peak_and_current_kb()
    outcome: dict[str, object] = {}
    try:
        with open_archive(archive, settings=settings, allow_local_paths=True) as tree:
            outcome = {"ok": True, "files": len(tree.files), "skipped": [s.reason for s in tree.skipped]}
    except ChimeraError as err:
        outcome = {"ok": False, "error": str(err), "type": type(err).__name__}
    after, _ = peak_and_current_kb()
    print(json.dumps({"hwm_before_kb": before, "hwm_after_kb": after, **outcome}), flush=True)


def job(archive: str, work_dir: str, overrides: list[str]) -> None:
    import time

    from bot.pipeline_app import build_pipeline
    from tests.factories import make_settings

    values: dict[str, object] = dict(item.split("=", 1) for item in overrides)
    settings = make_settings(work_dir=Path(work_dir), storage_roots=[str(Path(archive).parent)],
                             ollama_host="http://127.0.0.1:9", **values)
    pipeline = build_pipeline(settings)
    before, _ = peak_and_current_kb()  # everything an analysis imports is loaded by now
    started = time.perf_counter()
    result = pipeline.run(archive, use_llm=False, allow_local_paths=True)
    seconds = time.perf_counter() - started
    after, _ = peak_and_current_kb()
    print(json.dumps({"hwm_before_kb": before, "hwm_after_kb": after, "seconds": round(seconds, 3),
                      "requests": result.data["requests"]["total"], "models": len(result.data["models"]),
                      "measurements": len(result.ingest.measurements), "report_chars": len(result.report_md),
                      "skipped": [s.reason for s in result.ingest.inventory.skipped]}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        serve_http()
    elif sys.argv[1:2] == ["job"] and len(sys.argv) >= 4:
        job(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1:2] == ["extract"] and len(sys.argv) == 4:
        extract(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
