"""The whole job as one call: archive -> ingest -> analyze -> narrate -> render.

Every trigger (CLI, slash command, schedule, thread question) goes through `run_analysis`.
CONTRACT (stable; the Slack layer depends on it):

    run_analysis(target, *, settings, use_llm=True, allow_local_paths=False,
                 progress=None) -> RunResult

- ``target``: an archive name resolved inside ``settings.storage_roots``; with
  ``allow_local_paths`` (CLI only) also any local path.
- ``progress``: called with short human strings ("fetched", "42 files ingested", "analyzed",
  "writing summary") as the run advances; must be cheap, may be called from the worker thread.
- Raises `bot.errors.ArchiveError` (a user-facing message) for a missing/unsafe/broken archive.
  Ollama problems never raise: the report says why the narrative is missing.
"""
