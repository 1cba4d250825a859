"""`chimera` command line: analyze or compare archives, check Ollama, run the Slack bot."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot import __version__
from bot.errors import ChimeraError
from bot.logs import configure_logging

if TYPE_CHECKING:
    from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chimera", description="Chimera Insight: correct, traceable "
                                     "reports from LLM benchmark archives.")
    parser.add_argument("--version", action="version", version=f"chimera {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="analyze a benchmark archive (folder, .tar.gz, .tgz, .zip)")
    analyze.add_argument("target", help="archive name inside STORAGE_ROOTS, or a local path")
    analyze.add_argument("--out", type=Path, help="write the Markdown report here (default: stdout)")
    analyze.add_argument("--json", dest="json_out", type=Path, help="write the JSON document here")
    analyze.add_argument("--no-llm", action="store_true", help="skip the gemma3 narrative")
    analyze.add_argument("--quiet", action="store_true", help="no progress on stderr")

    compare = sub.add_parser("compare", help="what changed from archive A to archive B (the digest's detector)")
    compare.add_argument("baseline", help="archive A (name inside STORAGE_ROOTS, or a local path)")
    compare.add_argument("current", nargs="?", help="archive B (leave out with --configs)")
    compare.add_argument("--configs", nargs=2, metavar=("K=V", "K=V"),
                         help="compare two configurations of archive A instead (e.g. num_ctx=2048 num_ctx=4096)")
    compare.add_argument("--out", type=Path, help="write the Markdown report here (default: stdout)")
    compare.add_argument("--json", dest="json_out", type=Path, help="write the JSON document here")

    doctor = sub.add_parser("doctor", help="check Ollama: reachable, model pulled, context size")
    doctor.add_argument("--probe", action="store_true",
                        help="also send a typical narrative prompt (one answer token) and check Ollama saw it whole")
    sub.add_parser("serve", help="run the Slack bot (Socket Mode or HTTP, see SLACK_MODE)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``chimera`` command. Called without ``argv`` (the console script, ``python -m bot.cli``),
    it runs the process's own command line, and ``analyze`` ends the process itself (`_exit`)."""
    args = _parser().parse_args(argv)
    collecting = gc.isenabled()
    if args.command in ("analyze", "compare"):
        from bot.allocator import tune_allocator

        tune_allocator()  # before the first big allocation: freed temporaries go back (bot/allocator.py)
    if args.command == "analyze":
        gc.disable()  # until the imports are done (see _analyze)
    try:
        code = _command(args)
    finally:
        # The caller's collector state comes back; what _analyze froze stays frozen: unfreezing hands
        # ~130,000 objects back to the collector, whose pass at interpreter exit then costs ~100 ms.
        # An in-process caller (the tests) keeps those objects out of its collections.
        (gc.enable if collecting else gc.disable)()
    if argv is None and args.command == "analyze":
        _exit(code)
    return code


def _exit(code: int) -> NoReturn:
    """End a one-shot process as the interpreter would, without tearing it down object by object.

    Why: after `chimera analyze`, interpreter shutdown frees every module and object one at a time
    (pandas', pydantic's and ours: ~20 ms of CPU on the real archive) only for the operating system to
    take the memory back anyway. Everything that has an effect still runs, in the interpreter's order:
    waiting for non-daemon threads (the scratch removal), the atexit handlers (logging's flush, weakref
    finalizers such as temporary directories'), and flushing stdout and stderr."""
    # What the interpreter's shutdown runs first (CPython: wait_for_thread_shutdown): the threading
    # module's exit callbacks (e.g. thread pools stopping their workers), then a join of every
    # non-daemon thread.
    getattr(threading, "_shutdown")()  # noqa: B009 (private: named so that the call is visible)
    atexit._run_exitfuncs()
    try:
        if sys.stdout is not None:  # None when the process was started with its stdout closed
            sys.stdout.flush()
    except (OSError, ValueError) as exc:
        # A closed pipe (| head), a full disk: the output is lost. As at a normal exit, the status
        # is 120 and stderr says why (the interpreter would print "Exception ignored …").
        code = 120
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(f"chimera: the output could not be written: {exc}\n")
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
    os._exit(code)


