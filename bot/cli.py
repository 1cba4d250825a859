"""`chimera` command line: analyze an archive, check Ollama, run the Slack bot."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.errors import ChimeraError

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

    sub.add_parser("doctor", help="check Ollama: reachable, model pulled, context size")
    sub.add_parser("serve", help="run the Slack bot (Socket Mode or HTTP, see SLACK_MODE)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bot.settings import load_settings  # after argparse: --help stays fast and needs no .env

    try:
        settings = load_settings()
    except Exception as exc:  # pydantic ValidationError: a bad value in the environment or .env
        print(f"chimera: invalid settings: {_first_line(exc)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise
    if args.command == "analyze":
        return _analyze(args, settings)
    if args.command == "doctor":
        return _doctor(settings)
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

    last = [0.0]

    def progress(text: str) -> None:
        now = time.monotonic()
        if args.quiet or (now - last[0] < 0.5 and " of " in text and "ingested" in text):
            return
        last[0] = now
        print(f"chimera: {text}", file=sys.stderr)

    if not args.no_llm and not args.quiet:
        print(f"chimera: narrative by {settings.ollama_model} at {settings.ollama_host} "
              f"(if unreachable, the report says so; --no-llm skips it)", file=sys.stderr)
    try:
        result = build_pipeline(settings).run(args.target, use_llm=not args.no_llm,
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


def _doctor(settings: Settings) -> int:
    from bot.adapters.doctor import run_doctor

    checks = run_doctor(settings)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"       fix: {check.fix}")
    return 0 if all(c.ok for c in checks) else 1


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:3])[:300]


if __name__ == "__main__":
    raise SystemExit(main())