def _command(args: argparse.Namespace) -> int:
    from bot.settings import load_settings  # after argparse: --help stays fast and needs no .env

    try:
        settings = load_settings()
    except ChimeraError as exc:  # ConfigError: one line naming the bad setting
        print(f"chimera: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "analyze":
        return _analyze(args, settings)
    if args.command == "compare":
        return _compare(args, settings)
    if args.command == "doctor":
        return _doctor(settings, probe=args.probe)
    if args.command == "serve":
        from bot.serve import serve

        try:
            serve(settings)
        except ChimeraError as exc:
            print(f"chimera: {exc}", file=sys.stderr)
            return 2
        return 0
    return 2


def _analyze(args: argparse.Namespace, settings: Settings) -> int:
    from bot.pipeline_app import build_pipeline  # late, and not bot.app: an analysis loads no Slack app

    # A one-shot run: what the imports make (pandas' and our modules, hundreds of thousands of objects)
    # lives until exit, and holds no garbage. So the cyclic collector is off while they load (main) and
    # never scans them afterwards (frozen): its scans were ~50 ms of a ~0.9 s run on the real archive,
    # now ~10 ms. It stays on for the run itself.
    gc.freeze()
    gc.enable()
    last = [0.0]

    def progress(text: str) -> None:
        now = time.monotonic()
        if args.quiet or (now - last[0] < 0.5 and " of " in text and "ingested" in text):
            return
        last[0] = now
        print(f"chimera: {text}", file=sys.stderr)

    if not args.no_llm and not args.quiet:
        from bot.core.redact import redact_secrets

        print(f"chimera: narrative by {settings.ollama_model} at {redact_secrets(settings.ollama_host)} "
              f"(if unreachable, the report says so; --no-llm skips it)", file=sys.stderr)
    try:
        result = build_pipeline(settings, one_shot=True).run(args.target, use_llm=not args.no_llm,
                                              allow_local_paths=True, progress=progress)
    except ChimeraError as exc:
        print(f"chimera: {exc}", file=sys.stderr)
        return 1
    narrative = result.narrative
    if not args.quiet:
        if narrative.status == "ok":
            print(f"chimera: narrative written by {narrative.model} "
                  f"({len(narrative.ungrounded)} ungrounded number(s) flagged)", file=sys.stderr)
        else:
            print(f"chimera: narrative {narrative.status}: {narrative.reason}", file=sys.stderr)
    try:
        if args.out:
            args.out.write_text(result.report_md, encoding="utf-8")
        elif sys.stdout is None:  # started with its stdout closed
            print("chimera: standard output is closed: pass --out FILE for the report", file=sys.stderr)
            return 1
        else:
            sys.stdout.write(result.report_md)
        if args.json_out:
            args.json_out.write_text(json.dumps(result.data, indent=2, allow_nan=False) + "\n",
                                     encoding="utf-8")
    except OSError as exc:
        print(f"chimera: cannot write output: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        t = result.timings_s
        print("chimera: done in " + " | ".join(f"{k} {v:.2f} s" for k, v in t.items()), file=sys.stderr)
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_pipeline
    from bot.core.comparable import parse_selector
    from bot.flows.compare import Comparison, compare_news
    from bot.render.news import MARKDOWN, headline, news_json, news_markdown
    from bot.render.slack_text import untrusted

    if bool(args.configs) == bool(args.current):
        print("chimera: compare takes two archives, or one archive and --configs K=V K=V", file=sys.stderr)
        return 2
    current = args.current or args.baseline
    try:
        if args.configs:
            for selector in args.configs:
                parse_selector(selector)
        comparison = Comparison(args.baseline, current, tuple(args.configs) if args.configs else None)
        news = compare_news(comparison, build_pipeline(settings), allow_local_paths=True)
    except ValueError as exc:
        print(f"chimera: --configs: {exc}", file=sys.stderr)
        return 2
    except ChimeraError as exc:
        print(f"chimera: {exc}", file=sys.stderr)
        return 1
    base, cur = comparison.labels
    report = news_markdown(news, title_text=f"Comparison: {cur} vs {base}")
    try:
        if args.out:
            args.out.write_text(report, encoding="utf-8")
        else:
            sys.stdout.write(report)
        if args.json_out:
            args.json_out.write_text(json.dumps(news_json(news), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"chimera: cannot write output: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"chimera: {untrusted(headline(news, MARKDOWN, since='compared with'))}", file=sys.stderr)
    return 0


def _doctor(settings: Settings, *, probe: bool = False) -> int:
    from bot.adapters.doctor import run_doctor

    checks = run_doctor(settings, probe=probe)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"       fix: {check.fix}")
    return 0 if all(c.ok for c in checks) else 1



if __name__ == "__main__":
    raise SystemExit(main())
